#!/bin/sh
# proxy.sh - apop-proxy's rules against a real dovecot: the AUTHORIZATION dialogue, hostile
# input, APOP and OTP verification rules, limits, timeouts, backend failures, logs, privileges.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/apop/env.sh.inc"

add_user alice alicepw
for u in bob carol dave erin tina; do add_user "$u" "${u}pw"; done
make_mail "$B/m1" "first" 3
for u in alice bob carol dave erin tina; do deliver "$u" "$B/m1"; done
mkdir -p "$B/otp" && chmod 700 "$B/otp"
for u in alice carol dave erin; do enrol "$u"; done
printf '%s\n%s\n' "$OTP_PASS" "$OTP_PASS" | "$OTPKEY" --db "$DB" init -n 100 -s test bob >/dev/null 2>&1
"$OTPKEY" --db "$DB" disable erin
# 200 users for the concurrency test (dovecot here allows one POP3 session per user).
for i in $(seq 0 199); do
	add_user "m$i" pw
	deliver "m$i" "$B/m1"
	enrol "m$i" 10
done
start_dovecot
start_proxy main
STAT1=$(timeout 30 $PROBE talk "$DPORT" "USER alice" "PASS alicepw" STAT QUIT | sed -n 4p)
P=$PORT_main
LOG="$B/main.log"

talk() { timeout 60 $PROBE talk "$P" "$@" 2>&1; }
# reply N STEPS...: the Nth line printed (1 = the banner).
reply() { n=$1; shift; talk "$@" | sed -n "${n}p"; }
is() { # DESC WANT GOT
	if [ "$3" = "$2" ]; then ok "$1"; else notok "$1"; diag "want: $2" "got:  $3"; fi
}
like() { # DESC ERE GOT
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else notok "$1"; diag "want: /$2/" "got:  $3"; fi
}
logins() { grep -c 'Login: user=' "$B/dovecot.log"; }
AUTHFAIL='-ERR [AUTH] authentication failed'

# ---- the banner and CAPA ----
b1=$(reply 1 QUIT); b2=$(reply 1 QUIT)
like "banner: +OK and an RFC 1939 timestamp of letters, digits, '.' and one @host" \
	'^\+OK .* <[A-Za-z0-9.]+@proxy\.test>$' "$b1"
check "every connection has its own timestamp" test "${b1##* }" != "${b2##* }"
capa=$(talk multi:CAPA | tr '\n' ' ')
like "CAPA lists exactly the offered capabilities (SASL OTP; no PLAIN, no STLS without TLS)" \
	'capability list follows USER TOP UIDL RESP-CODES AUTH-RESP-CODE SASL OTP \. $' "$capa"
is "lower-case commands are commands" "+OK logged in" "$(reply 2 "apop:alice:$APOP_SECRET" | tr -d '\r')"

# ---- nothing reaches the backend before authentication ----
before=$(logins)
out=$(talk STAT "RETR 1" "LIST" NOOP "DELE 1" "TOP 1 1" UIDL RSET)
is "TRANSACTION commands before login get -ERR" 8 "$(printf '%s\n' "$out" | grep -c '^-ERR not logged in')"
is "PASS without USER" "-ERR USER first" "$(reply 2 "PASS foo bar")"
is "AUTH PLAIN before STLS is refused, and nothing verified" "-ERR [AUTH] PLAIN is offered only after STLS" \
	"$(reply 2 "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=")"
long=$(printf 'x%.0s' $(seq 300))
out=$(talk "USER $long" multi:CAPA)
is "a 300-octet line: -ERR line too long" "-ERR line too long (at most 255 octets)" "$(printf '%s\n' "$out" | sed -n 2p)"
is "and the session goes on" "+OK capability list follows" "$(printf '%s\n' "$out" | sed -n 3p)"
out=$(talk "$(printf 'CAPA%.0s' $(seq 1000))\\n" multi:CAPA)
is "a 4000-octet line: the same" "-ERR line too long (at most 255 octets)" "$(printf '%s\n' "$out" | sed -n 2p)"
is "and then the next command is read" "+OK capability list follows" "$(printf '%s\n' "$out" | sed -n 3p)"
is "an argument over 40 octets" "-ERR argument too long (at most 40 octets)" \
	"$(reply 2 "USER $(printf 'a%.0s' $(seq 41))")"
