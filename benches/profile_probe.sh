#!/usr/bin/env bash
# benches/profile_probe.sh: where one probe's work goes, as shares of the instructions the process
# executes (valgrind --tool=callgrind; the counts do not depend on the machine's load, unlike
# times). Same lab as benches/probe_vs_peers.sh: nginx on 127.0.0.1 with ssl_verify_client on,
# TLS 1.3, RSA-2048 client key, no session reuse; keys generated at run time in a temporary
# directory, removed with nginx (stopped by its pid) on every exit path.
#
# `perf` would give time samples, but it needs hardware counters (`perf stat -e instructions true`
# says "not supported" on the virtual machines here); callgrind counts instructions exactly.
#
# Usage: benches/profile_probe.sh [--bin PATH] [--no-compare] [--keep FILE]
#   --bin PATH     profile this mtls-doctor binary (default target/release/mtls-doctor, built if missing)
#   --no-compare   profile `probe --no-compare` (one handshake)
#   --keep FILE    also keep the callgrind output (for callgrind_annotate / kcachegrind)
# Needs: valgrind, openssl, nginx, jq.
set -euo pipefail
export LC_ALL=C
BIN= EXTRA=() KEEP=
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
    --no-compare) EXTRA=(--no-compare); shift ;;
    --keep) KEEP=${2:?--keep needs a file}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile_probe: unknown argument $1" >&2; exit 2 ;;
  esac
