#!/usr/bin/env bash
# benches/probe_vs_peers.sh: whole-process cost of one mutual-TLS handshake + GET, measured side by
# side for `mtls-doctor probe`, `curl --cert` and `openssl s_client`, against nginx on 127.0.0.1.
#
# Why this shape: the machines here are shared and noisy, so a single absolute time means nothing.
# Every round runs every command once, interleaved (probe, probe --no-compare, curl, s_client, ...),
# and the report gives medians, p90 and ratios; the per-round paired ratio (probe_i / curl_i, same
# round, so the same background load) is the figure to quote.
#
# What it does (2-6 under one temporary directory, removed with nginx on every exit path by a trap):
#   1. builds `cargo build --release` (unless --no-build or --bin), and puts each mtls-doctor binary
#      in the page cache as a file read from disk is (see settle_page_cache);
#   2. generates a root CA, a server certificate for localhost and a client certificate (openssl,
#      RSA 2048, as gateways and their clients mostly use);
#   3. starts nginx (`daemon off; master_process off;`) on a free 127.0.0.1 port with
#      `ssl_verify_client on` (or `--verify optional_no_ca`), an RSA 2048 key (or `--server-key ec`),
#      TLS 1.2 and 1.3, no session cache or tickets, answering `200 ok`;
#   4. checks that each command really completes the mTLS handshake and GET (and what the server
#      answers a client without a certificate), then runs the timed rounds;
#   5. counts nginx's access log afterwards: every timed request must be there with a verified client
#      certificate, so a command that silently did less work cannot look fast;
#   6. prints a Markdown report (stdout) with the machine, versions, date and exact commands.
#
# Every command runs under `/usr/bin/time -v`, whose "Maximum resident set size" is the peak RSS
# reported. Wall time is taken around that wrapper with bash's $EPOCHREALTIME (no extra fork). The
# wrapper's own cost is the same for every command and is measured by the `true` row; the "net of
# floor" ratio subtracts the same round's `true` sample from both sides, which is closer to what
# hyperfine (no wrapper) reports.
#
# Usage: benches/probe_vs_peers.sh [-n ROUNDS] [--no-build] [--bin PATH] [--baseline PATH] [--raw FILE]
#                                  [--tls 1.2|1.3] [--server-key rsa|ec] [--verify on|optional_no_ca]
#   -n ROUNDS        rounds (default 30, or $ROUNDS)
#   --no-build       use target/release/mtls-doctor as it is
#   --bin PATH       benchmark this mtls-doctor binary (implies --no-build)
#   --baseline PATH  also run this other mtls-doctor binary (e.g. a build of main) in the same rounds,
#                    as rows base-probe and base-probe-no-compare: before/after from one run
#   --raw FILE       also write the raw samples (round, command, wall_us, maxrss_kb) as TSV
#   --tls V          pin every client to TLS 1.2 or 1.3 (default: negotiate, which is 1.3 here)
#   --server-key K   nginx's key: RSA 2048 (default) or EC P-256 (issue 14 measured with ECDSA)
#   --verify V       nginx's ssl_verify_client: on (default; a client without a certificate gets
#                    400) or optional_no_ca (as issue 14 measured; it gets 200)
# Needs: bash 5, openssl, curl, nginx (/usr/sbin/nginx), /usr/bin/time (Debian package `time`), jq.
set -euo pipefail
export LC_ALL=C

ROUNDS=${ROUNDS:-30}
BUILD=1
BIN=
BASELINE=
RAW=
TLS_PIN=
SERVER_KEY=rsa
VERIFY=on
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ROUNDS=${2:?-n needs a number}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --bin) BIN=${2:?--bin needs a path}; BUILD=0; shift 2 ;;
    --baseline) BASELINE=${2:?--baseline needs a path}; shift 2 ;;
    --raw) RAW=${2:?--raw needs a file}; shift 2 ;;
    --tls) TLS_PIN=${2:?--tls needs 1.2 or 1.3}; shift 2 ;;
    --server-key) SERVER_KEY=${2:?--server-key needs rsa or ec}; shift 2 ;;
    --verify) VERIFY=${2:?--verify needs on or optional_no_ca}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "probe_vs_peers: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