is "a 40-octet argument is fine (an unknown user gets a challenge)" "+OK otp-md5" \
	"$(reply 2 "USER $(printf 'a%.0s' $(seq 40))" | cut -c1-11)"
is "NUL inside an argument is refused" "-ERR control character (NUL, CR, LF...) in the command" \
	"$(reply 2 'USER al\x00ice')"
is "CR inside a line is refused (no command smuggled after it)" \
	"-ERR control character (NUL, CR, LF...) in the command" "$(reply 2 'USER alice\rRETR 1')"
out=$(talk 'APOP alice\nRETR 1\r\n' read)
is "LF ends a line: 'APOP alice' then 'RETR 1' are two commands, both refused" \
	"-ERR wrong arguments|-ERR not logged in: use APOP, or USER and PASS" \
	"$(printf '%s\n' "$out" | sed -n '2,3p' | paste -sd'|')"
is "a tab inside a line is refused" "-ERR control character (NUL, CR, LF...) in the command" "$(reply 2 'USER\talice')"
is "two spaces between arguments" "-ERR wrong arguments" "$(reply 2 'APOP alice  0123')"
is "APOP with three arguments" "-ERR wrong arguments" "$(reply 2 'APOP a b c')"
is "an unknown command" "-ERR unknown command" "$(reply 2 'XYZZY')"
out=$(talk X X X X X X X X X X eof)
like "ten errors and the proxy hangs up" '-ERR too many errors, bye EOF' "$(printf '%s\n' "$out" | tail -n 2 | paste -sd' ')"
is "none of that reached the backend" "$before" "$(logins)"

# ---- APOP rules ----
ok_reply=$(reply 2 "apop:alice:$APOP_SECRET" STAT)
is "APOP with the right digest" "+OK logged in" "$ok_reply"
is "after it, the relay is transparent (STAT as from dovecot directly)" "$STAT1" "$(reply 3 "apop:alice:$APOP_SECRET" STAT)"
is "a wrong digest" "$AUTHFAIL" "$(reply 2 "apop:alice:not the secret")"
is "an unknown user" "$AUTHFAIL" "$(reply 2 "apop:nosuch:$APOP_SECRET")"
is "a user without an APOP secret" "$AUTHFAIL" "$(reply 2 "apop:bob:$APOP_SECRET")"
is "a disabled user" "$AUTHFAIL" "$(reply 2 "apop:erin:$APOP_SECRET")"
is "a malformed digest" "$AUTHFAIL" "$(reply 2 "APOP alice 0123456789abcdef")"
is "the digest of another connection's timestamp is refused" "$AUTHFAIL" \
	"$(reply 2 "APOP alice $(apop_digest "${b1##* }" "$APOP_SECRET")")"
info() { timeout 60 "$OTPKEY" --db "$DB" info "$1" | grep "^$2: " | cut -d' ' -f2-; }
is "failures are counted durably (the last three)" 3 "$(info alice failures)"
m1=$(stat -c %Y.%y "$DB")
reply 2 "apop:alice:$APOP_SECRET" >/dev/null
is "a success resets the count" 0 "$(info alice failures)"
sleep 1
m2=$(stat -c %Y.%y "$DB")
reply 2 "apop:alice:$APOP_SECRET" >/dev/null
is "a success with nothing to record does not write the database" "$(stat -c %Y.%y "$DB")" "$(stat -c %Y.%y "$DB")"
check "(the database file unchanged since the last write)" test "$m2" = "$(stat -c %Y.%y "$DB")"
for i in 1 2 3 4 5; do reply 2 "apop:carol:wrong$i" >/dev/null; done
is "five failures lock carol out" "5" "$(info carol failures)"
check "otpkey shows the lockout" sh -c 'timeout 60 "$1" --db "$2" info carol | grep -q "^locked until: [0-9]"' sh "$OTPKEY" "$DB"
is "then even the right digest fails, the same way" "$AUTHFAIL" "$(reply 2 "apop:carol:$APOP_SECRET")"
out=$(talk "apop:dave:x1" "apop:dave:x2" "apop:dave:x3" eof)
is "three failures on one connection and it is closed" "$AUTHFAIL $AUTHFAIL $AUTHFAIL EOF" \
	"$(printf '%s\n' "$out" | sed -n '2,$p' | paste -sd' ')"

