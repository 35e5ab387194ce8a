#!/usr/bin/env bash
# benches/trust_store.sh: what the trust store costs a sweep, side by side in one run. For each
# binary given (e.g. before and after a change), a sweep of N loopback targets with `--ca root.pem`
# (one CA) and without it (the system trust store, about 150 CAs here), rounds interleaved and
# rotated. Prints each run's wall time, then per binary the median of per-round ratios
# system / --ca, and per mode the median of per-round ratios of each binary to the first.
#
# The server is one nginx on 127.0.0.1 (ssl_verify_client on, no session cache or tickets), with a
# certificate from a root made here, so without --ca the server chain is judged against the system
# store and fails to verify (unknown issuer): every anchor is still read, which is the cost measured.
# Each run must write N target records with a finished handshake, or the script stops.
#
# Usage: benches/trust_store.sh [-n N] [-j J] [--rounds R] BIN [BIN…]
# Needs: bash 5, openssl, nginx, jq, python3.
set -euo pipefail
export LC_ALL=C
N=300 JOBS=16 ROUNDS=3
BINS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift 2 ;;
    -j) JOBS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) BINS+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
  esac
done
die() { echo "trust_store: $*" >&2; exit 1; }
[ ${#BINS[@]} -ge 1 ] || die "give at least one mtls-doctor binary"
for b in "${BINS[@]}"; do [ -x "$b" ] || die "$b is not an executable"; done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-trust.XXXXXX")
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

: >samples.tsv
echo "trust_store: $N targets, -j $JOBS, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for round in $(seq 1 "$ROUNDS"); do
  runs=()
  for b in $(seq 0 $((${#BINS[@]} - 1))); do runs+=("$b ca" "$b system"); done
  k=${#runs[@]}
  for i in $(seq 0 $((k - 1))); do
    read -r b mode <<<"${runs[$(((i + round) % k))]}"
    ca=()
    [ "$mode" = ca ] && ca=(--ca root.pem)
    t0=$EPOCHREALTIME
    "${BINS[$b]}" probe --targets targets.txt --connect-to "127.0.0.1:$PORT" --cert c.pem --key c.key "${ca[@]}" \
      -j "$JOBS" --no-compare --quiet --report jsonl -o out.jsonl 2>err.txt || true
    t1=$EPOCHREALTIME
    got=$(jq -s '[.[] | select(.record == "target") | select(.probe.handshake.ok and .probe.http.status == 200)] | length' out.jsonl)
    [ "$got" = "$N" ] || die "binary $b, $mode: $got of $N finished probes ($(head -c 300 err.txt))"
    us=$((${t1/./} - ${t0/./}))
    printf '%s\t%s\t%s\t%s\n' "$round" "$b" "$mode" "$us" >>samples.tsv
    printf '  round %s, binary %s, %-6s: %.2f s\n' "$round" "$b" "$mode" "$(awk -v us=$us 'BEGIN {print us/1e6}')" >&2
  done
done
python3 - "${BINS[@]}" <<'PY'
import statistics, sys
bins = sys.argv[1:]
t = {}
for line in open("samples.tsv"):
    r, b, mode, us = line.split()
    t[(int(r), int(b), mode)] = int(us) / 1e6
rounds = sorted({k[0] for k in t})
print("| binary | median s, --ca | median s, system | system / --ca (median per round) |")
print("| --- | ---: | ---: | ---: |")
for b, path in enumerate(bins):
    ca = [t[(r, b, "ca")] for r in rounds]
    sy = [t[(r, b, "system")] for r in rounds]
    ratio = statistics.median(s / c for s, c in zip(sy, ca))
    print(f"| {b}: {path} | {statistics.median(ca):.2f} | {statistics.median(sy):.2f} | {ratio:.2f} |")
for b in range(1, len(bins)):
    for mode in ("ca", "system"):
        ratio = statistics.median(t[(r, b, mode)] / t[(r, 0, mode)] for r in rounds)
        print(f"binary {b} / binary 0, {mode}: {ratio:.2f} (median per round)")
PY
echo "trust_store: load afterwards $(cut -d' ' -f1-3 /proc/loadavg)" >&2
