#!/usr/bin/env bash
# benches/large_session.sh: a session of N real targets, saved, opened, diffed and replayed, for
# each binary given (e.g. before and after a change), one after the other in one run. The session
# is the binary's own `probe --targets FILE --save` of N names on one loopback nginx (full mTLS
# probes with HTTP and the comparison without the certificate); then `open --report json`,
# `diff FILE FILE` and `replay FILE --report jsonl -j J` of it. For each step: wall time, peak RSS
# (GNU time) and exit code; for the session: its size and its size re-indented the way sessions
# were written before one target a line (python's json indent=2, what serde's pretty printer does).
#
# The probe step's records are counted: how many of the N are finished mTLS probes with HTTP 200
# (a sweep that failed makes a smaller session, so check that line before quoting the sizes).
#
# Usage: benches/large_session.sh [-n N] [-j J] BIN [BIN…]
# Needs: bash 5, openssl, nginx, jq, python3, /usr/bin/time.
set -euo pipefail
export LC_ALL=C
N=10000 JOBS=64
BINS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift 2 ;;
    -j) JOBS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) BINS+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
  esac
done
die() { echo "large_session: $*" >&2; exit 1; }
[ ${#BINS[@]} -ge 1 ] || die "give at least one mtls-doctor binary"
for b in "${BINS[@]}"; do [ -x "$b" ] || die "$b is not an executable"; done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-session.XXXXXX")
NGINX_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$NGINX_PID" ]; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$WORK"
gen() { openssl "$@" >/dev/null 2>openssl.err || { cat openssl.err >&2; die "openssl $1 failed"; }; }
gen req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -days 2 \
  -subj "/CN=Trust Bench Root" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
gen req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj "/CN=bench.test"
printf 'subjectAltName=DNS:*.bench.test\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >s.ext
gen x509 -req -in server.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile s.ext -out server.pem
gen req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout c.key -out c.csr -subj "/CN=trust-client"
printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >c.ext
gen x509 -req -in c.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile c.ext -out c.pem
rm -f root.key ./*.csr ./*.ext ./*.srl

PORT=$((20000 + RANDOM % 40000))
mkdir -p tmp
cat >nginx.conf <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log crit;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/b; proxy_temp_path $WORK/tmp/p; fastcgi_temp_path $WORK/tmp/f;
  uwsgi_temp_path $WORK/tmp/u; scgi_temp_path $WORK/tmp/s;
  server {
    listen 127.0.0.1:$PORT ssl;
    ssl_certificate $WORK/server.pem;
    ssl_certificate_key $WORK/server.key;
    ssl_client_certificate $WORK/root.pem;
    ssl_verify_client on;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
CONF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" </dev/null >/dev/null 2>&1 &
NGINX_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
seq -f "t%05g.bench.test:$PORT" 1 "$N" >targets.txt

ulimit -n 8192 2>/dev/null || true
step() { # label argv…: one line of wall seconds, peak RSS MB and exit code
  local label=$1 rc=0 t0 t1
  shift
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o time.txt "$@" >out.txt 2>err.txt || rc=$?
  t1=$EPOCHREALTIME
  printf '| %s | %s | %.2f | %.1f | %s |\n' "$B" "$label" "$(awk -v us=$((${t1/./} - ${t0/./})) 'BEGIN {print us/1e6}')" \
    "$(awk -F': ' '/Maximum resident set size/ {print $2/1024}' time.txt)" "$rc"
  [ "$rc" -le 3 ] || { head -c 400 err.txt >&2; echo >&2; }
}
echo "large_session: $N targets, -j $JOBS, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| binary | step | wall s | peak RSS MB | exit |"
echo "| --- | --- | ---: | ---: | ---: |"
SIZES=()
for b in $(seq 0 $((${#BINS[@]} - 1))); do
  B=$b BIN=${BINS[$b]}
  step "probe --save ($N targets)" "$BIN" probe --targets targets.txt --connect-to "127.0.0.1:$PORT" --cert c.pem \
    --key c.key --ca root.pem -j "$JOBS" --quiet --report jsonl -o probe.jsonl --save "s$b.json"
  ok=$(jq -s '[.[] | select(.record == "target") | select(.probe.handshake.ok and .probe.client_cert_sent and .probe.http.status == 200)] | length' probe.jsonl)
  echo "  binary $b: $ok of $N targets are finished mTLS probes with HTTP 200" >&2
  step "open --report json" "$BIN" open "s$b.json" --report json -o /dev/null
  [ "$(head -c 40 err.txt)" = "" ] || echo "  open: $(head -c 300 err.txt)" >&2
  step "diff FILE FILE" "$BIN" diff "s$b.json" "s$b.json"
  step "replay --report jsonl" "$BIN" replay "s$b.json" --report jsonl -o /dev/null -j "$JOBS" --quiet
  SIZES+=("$b $(stat -c %s "s$b.json") $(python3 -c 'import json,sys; print(len(json.dumps(json.load(open(sys.argv[1])), indent=2, ensure_ascii=False).encode()))' "s$b.json")")
done
for s in "${SIZES[@]}"; do
  read -r b size pretty <<<"$s"
  awk -v b="$b" -v s="$size" -v p="$pretty" 'BEGIN {printf "binary %s: session %.1f MB as written, %.1f MB re-indented (%.2f)\n", b, s/1e6, p/1e6, s/p}'
done
echo "large_session: load afterwards $(cut -d' ' -f1-3 /proc/loadavg)" >&2