# ---- OTP rules ----
is "USER: the challenge in the +OK" "+OK otp-md5 99 test ext" "$(reply 2 "USER alice" QUIT)"
is "QUIT gives the challenge back" "+OK otp-md5 99 test ext" "$(reply 2 "USER alice" QUIT)"
is "so does a dropped connection" "+OK otp-md5 99 test ext" "$(reply 2 "USER alice")"
is "an OTP login" "+OK logged in" "$(reply 2 otp:alice)"
resp=$(printf '%s\n' "$OTP_PASS" | "$OTPCALC" 99 test)
out=$(talk "USER alice" "PASS $resp")
is "the same OTP again: refused, with the next challenge offered" \
	"+OK otp-md5 98 test ext|$AUTHFAIL" "$(printf '%s\n' "$out" | sed -n '2,3p' | paste -sd'|')"
is "a six-word response in lower case with extra blanks" "+OK logged in" \
	"$(reply 3 "USER alice" "PASS  $(printf '%s\n' "$OTP_PASS" | "$OTPCALC" 98 test | tr 'A-Z' 'a-z')")"
# A token-only user (TOTP): USER shows what to send, PASS takes the code, once.
if command -v oathtool >/dev/null 2>&1; then
	printf 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n" TOTP_AUTH\n' > "$B/ga"
	timeout 60 "$OTPKEY" --db "$DB" import --google-authenticator "$B/ga" tina >/dev/null
	code=$(oathtool --totp -b JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP)
	is "USER of a token user: the prompt" "+OK TOTP code" "$(reply 2 "USER tina" QUIT)"
	is "PASS with the current TOTP code logs in" "+OK logged in" "$(reply 3 "USER tina" "PASS $code")"
	is "the same code again is refused" "$AUTHFAIL" "$(reply 3 "USER tina" "PASS $code")"
else
	ok "# SKIP oathtool is not installed"
	ok "# SKIP oathtool is not installed"
	ok "# SKIP oathtool is not installed"
fi
f1=$(reply 2 "USER nosuch"); f2=$(reply 2 "USER nosuch")
like "an unknown user gets a challenge like any other" '^\+OK (otp-(md4|md5|sha1) [0-9]+ [a-z0-9]+ ext( or [HT]OTP code)?|[HT]OTP code)$' "$f1"
is "the same one every time" "$f1" "$f2"
is "its PASS fails like a wrong one" "$AUTHFAIL" "$(reply 3 "USER nosuch" "PASS $resp")"
e1=$(reply 2 "USER erin")
like "a disabled user gets its challenge as before" '^\+OK otp-md5 [0-9]+ [a-z0-9]+ ext$' "$e1"
(timeout 30 $PROBE talk "$P" "USER dave" sleep:6 QUIT >"$B/held" 2>&1 &)
sleep 1
d2=$(reply 2 "USER dave")
like "a second login while the first is held open: a challenge at once" '^\+OK otp-md5 [0-9]+ [a-z0-9]+ ext$' "$d2"
check "not the one the first login shows (RFC 2289 s9)" test "$d2" != "$(sed -n 2p "$B/held")"
# Held open still: the second login answers its own challenge and gets in.
d2resp=$(printf '%s\n' "$OTP_PASS" | "$OTPCALC" $(echo "$d2" | awk '{ print $3, $4 }'))
is "and logs in with its response while the first is still held open" "+OK logged in" \
	"$(reply 3 "USER dave" "PASS $d2resp")"
sleep 6
out=$(timeout 60 python3 - "$P" "$APOP_SECRET" <<'PY'
import hashlib, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 30)
f = s.makefile("rb")
ts = f.readline().split()[-1]
s.sendall(b"APOP alice " + hashlib.md5(ts + sys.argv[2].encode()).hexdigest().encode() + b"\r\nSTAT\r\nQUIT\r\n")
print(" | ".join(l.decode().strip() for l in f.readlines()))
PY
)
is "APOP, STAT and QUIT pipelined in one write" "+OK logged in | $STAT1 | +OK Logging out." "$out"