done
die() { echo "profile_probe: $*" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for tool in valgrind callgrind_annotate openssl jq "$NGINX"; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian: apt-get install -y valgrind openssl jq nginx)"
done
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$REPO/target/release/mtls-doctor}
[ -x "$BIN" ] || (cd "$REPO" && cargo build --release --quiet) || die "cargo build --release failed"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[ -z "$KEEP" ] || KEEP=$(cd "$(dirname "$KEEP")" && pwd)/$(basename "$KEEP")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-profile.XXXXXX")
NGINX_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
gen() { openssl "$@" >/dev/null 2>"$WORK/openssl.err" || { cat "$WORK/openssl.err" >&2; die "openssl $1 failed"; }; }
cd "$WORK"
gen req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 2 -subj "/CN=Profile Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
gen req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n' >server.ext
gen x509 -req -in server.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile server.ext -out server.pem
gen req -newkey rsa:2048 -nodes -keyout c.key -out c.csr -subj "/CN=profile-client/O=Contoso"
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' >c.ext
gen x509 -req -in c.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile c.ext -out c.pem
rm -f root.key ./*.csr ./*.ext ./*.srl
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=
for _ in 1 2 3 4 5; do
  candidate=$((20000 + RANDOM % 40000))
  port_busy "$candidate" && continue
  mkdir -p nginx-tmp
  cat >nginx.conf <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-tmp/body;
  proxy_temp_path $WORK/nginx-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
  scgi_temp_path $WORK/nginx-tmp/scgi;
  server {
    listen 127.0.0.1:$candidate ssl;
    server_name localhost;
    ssl_certificate $WORK/server.pem;
    ssl_certificate_key $WORK/server.key;
    ssl_client_certificate $WORK/root.pem;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
CONF
  "$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" </dev/null >/dev/null 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 100); do port_busy "$candidate" && break; sleep 0.05; done
  if port_busy "$candidate"; then PORT=$candidate; break; fi
  kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=
done
[ -n "$PORT" ] || die "nginx did not start"

valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$BIN" probe "localhost:$PORT" \
  --connect-to "127.0.0.1:$PORT" --cert c.pem --key c.key --ca root.pem --report json "${EXTRA[@]}" \
  >"$WORK/report.json" 2>"$WORK/valgrind.txt" || die "the probe failed under valgrind: $(tail -3 "$WORK/valgrind.txt")"
jq -e '.probes[0] | .handshake.ok and .client_cert_sent and .http.status == 200' "$WORK/report.json" >/dev/null ||
  die "the profiled probe did not complete the mTLS handshake + GET"
[ -z "$KEEP" ] || cp "$WORK/cg.out" "$KEEP"
callgrind_annotate --inclusive=yes --threshold=100 "$WORK/cg.out" >"$WORK/incl.txt" 2>/dev/null
total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' "$WORK/incl.txt")
# share REGEX: the inclusive count of the first (outermost) function whose name matches.
share() { awk -v re="$1" -v total="$total" '$0 ~ re {gsub(",", "", $1); printf "%.1f%%", 100*$1/total; found=1; exit}
  END {if (!found) printf "-"}' "$WORK/incl.txt"; }
# difference OUTER INNER: the share of OUTER less that of INNER (each the first match, as in share).
difference() { awk -v a="$1" -v b="$2" -v total="$total" '
  !ga && $0 ~ a {gsub(",", "", $1); x=$1; ga=1} !gb && $0 ~ b {gsub(",", "", $1); y=$1; gb=1}
  END {if (ga && gb) printf "%.1f%%", 100*(x-y)/total; else printf "-"}' "$WORK/incl.txt"; }
echo "| region (inclusive, callgrind) | share of instructions |"
echo "| --- | ---: |"
printf '| dynamic loader (process start: mapping libc and its peers, symbol relocations) | %s |\n' "$(share 'rtld.c:_dl_start ')"
# clap is inlined into main under LTO: main less what it calls to run the command.
printf '| command line (clap) | %s |\n' "$(difference 'mtls_doctor::main ' 'mtls_doctor::cli::run ')"
printf '| loading material (identity files, the RSA key check, CA file) | %s |\n' "$(share 'engine::load::MaterialCache::load_new ')"
printf '|   of which the private key (parse and RSA key check) | %s |\n' "$(share 'material::key::PrivateKey::from_der ')"
printf '|   of which the trust store (--ca) | %s |\n' "$(share 'engine::load::load_trust ')"
printf '| async runtime start | %s |\n' "$(share 'tokio::runtime::builder::Builder::build ')"
printf '| DNS (an address literal or --connect-to: no lookup) | %s |\n' "$(share 'probe::dns::resolve')"
printf '| TLS handshakes (all connections) | %s |\n' "$(share 'probe::tls::handshake_and_request::')"
printf '|   of which the RSA signature (CertificateVerify) | %s |\n' "$(share 'RsaSigner as rustls::crypto::signer::Signer>::sign ')"
printf '|   of which the server chain check in the handshake (webpki) | %s |\n' "$(share 'webpki::aws_lc_rs_algs::AwsLcRsAlgorithm as rustls_pki_types::SignatureVerificationAlgorithm>::verify_signature ')"
printf '| HTTP request and response (hyper) | %s |\n' "$(share 'mtls_doctor::probe::http::exchange::')"
printf '| the server chain verdict (verify::verify_chain) | %s |\n' "$(share 'mtls_doctor::verify::verify_chain ')"
printf '| certificate parsing (x509-parser, all files and chains) | %s |\n' "$(share 'mtls_doctor::cert::CertInfo::from_der ')"
printf '| diagnosis | %s |\n' "$(share 'mtls_doctor::diagnose::diagnose ')"
printf '| the report (redaction, JSON) | %s |\n' "$(share 'mtls_doctor::cli::finish ')"
echo
echo "- total: $total instructions; probe: \`mtls-doctor probe localhost:PORT --connect-to 127.0.0.1:PORT --cert c.pem --key c.key --ca root.pem --report json ${EXTRA[*]}\`"
echo "- negotiated: $(jq -r '.probes[0].tls | "\(.version) \(.cipher_suite) \(.key_exchange)"' "$WORK/report.json"); valgrind $(valgrind --version | sed 's/valgrind-//'); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- regions overlap (the RSA signature is inside the handshake); a region may be left out by inlining: '-' means not found"
