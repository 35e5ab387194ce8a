#!/usr/bin/env bash
# benches/sweep_vs_peers.sh: a sweep of many loopback targets, side by side, in one run:
#   - `mtls-doctor probe --targets FILE -j 64 --report jsonl -o FILE` (full mTLS probe with HTTP, and
#     its comparison without the certificate: two handshakes per target),
#   - the same with --no-compare (one handshake per target),
#   - a bare rustls handshake + GET loop (examples/bare_rustls_loop.rs, same crates, same runtime):
#     the ceiling,
#   - sslyze --certinfo with the same client certificate (PyPI `sslyze`; skipped if missing).
# For each tool and size: wall time, targets per second and peak RSS (GNU time's "Maximum resident
# set size"), then ratios to the bare loop and to sslyze. Absolute numbers depend on the machine
# and its load; quote the ratios.
#
# Targets: N names tNNNNN.bench.test on one nginx (ssl_verify_client on, TLS 1.2/1.3, no session
# cache or tickets, one worker), all reached on 127.0.0.1:PORT (mtls-doctor: --connect-to; sslyze:
# HOST:PORT{127.0.0.1}; the bare loop connects there with the name as SNI). The server certificate
# is for *.bench.test. Keys are generated at run time in a temporary directory, removed on exit
# with nginx (stopped by its pid) on every exit path.
#
# Afterwards nginx's access log is counted: each probe must have made one verified request and (by
# default) one refused without a certificate, the bare loop one verified request per target, so a
# tool that silently did less cannot look fast.
#
# Usage: benches/sweep_vs_peers.sh [--sizes 1000,10000] [-j 64] [--rounds R] [--no-build]
#                                  [--bin PATH] [--baseline PATH] [--no-sslyze] [--sslyze-cap N]
#   --sizes LIST    target counts (default 1000,10000)
#   -j N            concurrency for mtls-doctor and the bare loop (default 64)
#   --rounds R      rounds per size, tools interleaved and rotated each round (default 1)
#   --no-build      use target/release/{mtls-doctor,examples/bare_rustls_loop} as they are
#   --bin PATH      benchmark this mtls-doctor binary (implies --no-build for it)
#   --baseline PATH also run this other mtls-doctor binary's default probe in the same rounds
#                   (row probe-baseline), for a before/after under the same load
#   --no-sslyze     leave sslyze out
#   --sslyze-cap N  give sslyze at most N targets per size (its rate is per target; default: all)
# Needs: bash 5, openssl, nginx, /usr/bin/time, jq, python3 (`pip install sslyze` for that column).
set -euo pipefail
export LC_ALL=C

SIZES=1000,10000
JOBS=64
ROUNDS=1
BUILD=1
BIN=
BASELINE=
SSLYZE=1
SSLYZE_CAP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=${2:?--sizes needs a list}; shift 2 ;;
    -j) JOBS=${2:?-j needs a number}; shift 2 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
    --baseline) BASELINE=${2:?--baseline needs a path}; shift 2 ;;
    --no-sslyze) SSLYZE=0; shift ;;
    --sslyze-cap) SSLYZE_CAP=${2:?--sslyze-cap needs a number}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "sweep_vs_peers: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
die() { echo "sweep_vs_peers: $*" >&2; exit 1; }
for n in "$JOBS" "$ROUNDS" "$SSLYZE_CAP"; do case "$n" in ''|*[!0-9]*) die "-j, --rounds and --sslyze-cap take numbers" ;; esac; done
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
for n in "${SIZE_LIST[@]}"; do case "$n" in ''|*[!0-9]*|0) die "--sizes takes positive numbers, comma-separated" ;; esac; done

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for tool in openssl jq python3 "$NGINX" /usr/bin/time; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian: apt-get install -y openssl jq nginx time python3)"
done
if [ "$SSLYZE" = 1 ] && ! python3 -m sslyze --help >/dev/null 2>&1; then
  echo "sweep_vs_peers: sslyze is not installed (pip install sslyze): its column is left out" >&2
  SSLYZE=0
fi

REPO=$(cd "$(dirname "$0")/.." && pwd)
if [ "$BUILD" = 1 ]; then
  # One cargo call for both, so the binary and the example share one feature resolution.
  (cd "$REPO" && cargo build --release --quiet --bins --example bare_rustls_loop) || die "cargo build --release failed"
