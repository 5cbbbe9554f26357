#!/bin/sh
# syslog.sh - what pam_otp logs: the pam_unix form fail2ban matches, and no secrets.
# The module runs in a private mount namespace whose /dev/log is our socket.
. "$OTP_SRC/tests/lib.sh"

LOG="$T_TMP/syslog"
echo "auth required $MOD db=$DB debug" > "$CONF/otp"

if ! unshare -m true 2>/dev/null; then
	ok "# SKIP no mount namespaces here (unshare -m failed)"
	done_testing
	exit 0
fi

# A syslog socket that appends each datagram as a line; it stops by itself.
cat > "$T_TMP/logsrv.py" <<'EOF'
import socket, sys, time
path, out, limit = sys.argv[1], open(sys.argv[2], "ab", 0), time.time() + float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
while time.time() < limit:
    try:
        out.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
    except socket.timeout:
        pass
EOF
python3 "$T_TMP/logsrv.py" "$T_TMP/log.sock" "$LOG" 60 &
srv=$!
i=0
while [ ! -S "$T_TMP/log.sock" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done

# drive USER ANSWER: one login, logging to our socket.
drive() {
	timeout 60 unshare -m sh -c '
		mkdir -p "$1/dev" && mount --bind /dev "$1/dev" &&
		mount -t tmpfs -o mode=755 tmpfs /dev &&
		for n in null zero urandom random; do
			touch /dev/$n && mount --bind "$1/dev/$n" /dev/$n || exit 1
		done &&
		ln -s "$1/log.sock" /dev/log && shift && exec "$@"' \
		sh "$T_TMP" "$DRIVE" "$CONF" otp "$@" > "$T_TMP/out" 2>&1 </dev/null
}

printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPKEY" --db "$DB" init -n 100 -s TeSt alice >/dev/null 2>&1
good=$(printf '%s\n' "$PASS" | "$OTPCALC" 99 TeSt)
drive alice "$good"
check "login through the namespace succeeds" test $? -eq 0
drive alice "$good"
drive nosuchuser "$good"
drive "bad user" "$good"
sleep 0.3
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null

diag "captured:" "$(cat "$LOG")"
check "a success line in the standard form" grep -Eq \
	'pam_otp\(otp:auth\): authentication success; logname=[^ ]* uid=[0-9]+ euid=[0-9]+ tty=pamdrive ruser= rhost=127\.0\.0\.1 user=alice remaining=98$' "$LOG"
check "a failure line fail2ban's pam-generic filter matches" grep -Eq \
	'pam_otp\(otp:auth\): authentication failure; logname=[^ ]* uid=[0-9]+ euid=[0-9]+ tty=[^ ]* ruser=[^ ]* rhost=127\.0\.0\.1  user=alice$' "$LOG"
check "the reason on a line of its own" grep -q 'user alice: one-time password does not verify' "$LOG"
check "an unknown user is logged as a failure too" grep -Eq 'authentication failure; .* user=nosuchuser$' "$LOG"
check "a hostile user name is refused and logged without spaces" grep -q 'user=bad?user' "$LOG"
check "facility authpriv (priority 10 or 8x)" grep -Eq '^<8[0-7]>' "$LOG"
check "no response word sequence in any log line" sh -c "! grep -Eq '$(echo "$good" | sed 's/ /.*/g')' '$LOG'"
check "the pass phrase never logged" sh -c "! grep -q 'This is a test' '$LOG'"

done_testing
