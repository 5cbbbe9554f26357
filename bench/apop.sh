#!/bin/sh
# apop.sh - apop-proxy against direct dovecot in the same run: sessions per second
# (banner, login, STAT, RETR of a small message, QUIT; CONC at once) and large-RETR
# throughput, the ratios proxy/direct, and the proxy's CPU time and memory per session.
# Usage: OTP_BUILD=build OTP_SRC=. bench/apop.sh [SECONDS] [CONC] [BIG_MB]
# Direct sessions log in with USER/PASS, proxied ones with APOP (the proxy's own login
# plus the backend's master login): the ratio prices everything the proxy adds.
: "${OTP_SRC:=$(pwd)}"
: "${OTP_BUILD:=$OTP_SRC/build}"
SECONDS_RUN=${1:-10}
CONC=${2:-8}
BIG_MB=${3:-20}
export OTP_SRC OTP_BUILD
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/apop/env.sh.inc"
exec 3>&1

add_user alice alicepw
make_mail "$B/small" "small" 3
make_mail "$B/big" "big" $((BIG_MB * 1024 * 1024 / 77))
deliver alice "$B/small"
deliver alice "$B/big"
mkdir -p "$B/otp" && chmod 700 "$B/otp"
enrol alice
start_dovecot
start_proxy bench "max_connections 500" "max_per_host 500" "fail_delay_ms 0" "fail_delay_max_ms 0"
P=$PORT_bench
MPID=$PID_bench
CLK=$(getconf CLK_TCK)

# CPU ticks of the master and every process it has waited for (monitors, and their sessions).
ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }

echo "apop-proxy benchmark: $SECONDS_RUN s per run, $CONC concurrent clients, $(nproc) CPUs"
# Warm up both paths (dovecot's index, the page cache).
$PROBE bench "$DPORT" pass alice alicepw 1 2 1 >/dev/null
$PROBE bench "$P" apop alice "$APOP_SECRET" 1 2 1 >/dev/null

set -- $($PROBE bench "$DPORT" pass alice alicepw "$SECONDS_RUN" "$CONC" 1)
d_n=$2 d_s=$4 d_err=$6
t0=$(ticks "$MPID")
set -- $($PROBE bench "$P" apop alice "$APOP_SECRET" "$SECONDS_RUN" "$CONC" 1)
p_n=$2 p_s=$4 p_err=$6
t1=$(ticks "$MPID")
d_rate=$(rate "$d_n" "$d_s")
p_rate=$(rate "$p_n" "$p_s")
printf '%-34s %10s %10s %8s\n' "" "direct" "proxy" "ratio"
printf '%-34s %10s %10s %8s\n' "sessions/s (login STAT RETR QUIT)" "$d_rate" "$p_rate" \
	"$(awk -v a="$p_rate" -v b="$d_rate" 'BEGIN { printf "%.2f", a / b }')"
[ "$d_err$p_err" = 00 ] || echo "  (errors: direct $d_err, proxy $p_err)"

set -- $($PROBE bigretr "$DPORT" pass alice alicepw 2 3)
d_mbs=$(awk -v b="$2" -v s="$4" 'BEGIN { printf "%.1f", b / s / 1048576 }')
set -- $($PROBE bigretr "$P" apop alice "$APOP_SECRET" 2 3)
p_mbs=$(awk -v b="$2" -v s="$4" 'BEGIN { printf "%.1f", b / s / 1048576 }')
printf '%-34s %10s %10s %8s\n' "RETR of ${BIG_MB} MB, MB/s" "$d_mbs" "$p_mbs" \
	"$(awk -v a="$p_mbs" -v b="$d_mbs" 'BEGIN { printf "%.2f", a / b }')"

awk -v t="$((t1 - t0))" -v n="$p_n" -v hz="$CLK" \
	'BEGIN { printf "proxy CPU per session: %.3f ms (master, monitor and session together)\n", t / hz * 1000 / n }'

# Memory: 50 logged-in sessions held open; PSS of all the proxy's processes, less the idle master's.
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
all_pss() { total=0; for p in $(pgrep -x apop-proxy); do total=$((total + $(pss "$p"))); done; echo "$total"; }
base=$(all_pss)
HOLD=50
python3 - "$P" "$APOP_SECRET" "$HOLD" <<'PY' &
import hashlib, socket, sys, time
port, secret, n = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3])
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), 30)
    f = s.makefile("rb")
    ts = f.readline().split()[-1]
    s.sendall(b"APOP alice " + hashlib.md5(ts + secret).hexdigest().encode() + b"\r\n")
    f.readline()
    conns.append((s, f))
time.sleep(4)
PY
hold=$!
sleep 3
held=$(all_pss)
rss_session=$(ps -o rss= -u nobody -C apop-proxy | awk 'NR == 1 { print $1 }')
wait "$hold"
awk -v a="$held" -v b="$base" -v n="$HOLD" -v r="$rss_session" 'BEGIN {
	printf "proxy memory per logged-in session: %.0f KiB PSS (monitor + session; RSS of one session %s KiB)\n", (a - b) / n, r }'
