#!/bin/sh
# apop.sh - direct dovecot, apop-proxy and nginx's mail proxy side by side in one run:
# sessions per second (banner, login, STAT, RETR of a small message, QUIT, then the next)
# at each concurrency, one large RETR's throughput, CPU per 1000 sessions and memory per
# logged-in session, each with its ratio to direct dovecot.
# Usage: OTP_BUILD=build OTP_SRC=. bench/apop.sh [SECONDS] [CONCURRENCIES] [BIG_MB]
#   defaults 8, "8 50" and 20; the tools come from make build/tests/tools/popbench and
#   build/tests/tools/authhttp (make test builds them).
# Direct sessions log in with USER/PASS.  apop-proxy's log in with APOP (its own check,
# then the monitor's master login to dovecot); nginx's with APOP too, checked by the
# auth_http endpoint this script runs (tests/tools/authhttp), after which nginx logs in
# to dovecot with USER/PASS.  CPU and memory count every process of each path: the
# front's (apop-proxy's master, monitors and sessions; nginx's master, workers and the
# auth_http endpoint) and dovecot's, since the front adds dovecot work too.
: "${OTP_SRC:=$(pwd)}"
: "${OTP_BUILD:=$OTP_SRC/build}"
SECS=${1:-8}
CONCS=${2:-8 50}
BIG_MB=${3:-20}
NUSERS=50
HOLD=50
USERPW=userpw
export OTP_SRC OTP_BUILD
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/apop/env.sh.inc"
POPBENCH="$OTP_BUILD/tests/tools/popbench"
AUTHHTTP="$OTP_BUILD/tests/tools/authhttp"
NGX_MAIL=/usr/lib/nginx/modules/ngx_mail_module.so
for f in "$POPBENCH" "$AUTHHTTP"; do
	[ -x "$f" ] || { echo "apop.sh: $f is missing: make $f" >&2; exit 1; }
done
command -v nginx >/dev/null && [ -f "$NGX_MAIL" ] ||
	{ echo "apop.sh: needs nginx and libnginx-mod-mail" >&2; exit 1; }

# The load client, bounded (it ends a session silent for 30 s itself).
pb() { timeout $((SECS + 120)) "$POPBENCH" "$@"; }

# ---- the three paths -------------------------------------------------------------

make_mail "$B/small" "small" 3
make_mail "$B/big" "big" $((BIG_MB * 1024 * 1024 / 77))
mkdir -p "$B/otp" && chmod 700 "$B/otp"
k=0
while [ $k -lt $NUSERS ]; do
	add_user "u$k" "$USERPW"
	deliver "u$k" "$B/small"
	enrol "u$k"
	k=$((k + 1))
done
deliver u0 "$B/big"
start_dovecot
start_proxy bench "max_connections 1000" "max_per_host 1000" "fail_delay_ms 0" \
	"fail_delay_max_ms 0" "login_timeout 120" "auth_idle_timeout 60"
P=$PORT_bench

APORT=$(free_port) NPORT=$(free_port)
"$AUTHHTTP" "$APORT" "$APOP_SECRET" "$DPORT" "$USERPW" 2> "$B/authhttp.log" &
APID=$!
PIDS="$PIDS $APID"
mkdir -p "$B/nginx"
cat > "$B/nginx/nginx.conf" <<EOF
load_module $NGX_MAIL;
daemon off;
master_process on;
worker_processes $(nproc);
user nobody nogroup;
pid $B/nginx/nginx.pid;
error_log $B/nginx/error.log warn;
events { worker_connections 4096; }
mail {
	server_name proxy.test;
	auth_http 127.0.0.1:$APORT/auth;
	server {
		listen 127.0.0.1:$NPORT;
		protocol pop3;
		pop3_auth plain apop;
	}
}
EOF
nginx -p "$B/nginx" -e "$B/nginx/error.log" -c "$B/nginx/nginx.conf" 2> "$B/nginx/out" &
NPID=$!
PIDS="$PIDS $NPID"
wait_port "$APORT" && wait_port "$NPORT" ||
	{ echo "apop.sh: nginx did not start: $(cat "$B/nginx/out" "$B/nginx/error.log")" >&2; exit 1; }