# ---- timeouts, slowloris, concurrency ----
t0=$(date +%s)
out=$(talk eof)
is "a silent client is dropped after auth_idle_timeout" "-ERR timeout, bye|EOF" "$(printf '%s\n' "$out" | sed -n '2,3p' | paste -sd'|')"
check "within 5 to 9 seconds" test $(( $(date +%s) - t0 )) -ge 5 -a $(( $(date +%s) - t0 )) -le 9
out=$(timeout 60 $PROBE slowloris "$P" 1)
like "a slowloris client (a byte a second) is cut off at login_timeout (10 s)" '^closed after (9|10|11|12)\.' "$out"
out=$(timeout 240 python3 - "$P" "$APOP_SECRET" <<'PY'
import hashlib, socket, sys, threading
port, secret = int(sys.argv[1]), sys.argv[2].encode()
ok, bad = [], []
barrier = threading.Barrier(200, timeout=120)
def one(i):
    try:
        s = socket.create_connection(("127.0.0.1", port), 120)
        s.settimeout(120)
        f = s.makefile("rb")
        ts = f.readline().split()[-1]
        barrier.wait()
        s.sendall(b"APOP m%d %s\r\n" % (i, hashlib.md5(ts + secret).hexdigest().encode()))
        r1 = f.readline()
        s.sendall(b"STAT\r\n")
        r2 = f.readline()
        s.sendall(b"QUIT\r\n")
        r3 = f.readline()
        if r1.startswith(b"+OK logged in") and r2.startswith(b"+OK 1 ") and r3.startswith(b"+OK"):
            ok.append(i)
        else:
            bad.append((r1, r2, r3))
    except Exception as e:
        bad.append(repr(e))
ts = [threading.Thread(target=one, args=(i,)) for i in range(200)]
[t.start() for t in ts]
[t.join() for t in ts]
print("%d ok" % len(ok), bad[:3])
PY
)
is "200 concurrent sessions, 200 users: all log in, STAT and QUIT" "200 ok []" "$out"

# Session processes serving many connections, two monitors: every connection still ends when
# its session does (no copy of it may stay in a session process forked meanwhile).
start_proxy reuse "session_reuse 50" "monitors 2"
out=$(timeout 120 python3 - "$PORT_reuse" "$APOP_SECRET" <<'PY'
import hashlib, socket, sys, threading, time
port, secret = int(sys.argv[1]), sys.argv[2].encode()
ok, bad = [], []
def one(i):
    for n in range(4):
        try:
            s = socket.create_connection(("127.0.0.1", port), 30)
            s.settimeout(30)
            f = s.makefile("rb")
            ts = f.readline().split()[-1]
            s.sendall(b"APOP m%d %s\r\nSTAT\r\nQUIT\r\n" % (100 + i, hashlib.md5(ts + secret).hexdigest().encode()))
            r = [f.readline() for _ in range(3)]
            s.settimeout(5)
            t0 = time.monotonic()
            rest = f.read()
            if all(x.startswith(b"+OK") for x in r) and rest == b"" and time.monotonic() - t0 < 5:
                ok.append(i)
            else:
                bad.append((r, rest[:40]))
            s.close()
        except Exception as e:
            bad.append(repr(e))
ts = [threading.Thread(target=one, args=(i,)) for i in range(16)]
[t.start() for t in ts]
[t.join() for t in ts]
print("%d ok" % len(ok), bad[:3])
PY
)
is "session_reuse 50, monitors 2: 64 sessions in 16 at once all end at QUIT" "64 ok []" "$out"
is "two monitors, as root" 2 "$(ps -o user= --ppid "$PID_reuse" | grep -c root)"

# ---- limits, backend failures ----
start_proxy small "max_connections 3" "max_per_host 3"
(timeout 20 $PROBE talk "$PORT_small" sleep:4 >/dev/null 2>&1 &)
(timeout 20 $PROBE talk "$PORT_small" sleep:4 >/dev/null 2>&1 &)
(timeout 20 $PROBE talk "$PORT_small" sleep:4 >/dev/null 2>&1 &)
sleep 1.5
is "max_connections: the next one is refused with [SYS/TEMP]" \
	"-ERR [SYS/TEMP] too many connections, try again later" "$(timeout 20 $PROBE talk "$PORT_small" 2>&1 | head -n 1)"
sleep 4
printf 'not-the-password\n' > "$B/wrong.pw"; chmod 600 "$B/wrong.pw"
start_proxy badpw "backend_master_password_file $B/wrong.pw"
is "the backend refuses the master login: a clean -ERR with [AUTH]" \
	"-ERR [AUTH] the mail store refused the login" "$(timeout 30 $PROBE talk "$PORT_badpw" "apop:alice:$APOP_SECRET" 2>&1 | sed -n 2p)"