fi
BIN=${BIN:-$REPO/target/release/mtls-doctor}
BARE=$REPO/target/release/examples/bare_rustls_loop
[ -x "$BIN" ] || die "$BIN is not an executable"
[ -x "$BARE" ] || die "$BARE is missing (cargo build --release --example bare_rustls_loop)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if [ -n "$BASELINE" ]; then
  [ -x "$BASELINE" ] || die "$BASELINE is not an executable"
  BASELINE=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-sweep.XXXXXX")
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
gen req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 2 -subj "/CN=Sweep Bench Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
gen req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj "/CN=bench.test"
printf 'subjectAltName=DNS:*.bench.test\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' >server.ext
gen x509 -req -in server.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile server.ext -out server.pem
gen req -newkey rsa:2048 -nodes -keyout c.key -out c.csr -subj "/CN=sweep-client/O=Contoso"
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' >c.ext
gen x509 -req -in c.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile c.ext -out c.pem
rm -f root.key ./*.csr ./*.ext ./*.srl

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_nginx() {
  local port=$1
  mkdir -p "$WORK/nginx-tmp"
  cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $WORK/nginx.pid;
error_log $WORK/error.log crit;
events { worker_connections 4096; }
http {
  log_format bench '\$status \$ssl_client_verify';
  access_log $WORK/access.log bench buffer=256k;
  client_body_temp_path $WORK/nginx-tmp/body;
  proxy_temp_path $WORK/nginx-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
  scgi_temp_path $WORK/nginx-tmp/scgi;
  server {
    listen 127.0.0.1:$port ssl backlog=4096;
    server_name .bench.test;
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
  for _ in $(seq 100); do
    kill -0 "$NGINX_PID" 2>/dev/null || { NGINX_PID=; return 1; }
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
[ -n "$PORT" ] || die "nginx did not start on a loopback port"
ulimit -n 8192 2>/dev/null || true

# The log is flushed by nginx when its buffer fills or on reopen (USR1); count after a reopen.
log_count() { kill -USR1 "$NGINX_PID" 2>/dev/null; sleep 0.3; grep -c "^$1\$" "$WORK/access.log" || true; }

SAMPLES=$WORK/samples.tsv
: >"$SAMPLES"
MEASURE_N= # how many targets the tool was given (sslyze may get fewer than the size)
measure() { # size round tool expected_ok expected_refused argv...
  local size=$1 round=$2 tool=$3 want_ok=$4 want_refused=$5 rc=0 t0 t1 rss ok refused
  shift 5
  : >"$WORK/access.log"
  kill -USR1 "$NGINX_PID" 2>/dev/null; sleep 0.3
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  t1=$EPOCHREALTIME
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  # mtls-doctor exits 1 when a target has error findings: none should here.
  [ "$rc" = 0 ] || { tail -5 "$WORK/err.txt" >&2; die "$tool ($size targets) exited with $rc"; }
  ok=$(log_count "200 SUCCESS") refused=$(log_count "400 NONE")
  if [ "$want_ok" != - ] && { [ "$ok" != "$want_ok" ] || [ "$refused" != "$want_refused" ]; }; then
    die "$tool ($size targets): nginx logged $ok verified and $refused refused requests, expected $want_ok and $want_refused"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$round" "$tool" $((${t1/./} - ${t0/./})) "$rss" "${MEASURE_N:-$size}" \
    >>"$SAMPLES"
  printf '  %s, %s targets, round %s: %.2f s, peak RSS %.1f MB\n' "$tool" "${MEASURE_N:-$size}" "$round" \
    "$(awk -v us=$((${t1/./} - ${t0/./})) 'BEGIN {print us/1e6}')" "$(awk -v kb="$rss" 'BEGIN {print kb/1024}')" >&2
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for size in "${SIZE_LIST[@]}"; do
  seq -f "t%05g.bench.test" 1 "$size" >"names-$size.txt"
  sed "s/\$/:$PORT/" "names-$size.txt" >"targets-$size.txt"
  cap=$size
  [ "$SSLYZE_CAP" = 0 ] || [ "$SSLYZE_CAP" -ge "$size" ] || cap=$SSLYZE_CAP
  head -n "$cap" "names-$size.txt" | sed "s/\$/:$PORT{127.0.0.1}/" >"sslyze-$size.txt"
  TOOLS=(probe probe-no-compare bare-rustls)
  [ -z "$BASELINE" ] || TOOLS+=(probe-baseline)
  [ "$SSLYZE" = 0 ] || TOOLS+=(sslyze)
  k=${#TOOLS[@]}
  for round in $(seq 1 "$ROUNDS"); do
    for i in $(seq 0 $((k - 1))); do
      tool=${TOOLS[$(((i + round) % k))]}
      case "$tool" in
        probe) measure "$size" "$round" probe "$size" "$size" "$BIN" probe --targets "targets-$size.txt" \
          --connect-to "127.0.0.1:$PORT" --cert c.pem --key c.key --ca root.pem -j "$JOBS" --quiet \
          --report jsonl -o "probe-$size.jsonl" ;;
        probe-baseline) measure "$size" "$round" probe-baseline "$size" "$size" "$BASELINE" probe --targets \
          "targets-$size.txt" --connect-to "127.0.0.1:$PORT" --cert c.pem --key c.key --ca root.pem -j "$JOBS" \
          --quiet --report jsonl -o "probe-base-$size.jsonl" ;;
        probe-no-compare) measure "$size" "$round" probe-no-compare "$size" 0 "$BIN" probe --targets \
          "targets-$size.txt" --connect-to "127.0.0.1:$PORT" --cert c.pem --key c.key --ca root.pem -j "$JOBS" \
          --quiet --no-compare --report jsonl -o "probe-nc-$size.jsonl" ;;
        bare-rustls) measure "$size" "$round" bare-rustls "$size" 0 "$BARE" --connect "127.0.0.1:$PORT" \
          --names "names-$size.txt" --ca root.pem --cert c.pem --key c.key -j "$JOBS"
          grep -q "ok=$size failed=0" "$WORK/out.txt" || die "the bare loop did not complete every target: $(cat "$WORK/out.txt")" ;;
        sslyze) MEASURE_N=$cap measure "$size" "$round" sslyze - - python3 -m sslyze --quiet --json_out "sslyze-$size.json" \
          --certinfo --certinfo_ca_file root.pem --cert c.pem --key c.key --targets_in "sslyze-$size.txt"
          done_ok=$(jq '[.server_scan_results[] | select(.scan_status == "COMPLETED")] | length' "sslyze-$size.json")
          [ "$done_ok" = "$cap" ] || die "sslyze completed $done_ok of $cap scans" ;;
      esac
    done
    # Every probe record must be a finished mTLS probe with HTTP 200 (and, comparing, a refused 400).
    for f in "probe-$size.jsonl" "probe-nc-$size.jsonl" "probe-base-$size.jsonl"; do
      [ -f "$f" ] || continue
      got=$(jq -s '[.[] | select(.record == "target") | .probe | select(.handshake.ok and .client_cert_sent
        and .http.status == 200 and (.compare_without_cert == null or .compare_without_cert.http.status == 400))]
        | length' "$f")
      [ "$got" = "$size" ] || die "$f holds $got finished mTLS probes, expected $size"
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------------------
median() { sort -n | awk '{v[NR]=$1} END {if (NR==0) {print 0; exit} i=int((NR+1)/2); print v[i]}'; }
echo "| targets | tool | median wall s | targets/s | peak RSS MB (max) | rate / bare rustls | rate / sslyze | RSS / sslyze |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for size in "${SIZE_LIST[@]}"; do
  declare -A RATE=() RSS=() WALL=() N=()
  for tool in probe probe-baseline probe-no-compare bare-rustls sslyze; do
    n=$(awk -F'\t' -v t="$tool" -v s="$size" '$3==t && $1==s {print $6; exit}' "$SAMPLES")
    [ -n "$n" ] || continue
    us=$(awk -F'\t' -v t="$tool" -v s="$size" '$3==t && $1==s {print $4}' "$SAMPLES" | median)
    [ "$us" != 0 ] || continue
    N[$tool]=$n
    RATE[$tool]=$(awk -v n="$n" -v us="$us" 'BEGIN {printf "%.1f", n/(us/1e6)}')
    RSS[$tool]=$(awk -F'\t' -v t="$tool" -v s="$size" '$3==t && $1==s {print $5}' "$SAMPLES" | sort -n | tail -1)
    WALL[$tool]=$(awk -v us="$us" 'BEGIN {printf "%.2f", us/1e6}')
  done
  for tool in probe probe-baseline probe-no-compare bare-rustls sslyze; do
    [ -n "${RATE[$tool]:-}" ] || continue
    vs_bare=$(awk -v a="${RATE[$tool]}" -v b="${RATE[bare-rustls]:-0}" 'BEGIN {if (b>0) printf "%.2f", a/b; else print "-"}')
    vs_ssl=$(awk -v a="${RATE[$tool]}" -v b="${RATE[sslyze]:-0}" 'BEGIN {if (b>0) printf "%.1f", a/b; else print "-"}')
    rss_ssl=$(awk -v a="${RSS[$tool]}" -v b="${RSS[sslyze]:-0}" 'BEGIN {if (b>0) printf "%.2f", a/b; else print "-"}')
    label=$size
    [ "${N[$tool]}" = "$size" ] || label="${N[$tool]} of $size"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$tool" "${WALL[$tool]}" "${RATE[$tool]}" \
      "$(awk -v kb="${RSS[$tool]}" 'BEGIN {printf "%.1f", kb/1024}')" "$vs_bare" "$vs_ssl" "$rss_ssl"
  done
  unset RATE RSS WALL N
done
echo
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
rev=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
sslyze_version=$(python3 -c 'import importlib.metadata as m; print(m.version("sslyze"))' 2>/dev/null || echo "not run")
cat <<INFO
- date: $(date -u '+%Y-%m-%d %H:%M UTC'); rounds per size: $ROUNDS; -j $JOBS for mtls-doctor and the bare loop
- machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; load average $LOAD_BEFORE before, $LOAD_AFTER after (shared machine)
- versions: mtls-doctor \`$BIN\` (worktree at $rev)${BASELINE:+, baseline \`$BASELINE\`}, sslyze $sslyze_version, $("$NGINX" -v 2>&1 | sed 's/.*version: //'), $(openssl version | cut -d' ' -f1-2)
- server: one nginx worker, ssl_verify_client on, ECDSA P-256 server key, RSA-2048 client key, no session reuse
- probe = full mTLS probe + GET + the comparison without the certificate (2 handshakes per target);
  probe-no-compare and bare-rustls = 1 handshake + GET per target; sslyze --certinfo = its certificate scan (no HTTP)
INFO