case "$ROUNDS" in ''|*[!0-9]*|0) echo "probe_vs_peers: -n must be a positive integer" >&2; exit 2 ;; esac
case "$TLS_PIN" in ''|1.2|1.3) ;; *) echo "probe_vs_peers: --tls must be 1.2 or 1.3" >&2; exit 2 ;; esac
case "$SERVER_KEY" in rsa|ec) ;; *) echo "probe_vs_peers: --server-key must be rsa or ec" >&2; exit 2 ;; esac
case "$VERIFY" in on|optional_no_ca) ;; *) echo "probe_vs_peers: --verify must be on or optional_no_ca" >&2; exit 2 ;; esac
# What nginx answers a client that sends no certificate.
NO_CERT_STATUS=400
[ "$VERIFY" = on ] || NO_CERT_STATUS=200

die() { echo "probe_vs_peers: $*" >&2; exit 1; }

NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
for tool in openssl curl jq "$NGINX" /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian: apt-get install -y openssl curl jq nginx time)"
done
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 is needed (\$EPOCHREALTIME)"

REPO=$(cd "$(dirname "$0")/.." && pwd)

# ---- 1. the binary -------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
  (cd "$REPO" && cargo build --release --quiet) || die "cargo build --release failed"
fi
BIN=${BIN:-$REPO/target/release/mtls-doctor}
[ -x "$BIN" ] || die "$BIN is not an executable (build it, or pass --bin)"
[ -z "$BASELINE" ] || [ -x "$BASELINE" ] || die "$BASELINE is not an executable"
# Relative paths must survive the cd into the temporary directory.
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[ -z "$BASELINE" ] || BASELINE=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")
# A binary the linker has just written sits in the page cache as it was written, in small pieces,
# not as a file read from disk is cached (in large ones, by readahead): each start then takes more
# page faults on it (measured here: 387 against 352 a probe, and up to 13% of the probe's wall time
# when the baseline was a copy and the new build was not). openssl, curl and their libraries are
# files read from disk. So each mtls-doctor binary is written back, dropped from the page cache
# (GNU dd: `count=0 iflag=nocache` drops a whole file's cached pages) and read once, and every tool
# starts from the same state.
settle_page_cache() {
  sync "$1" 2>/dev/null || true
  dd if="$1" iflag=nocache count=0 status=none 2>/dev/null || true
  cat "$1" >/dev/null
}
settle_page_cache "$BIN"
[ -z "$BASELINE" ] || settle_page_cache "$BASELINE"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-bench.XXXXXX")
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

# ---- 2. certificates (private keys live only in $WORK) -------------------------------------------
gen() { openssl "$@" >/dev/null 2>"$WORK/openssl.err" || { cat "$WORK/openssl.err" >&2; die "openssl $1 failed"; }; }
cd "$WORK"
gen req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 2 -subj "/CN=Bench Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
if [ "$SERVER_KEY" = ec ]; then
  gen req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
  server_usage=digitalSignature
else
  gen req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
  server_usage=digitalSignature,keyEncipherment