# dovecot waits for a mailbox lock rather than answering [IN-USE]: a stand-in backend does.
FPORT=$(free_port)
timeout 60 python3 - "$FPORT" <<'PY' &
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(5)
for reply in (b"-ERR [IN-USE] Mailbox is locked", b"-ERR [SYS/TEMP] Try later", b"-ERR odd"):
    while True:
        c, _ = l.accept()
        try:
            c.sendall(b"+OK fake backend\r\n")
            if c.makefile("rb").readline():
                c.sendall(reply + b"\r\n")
                break
        except OSError:
            pass
        finally:
            c.close()
PY
PIDS="$PIDS $!"
wait_port "$FPORT"
start_proxy fake "backend 127.0.0.1 $FPORT"
is "backend says [IN-USE]: -ERR [IN-USE]" "-ERR [IN-USE] the mailbox is in use, try again later" \
	"$(timeout 30 $PROBE talk "$PORT_fake" "apop:alice:$APOP_SECRET" 2>&1 | sed -n 2p)"
is "backend says [SYS/TEMP]: -ERR [SYS/TEMP]" "-ERR [SYS/TEMP] the mail store refused the login, try again later" \
	"$(timeout 30 $PROBE talk "$PORT_fake" "apop:alice:$APOP_SECRET" 2>&1 | sed -n 2p)"
is "a plain -ERR from the backend: [SYS/TEMP], and never its own text" \
	"-ERR [SYS/TEMP] the mail store refused the login, try again later" \
	"$(timeout 30 $PROBE talk "$PORT_fake" "apop:alice:$APOP_SECRET" 2>&1 | sed -n 2p)"
# Held open while the processes are looked at (a scan of an ASan build takes seconds).
(timeout 40 $PROBE talk "$P" "apop:m6:$APOP_SECRET" STAT sleep:20 STAT >"$B/during" 2>&1 &)
# The proxy's processes are its master's children: the monitors (root) and a session process
# per connection (the configured user), some forked ahead of their connection.  Waited for
# until the relayed client has its STAT answer (at most 10 s: a loaded machine is slow).
kids() { ps -o pid=,user= --ppid "$PID_main"; }
i=0
while [ "$(grep -c '^+OK' "$B/during" 2>/dev/null)" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
SESSIONS=$(kids | awk '$2 == "nobody" { print $1 }')
MONITORS=$(kids | awk '$2 == "root" { print $1 }')
check "the network-facing processes run as the configured user" test -n "$SESSIONS"
is "one monitor (the default), as root" 1 "$(printf '%s\n' "$MONITORS" | grep -c .)"
roots=$(for p in $SESSIONS; do readlink "/proc/$p/root"; done | sort -u)
is "the sessions are chrooted to the empty directory" "$B/empty" "$roots"
check "and hold no key database descriptor" sh -c 'for p in $1; do ls -l "/proc/$p/fd"; done | grep -q otpkeys; test $? -ne 0' sh "$SESSIONS"
# scan NEEDLE PID...: "found in PID..." or "not found", from every readable mapping up to
# 1 GiB (larger ones are a sanitizer's shadow memory), read in pieces.
scan() {
	timeout 120 python3 - "$@" <<'PY'
import sys
needle, found, step = sys.argv[1].encode(), [], 1 << 22
def has(mem, lo, hi):
    tail = b""
    for at in range(lo, hi, step):
        mem.seek(at)
        piece = tail + mem.read(min(step, hi - at))
        if needle in piece:
            return True
        tail = piece[-len(needle):]
    return False
for pid in sys.argv[2:]:
    mem = open("/proc/%s/mem" % pid, "rb", 0)
    for line in open("/proc/%s/maps" % pid):
        addr, perms = line.split()[:2]
        if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
            continue
        lo, hi = (int(x, 16) for x in addr.split("-"))
        if hi - lo > 1 << 30:
            continue
        try:
            if has(mem, lo, hi):
                found.append(pid)
                break
        except (OSError, ValueError, OverflowError):
            pass
print("found in " + " ".join(found) if found else "not found")
PY
}
n=$(printf '%s\n' $SESSIONS $PID_main | grep -c .)
is "(the scan reads their memory: the banner's text is in each)" "$n" \
	"$(scan "POP3 proxy ready" $SESSIONS $PID_main | wc -w | awk '{ print $1 - 2 }')"
is "the backend's master password is in no session's memory, nor in the master's" "not found" \
	"$(scan "$MASTER_PW" $SESSIONS $PID_main)"
is "nor are the users' APOP secrets" "not found" "$(scan "$APOP_SECRET" $SESSIONS $PID_main)"
mon=$(printf '%s\n' "$MONITORS" | head -n 1)
for p in $PID_main $mon; do
	is "no core file for $( [ "$p" = "$mon" ] && echo the monitor || echo the master) (RLIMIT_CORE 0)" "0 0" \
		"$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$p/limits")"