# ---- measuring ------------------------------------------------------------------------

# procs ticks|pss PID...: CPU ticks (own and reaped children's) or PSS in KiB, summed over
# the processes and all their live descendants.
procs() {
	python3 - "$@" <<'PY'
import os, sys
what, roots = sys.argv[1], set(sys.argv[2:])
kids = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            st = open("/proc/%s/stat" % p).read()
        except OSError:
            continue
        kids.setdefault(st[st.rindex(")") + 2:].split()[1], []).append(p)
todo, seen, total = list(roots), set(), 0
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    todo += kids.get(p, [])
    try:
        if what == "ticks":
            st = open("/proc/%s/stat" % p).read()
            f = st[st.rindex(")") + 2:].split()
            total += sum(int(x) for x in f[11:15])
        else:
            for line in open("/proc/%s/smaps_rollup" % p):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    except OSError:
        pass
print(total)
PY
}
CLK=$(getconf CLK_TCK)
# The front's processes of each path (direct has none), and the backend's.
front() { case $1 in direct) echo "";; proxy) echo "$PID_bench";; nginx) echo "$NPID $APID";; esac; }
port_of() { case $1 in direct) echo "$DPORT";; proxy) echo "$P";; nginx) echo "$NPORT";; esac; }
mode_of() { case $1 in direct) echo pass;; *) echo apop;; esac; }
secret_of() { case $1 in direct) echo "$USERPW";; *) echo "$APOP_SECRET";; esac; }
ticks_of() { if [ -n "$1" ]; then procs ticks $1; else echo 0; fi; }
pss_of() { if [ -n "$1" ]; then procs pss $1; else echo 0; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
row() { printf '%-40s %12s %18s %18s\n' "$@"; }
cell() { if [ "$2" = direct ]; then echo "$1"; else echo "$1 ($(ratio "$1" "$3"))"; fi; }

# Warm up every user's mailbox (dovecot's indexes) and every path, then let dovecot settle.
pb sessions "$DPORT" pass 3 "$NUSERS" u "$NUSERS" "$USERPW" 1 >/dev/null 2>&1
for t in proxy nginx; do
	pb sessions "$(port_of $t)" apop 1 4 u "$NUSERS" "$APOP_SECRET" 1 >/dev/null 2>&1
done
pb bigretr "$DPORT" pass u0 "$USERPW" 2 2 >/dev/null 2>&1
sleep 3

echo "POP3 benchmark: $SECS s per run, $NUSERS users, $(nproc) CPUs; ratios are to direct dovecot"
row "" direct apop-proxy "nginx mail"
for conc in $CONCS; do
	rates="" cpus="" fronts="" lats="" errs=""
	for t in direct proxy nginx; do
		f=$(front $t)
		sleep 2
		f0=$(ticks_of "$f") b0=$(procs ticks "$DOVECOT_PID")
		set -- $(pb sessions "$(port_of $t)" "$(mode_of $t)" "$SECS" "$conc" u \
			"$NUSERS" "$(secret_of $t)" 1 2>>"$B/popbench.err")
		n=$2 s=$4 e=$6 p50=$8 p99=${10}
		f1=$(ticks_of "$f") b1=$(procs ticks "$DOVECOT_PID")
		rate=$(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.1f", n / s }')
		# CPU seconds per 1000 sessions: the front's and dovecot's.
		cpu=$(awk -v f=$((f1 - f0)) -v b=$((b1 - b0)) -v n="$n" -v hz="$CLK" \
			'BEGIN { printf "%.2f", (f + b) / hz * 1000 / (n > 0 ? n : 1) }')
		fcpu=$(awk -v f=$((f1 - f0)) -v n="$n" -v hz="$CLK" \
			'BEGIN { printf "%.2f", f / hz * 1000 / (n > 0 ? n : 1) }')
		[ $t = direct ] && d_rate=$rate d_cpu=$cpu
		rates="$rates|$(cell "$rate" $t "$d_rate")"
		cpus="$cpus|$(cell "$cpu" $t "$d_cpu")"
		fronts="$fronts|$fcpu"
		lats="$lats|$p50/$p99"
		errs="$errs|$e"
	done
	IFS='|'
	set -- $rates; row "sessions/s, $conc clients" "$2" "$3" "$4"
	set -- $lats; row "  session ms p50/p99" "$2" "$3" "$4"
	set -- $cpus; row "  CPU s per 1000 sessions (all)" "$2" "$3" "$4"
	set -- $fronts; row "    of which the front's" "-" "$3" "$4"
	set -- $errs; row "  failed sessions" "$2" "$3" "$4"
	unset IFS
done

tputs=""
for t in direct proxy nginx; do
	sleep 2
	set -- $(pb bigretr "$(port_of $t)" "$(mode_of $t)" u0 "$(secret_of $t)" 2 3 \
		2>>"$B/popbench.err")
	mbs=$(awk -v b="$2" -v s="$4" 'BEGIN { printf "%.1f", b / s / 1048576 }')
	[ $t = direct ] && d_mbs=$mbs
	tputs="$tputs|$(cell "$mbs" $t "$d_mbs")"
done
IFS='|'; set -- $tputs; unset IFS
row "RETR of $BIG_MB MB (3 times), MB/s" "$2" "$3" "$4"

# Memory: HOLD sessions logged in and held open; the PSS the path's processes gained.
hold() { # PORT MODE SECRET N READY
	timeout 120 python3 - "$@" <<'PY'
import hashlib, os, socket, sys, time
port, mode, secret, n, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), int(sys.argv[4]), sys.argv[5]
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), 30)
    s.settimeout(30)
    f = s.makefile("rb")
    ts = f.readline().split()[-1]
    user = b"u%d" % i
    if mode == "apop":
        s.sendall(b"APOP " + user + b" " + hashlib.md5(ts + secret).hexdigest().encode() + b"\r\n")
    else:
        s.sendall(b"USER " + user + b"\r\n")
        f.readline()
        s.sendall(b"PASS " + secret + b"\r\n")
    if not f.readline().startswith(b"+OK"):
        sys.exit("login %d failed" % i)
    s.sendall(b"STAT\r\n")
    f.readline()
    conns.append((s, f))