fi
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,%s\nbasicConstraints=CA:FALSE\n' "$server_usage" >server.ext
gen x509 -req -in server.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile server.ext -out server.pem
gen req -newkey rsa:2048 -nodes -keyout c.key -out c.csr -subj "/CN=bench-client/O=Contoso"
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' >c.ext
gen x509 -req -in c.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile c.ext -out c.pem
rm -f root.key ./*.csr ./*.ext ./*.srl
printf 'GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: s_client\r\nConnection: close\r\n\r\n' >get.req

# ---- 3. nginx on a free loopback port ------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_nginx() {
  local port=$1
  mkdir -p "$WORK/nginx-tmp"
  cat >"$WORK/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 64; }
http {
  log_format bench '\$status \$ssl_protocol \$ssl_client_verify';
  access_log $WORK/access.log bench;
  client_body_temp_path $WORK/nginx-tmp/body;
  proxy_temp_path $WORK/nginx-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
  scgi_temp_path $WORK/nginx-tmp/scgi;
  server {
    listen 127.0.0.1:$port ssl;
    server_name localhost;
    ssl_certificate $WORK/server.pem;
    ssl_certificate_key $WORK/server.key;
    ssl_client_certificate $WORK/root.pem;
    ssl_verify_client $VERIFY;
    ssl_protocols TLSv1.2 TLSv1.3;
    # Every client is a fresh process anyway; this keeps each handshake a full one for the server too.
    ssl_session_cache off;
    ssl_session_tickets off;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
EOF
  "$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" </dev/null >/dev/null 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 100); do
    if ! kill -0 "$NGINX_PID" 2>/dev/null; then
      wait "$NGINX_PID" 2>/dev/null || true
      NGINX_PID=
      return 1
    fi
    port_busy "$port" && return 0
    sleep 0.05
  done
  return 1
}
PORT=
for _ in 1 2 3 4 5; do
  candidate=$((20000 + RANDOM % 40000))
  port_busy "$candidate" && continue
  if start_nginx "$candidate"; then PORT=$candidate; break; fi
done
[ -n "$PORT" ] || { cat "$WORK/error.log" >&2 2>/dev/null || true; die "nginx did not start on a loopback port"; }

# ---- 4. the commands, each checked once before timing --------------------------------------------
PROBE_TLS=() CURL_TLS=() SCLIENT_TLS=()
case "$TLS_PIN" in
  1.2) PROBE_TLS=(--tls 1.2) CURL_TLS=(--tlsv1.2 --tls-max 1.2) SCLIENT_TLS=(-tls1_2) ;;
  1.3) PROBE_TLS=(--tls 1.3) CURL_TLS=(--tlsv1.3) SCLIENT_TLS=(-tls1_3) ;;
esac
PROBE=("$BIN" probe "localhost:$PORT" --connect-to "127.0.0.1:$PORT" --cert c.pem --key c.key --ca root.pem
  "${PROBE_TLS[@]}" --report json)
CURL=(curl -s "${CURL_TLS[@]}" --cert c.pem --key c.key --cacert root.pem --resolve "localhost:$PORT:127.0.0.1"
  "https://localhost:$PORT/" -o /dev/null)
SCLIENT=(openssl s_client -connect "127.0.0.1:$PORT" -servername localhost "${SCLIENT_TLS[@]}" -cert c.pem
  -key c.key -CAfile root.pem)
BASE_PROBE=("$BASELINE" "${PROBE[@]:1}")

# The rows of the report, in round order (rotated each round so no command always follows another).
NAMES=(probe probe-no-compare curl s_client-get s_client-null true)
[ -z "$BASELINE" ] || NAMES+=(base-probe base-probe-no-compare)
argv_for() {
  case "$1" in
    probe) ARGV=("${PROBE[@]}") STDIN=/dev/null ;;
    probe-no-compare) ARGV=("${PROBE[@]}" --no-compare) STDIN=/dev/null ;;
    base-probe) ARGV=("${BASE_PROBE[@]}") STDIN=/dev/null ;;
    base-probe-no-compare) ARGV=("${BASE_PROBE[@]}" --no-compare) STDIN=/dev/null ;;
    curl) ARGV=("${CURL[@]}") STDIN=/dev/null ;;
    # -ign_eof: after writing the request, wait for the response as the other two do.
    s_client-get) ARGV=("${SCLIENT[@]}" -ign_eof) STDIN=get.req ;;
    s_client-null) ARGV=("${SCLIENT[@]}") STDIN=/dev/null ;;
    # The floor: what /usr/bin/time and a fork+exec cost by themselves.
    true) ARGV=(/bin/true) STDIN=/dev/null ;;
  esac
}
command_line() {
  argv_for "$1"
  local redirect=" >/dev/null"
  [ "$STDIN" = /dev/null ] || redirect=" <$STDIN >/dev/null"
  [ "$1" = s_client-null ] && redirect=" </dev/null >/dev/null"
  printf '%s%s' "${ARGV[*]}" "$redirect"
}

check() {
  local out flag name
  # A client without a certificate must get what the server mode says (400 with `on`: otherwise
  # this is not an mTLS comparison), and each command must complete the mTLS handshake and GET.
  out=$(curl -s "${CURL_TLS[@]}" --cacert root.pem --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/" \
    -o /dev/null -w '%{http_code}') || true
  [ "$out" = "$NO_CERT_STATUS" ] || die "nginx answered a client without a certificate with HTTP $out, not $NO_CERT_STATUS"
  out=$("${CURL[@]}" -w '%{http_code}') || die "curl failed"
  [ "$out" = 200 ] || die "curl got HTTP $out, not 200"
  out=$("${SCLIENT[@]}" -ign_eof <get.req 2>&1) || die "s_client (GET) failed: $(tail -3 <<<"$out")"
  grep -q 'Verify return code: 0 (ok)' <<<"$out" || die "s_client did not verify the server"
  grep -q '^HTTP/1.1 200' <<<"$out" || die "s_client got no HTTP 200"
  SCLIENT_SUMMARY=$(grep -m1 -E '^(New|Reused), ' <<<"$out" || true)
  out=$("${SCLIENT[@]}" </dev/null 2>&1) || die "s_client (</dev/null) failed: $(tail -3 <<<"$out")"
  grep -q 'Verify return code: 0 (ok)' <<<"$out" || die "s_client (</dev/null) did not verify the server"
  local -a probes=(probe probe-no-compare)
  [ -z "$BASELINE" ] || probes+=(base-probe base-probe-no-compare)
  for name in "${probes[@]}"; do
    argv_for "$name"
    flag=${name#*probe}
    # Exit 1 means "error findings", which a clean lab should not produce: treat it as a failure too.
    out=$("${ARGV[@]}") || die "$name exited with $?"
    jq -e '.probes | length == 1' >/dev/null <<<"$out" || die "the probe report does not hold one probe"
    jq -e '.probes[0] | .handshake.ok and .client_cert_requested and .client_cert_sent and .http.status == 200
      and .server_verify.ok' >/dev/null <<<"$out" || die "$name did not complete the mTLS handshake + GET"
    if [ -z "$flag" ]; then
      jq -e --argjson s "$NO_CERT_STATUS" '.probes[0].compare_without_cert.http.status == $s' >/dev/null <<<"$out" ||
        die "the probe did not run its comparison without the certificate"
    else
      jq -e '.probes[0].compare_without_cert == null' >/dev/null <<<"$out" || die "--no-compare still compared"
    fi
  done
  PROBE_SUMMARY=$(jq -r '.probes[0].tls | "\(.version) \(.cipher_suite) \(.key_exchange)"' <<<"$out")
}
check

# ---- 5. timed rounds, interleaved ----------------------------------------------------------------
SAMPLES=$WORK/samples.tsv
: >"$SAMPLES"
: >"$WORK/access.log" # the checks' requests are not counted
measure() {
  local round=$1 name=$2 rc=0 t0 t1 rss
  argv_for "$name"
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$WORK/time.txt" "${ARGV[@]}" <"$STDIN" >/dev/null 2>&1 || rc=$?
  t1=$EPOCHREALTIME
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  [ "$rc" = 0 ] || die "round $round: $name exited with $rc"
  printf '%s\t%s\t%s\t%s\n' "$round" "$name" $((${t1/./} - ${t0/./})) "$rss" >>"$SAMPLES"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
k=${#NAMES[@]}
for round in $(seq 1 "$ROUNDS"); do
  for i in $(seq 0 $((k - 1))); do
    measure "$round" "${NAMES[$(((i + round) % k))]}"
  done
  printf '\rround %d/%d' "$round" "$ROUNDS" >&2
done
echo >&2
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Every timed request must have reached nginx with a verified client certificate (and the probe's
# comparison must have been refused for lack of one): fewer lines would mean less work was timed.
PER_ROUND_OK=4 PER_ROUND_REFUSED=1
[ -z "$BASELINE" ] || PER_ROUND_OK=6 PER_ROUND_REFUSED=2
ok_lines=$(grep -c '^200 [^ ]* SUCCESS$' "$WORK/access.log" || true)
refused_lines=$(grep -c "^$NO_CERT_STATUS [^ ]* NONE\$" "$WORK/access.log" || true)
[ "$ok_lines" = $((PER_ROUND_OK * ROUNDS)) ] ||
  die "nginx logged $ok_lines verified requests, expected $((PER_ROUND_OK * ROUNDS))"
[ "$refused_lines" = $((PER_ROUND_REFUSED * ROUNDS)) ] ||
  die "nginx logged $refused_lines certificate-less requests, expected $((PER_ROUND_REFUSED * ROUNDS))"

[ -z "$RAW" ] || { printf 'round\tcommand\twall_us\tmaxrss_kb\n'; cat "$SAMPLES"; } >"$RAW"

# ---- 6. report -----------------------------------------------------------------------------------
# quantile FILE Q: nearest-rank quantile of a column of numbers (Q=0.5 gives the lower-middle median
# for an even count; with 30+ samples the difference is below the noise).
quantile() { sort -n "$1" | awk -v q="$2" '{v[NR]=$1} END {i=int(q*NR); if (i<q*NR) i++; if (i<1) i=1; print v[i]}'; }
column_of() { awk -F'\t' -v n="$1" -v c="$2" '$2==n {print $c}' "$SAMPLES" >"$WORK/col"; }
ms() { awk -v us="$1" 'BEGIN {printf "%.1f", us/1000}'; }
mb() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb/1024}'; }

declare -A MED
echo "| command | median ms | p90 ms | min ms | peak RSS median MB | peak RSS max MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for name in "${NAMES[@]}"; do
  column_of "$name" 3
  MED[$name]=$(quantile "$WORK/col" 0.5)
  p90=$(quantile "$WORK/col" 0.9)
  min=$(quantile "$WORK/col" 0)
  column_of "$name" 4
  rss_med=$(quantile "$WORK/col" 0.5)
  rss_max=$(quantile "$WORK/col" 1)
  echo "| $name | $(ms "${MED[$name]}") | $(ms "$p90") | $(ms "$min") | $(mb "$rss_med") | $(mb "$rss_max") |"
done
echo
# "net": each sample minus the same round's `true` sample, i.e. the tools' own cost without the wrapper's.
echo "| ratio (wall time) | median of per-round ratios | p90 of per-round ratios | median per-round, net of floor | ratio of medians | rounds where the first is faster |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
PAIRS=(probe:curl probe-no-compare:curl probe:s_client-get probe-no-compare:s_client-get probe:s_client-null
  probe-no-compare:s_client-null probe:probe-no-compare)
[ -z "$BASELINE" ] || PAIRS+=(probe:base-probe probe-no-compare:base-probe-no-compare base-probe:curl
  base-probe-no-compare:curl)
for pair in "${PAIRS[@]}"; do
  a=${pair%%:*} b=${pair##*:}
  awk -F'\t' -v a="$a" -v b="$b" '$2==a {x[$1]=$3} $2==b {y[$1]=$3}
    END {for (r in x) if (r in y) printf "%.4f\n", x[r]/y[r]}' "$SAMPLES" >"$WORK/ratios"
  awk -F'\t' -v a="$a" -v b="$b" '$2==a {x[$1]=$3} $2==b {y[$1]=$3} $2=="true" {f[$1]=$3}
    END {for (r in x) if ((r in y) && (r in f) && y[r] > f[r]) printf "%.4f\n", (x[r]-f[r])/(y[r]-f[r])}' \
    "$SAMPLES" >"$WORK/net"
  faster=$(awk '$1 < 1 {n++} END {printf "%d/%d", n, NR}' "$WORK/ratios")
  printf '| %s / %s | %.2f | %.2f | %.2f | %.2f | %s |\n' "$a" "$b" "$(quantile "$WORK/ratios" 0.5)" \
    "$(quantile "$WORK/ratios" 0.9)" "$(quantile "$WORK/net" 0.5)" \
    "$(awk -v x="${MED[$a]}" -v y="${MED[$b]}" 'BEGIN {print x/y}')" "$faster"
done
echo
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
rev=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=
if [ -n "$(cd "$REPO" && git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  dirty=" with uncommitted changes"
fi
time_version=$(dpkg-query -W -f '${Version}' time 2>/dev/null || echo "?")
cat <<EOF
- date: $(date -u '+%Y-%m-%d %H:%M UTC'); rounds: $ROUNDS, interleaved, order rotated each round
- machine: $(nproc) cores ($cpu), $mem RAM, $(uname -sr); load average $LOAD_BEFORE before, $LOAD_AFTER after (shared machine)
- versions: mtls-doctor \`$BIN\` (worktree at $rev$dirty)${BASELINE:+, baseline \`$BASELINE\`},
  $(curl --version | head -1 | cut -d' ' -f1-2,4), $(openssl version | cut -d' ' -f1-2), $("$NGINX" -v 2>&1 | sed 's/.*version: //'), GNU time $time_version
- negotiated (probe): $PROBE_SUMMARY; s_client: ${SCLIENT_SUMMARY:-?}
- nginx access log: $ok_lines requests with a verified client certificate, $refused_lines without one, answered $NO_CERT_STATUS (as expected); server key $SERVER_KEY, ssl_verify_client $VERIFY
- commands (run from the temporary directory; PORT=$PORT):
EOF
for name in "${NAMES[@]}"; do
  echo "  - \`$name\`: \`$(command_line "$name" | sed "s|$REPO/||")\`"
done
