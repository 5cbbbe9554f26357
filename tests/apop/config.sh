#!/bin/sh
# config.sh - apop-proxy.conf(5) checking through apop-proxy -t: a good file passes, and
# each kind of mistake is refused with its line number and one clear message.
. "$OTP_SRC/tests/lib.sh"

PROXY="$OTP_BUILD/apop-proxy"
DB="$T_TMP/otp/otpkeys.db"
mkdir -p "$T_TMP/otp" "$T_TMP/empty" && chmod 700 "$T_TMP/otp"
printf 'This is a test.\nThis is a test.\n' | "$OTP_BUILD/otpkey" --db "$DB" init -s test alice >/dev/null 2>&1
printf 'pw\n' > "$T_TMP/master.pw" && chmod 600 "$T_TMP/master.pw"
GOOD="listen 127.0.0.1 1110
listen ::1 1110
# a comment
user nobody
chroot $T_TMP/empty
db $DB
backend 127.0.0.1 110
backend_master_user proxy
backend_master_password_file $T_TMP/master.pw
max_failures 0"

conf() { printf '%s\n' "$1" > "$T_TMP/c.conf"; chmod 600 "$T_TMP/c.conf"; }
expect_out "a good file passes -t" "" "$T_TMP/c.conf: configuration OK" sh -c \
	'printf "%s\n" "$1" > "$2"; chmod 600 "$2"; exec "$3" -t -f "$2"' sh "$GOOD" "$T_TMP/c.conf" "$PROXY"

bad() { # DESC EXTRA-TEXT PATTERN
	conf "$GOOD
$2"
	expect_fail "$1" "" "$3" "$PROXY" -t -f "$T_TMP/c.conf"
}
bad "an unknown key" "frobnicate yes" 'line 11: unknown key frobnicate$'
bad "a key given twice" "user mail" 'line 11: user given twice$'
bad "a number out of range" "idle_timeout 599" 'line 11: idle_timeout: value must be a number from 600 to 86400$'
bad "a number with junk" "max_connections 10x" 'line 11: max_connections: value must be a number'
bad "a negative number" "window -1" 'line 11: window: value must be a number'
bad "a relative path" "tls_cert cert.pem" 'line 11: tls_cert needs an absolute path$'
bad "a host name where an address is wanted" "listen localhost 110" 'line 11: listen: localhost is not a numeric'
bad "a port out of range" "listen 127.0.0.2 65536" 'line 11: listen: port must be a number from 1 to 65535$'
bad "a key without a value" "hostname" 'line 11: hostname needs a value$'
bad "two values where one is wanted" "hostname a b" 'line 11: hostname takes one value$'
bad "yes or no" "allow_plain_pass maybe" 'line 11: allow_plain_pass: value must be yes or no$'
conf "$(printf '%s\n' "$GOOD" | sed 's/^user nobody$/user root/')"
expect_fail "the session user cannot be root" "" 'user must name an unprivileged account$' "$PROXY" -t -f "$T_TMP/c.conf"
bad "plain passwords need TLS" "allow_plain_pass yes" 'allow_plain_pass needs TLS'
bad "a certificate without its key" "tls_cert /x.pem" 'tls_cert and tls_key go together$'
bad "backend TLS needs a CA" "backend_tls stls" 'backend_tls needs backend_ca'
bad "a control character" "$(printf 'hostname a\001b')" 'line 11: control character$'
conf "$(printf '%s\n' "$GOOD" | grep -v '^backend ')"
expect_fail "no backend" "" 'no backend$' "$PROXY" -t -f "$T_TMP/c.conf"
conf "$GOOD"
chmod 666 "$T_TMP/c.conf"
expect_fail "a world-writable file is refused" "" 'writable by others' "$PROXY" -t -f "$T_TMP/c.conf"
conf "$(printf '%s\n' "$GOOD" | sed "s|^db .*|db $T_TMP/none/otpkeys.db|")"
expect_fail "a missing key database is found at start, not at the first login" "" \
	'otpkeys.db: key database does not exist$' "$PROXY" -t -f "$T_TMP/c.conf"
expect_fail "no such file" "" 'nonexistent.conf: No such file' "$PROXY" -t -f "$T_TMP/nonexistent.conf"
timeout 60 "$PROXY" -x >/dev/null 2>"$T_TMP/err"
check "an unknown option: usage, exit status 2" test $? -eq 2 -a "$(grep -c '^usage: apop-proxy' "$T_TMP/err")" -eq 1
done_testing