open(ready, "w").close()
for _ in range(300):
    if not os.path.exists(ready):
        break
    time.sleep(0.1)
PY
}
mems="" fmems=""
for t in direct proxy nginx; do
	f=$(front $t)
	sleep 2
	f0=$(pss_of "$f")
	m0=$((f0 + $(procs pss "$DOVECOT_PID")))
	rm -f "$B/ready"
	hold "$(port_of $t)" "$(mode_of $t)" "$(secret_of $t)" "$HOLD" "$B/ready" &
	hp=$!
	i=0
	while [ ! -f "$B/ready" ] && kill -0 "$hp" 2>/dev/null && [ $i -lt 600 ]; do
		sleep 0.1; i=$((i + 1))
	done
	sleep 1
	f1=$(pss_of "$f")
	m1=$((f1 + $(procs pss "$DOVECOT_PID")))
	rm -f "$B/ready"
	wait "$hp"
	kib=$(awk -v a="$m1" -v b="$m0" -v n="$HOLD" 'BEGIN { printf "%.0f", (a - b) / n }')
	[ $t = direct ] && d_kib=$kib
	mems="$mems|$(cell "$kib" $t "$d_kib")"
	fmems="$fmems|$(awk -v a="$f1" -v b="$f0" -v n="$HOLD" 'BEGIN { printf "%.0f", (a - b) / n }')"
done
IFS='|'
set -- $mems; row "KiB PSS per logged-in session ($HOLD held)" "$2" "$3" "$4"
set -- $fmems; row "  of which the front's" "-" "$3" "$4"
unset IFS
[ -s "$B/popbench.err" ] && { echo "first client errors:"; head -n 5 "$B/popbench.err"; }
exit 0