done
is "the monitor keeps uid 0 but no capability" "0000000000000000 0000000000000000" \
	"$(awk '/^CapPrm:|^CapEff:/ { print $2 }' "/proc/$mon/status" | paste -sd' ')"
# Without CAP_SYS_PTRACE a root process opens another's memory only when that one is
# dumpable: a capability-less dumpable control can be opened, the monitor must not be.
setpriv --bounding-set -all sleep 30 &
ctl=$!
PIDS="$PIDS $ctl"
i=0
while ! grep -q '^CapPrm:.0000000000000000' "/proc/$ctl/status" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
memopen() { setpriv --bounding-set -sys_ptrace dd if="/proc/$1/mem" of=/dev/null count=0 status=none 2>/dev/null; }
check "(a dumpable process without capabilities: its memory opens without CAP_SYS_PTRACE)" memopen "$ctl"
check "the monitor is not dumpable: its memory does not" sh -c "! $(command -v setpriv) --bounding-set -sys_ptrace dd if=/proc/$mon/mem of=/dev/null count=0 status=none 2>/dev/null"
kill "$ctl"
sleep 1
stop_dovecot
like "while dovecot stops, the relayed session ends" "^EOF$|^\+OK" "$(tail -n 1 "$B/during")"
is "backend down: -ERR [SYS/TEMP]" "-ERR [SYS/TEMP] the mail store is unavailable, try again later" \
	"$(reply 2 "apop:alice:$APOP_SECRET")"
is "IPv6: the same proxy on ::1" "+OK POP3 proxy ready" \
	"$(POP_HOST=::1 timeout 30 $PROBE talk "$P" QUIT 2>&1 | head -n 1 | cut -d' ' -f1-4)"

alive() { ps -eo stat=,args= | grep -v '^Z' | grep -c "[a]pop-proxy -d -f $B/main.conf"; }
(timeout 30 $PROBE talk "$P" "USER alice" sleep:20 >/dev/null 2>&1 &)
i=0
while [ -z "$(kids | awk '$2 == "nobody"')" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "while running: the master, its monitor and session processes" test "$(alive)" -ge 3
kill "$PID_main"
timeout 20 sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.1; done' sh "$PID_main"
is "stopping the master ends every monitor and session before it exits" 0 "$(alive)"

# ---- logs ----
check "one line per login, with the address" grep -q '^apop-proxy\[[0-9]*\]: login; method=apop user=alice rhost=127.0.0.1$' "$LOG"
check "an OTP login logs what is left" grep -q 'login; method=otp user=alice rhost=127.0.0.1 remaining=' "$LOG"
# The fail2ban failregex of apop-proxy(8), in grep -E form (<HOST> as an address).
F2B='authentication failure; method=[a-z]+ user=[^ ]* rhost=[0-9a-fA-F.:]+( |$)'
is "every failure line matches the documented fail2ban regex" \
	"$(grep -c 'authentication failure' "$LOG")" "$(grep -Ec "$F2B" "$LOG")"
check "failures name the user and the reason" grep -q 'authentication failure; method=apop user=carol rhost=127.0.0.1 reason=too many failed logins' "$LOG"
check "no success line matches it" sh -c '! grep "login;" "$1" | grep -Eq "$2"' sh "$LOG" "$F2B"
check "no secret, digest or OTP in the logs" sh -c '! grep -Eiq "tanstaaf|[0-9a-f]{32}|$1" "$2"' sh "$(printf '%s' "$resp" | tr ' ' '.')" "$LOG"
check "no sanitizer report" sh -c '! grep -Eq "runtime error|AddressSanitizer" "$@"' sh "$B"/*.log
done_testing
