#!/bin/sh
# badinput.sh - malformed input of every class through the real libpam, each
# with its expected PAM code; none may crash (the exit code is the PAM code,
# never a signal) and none may log in.
. "$OTP_SRC/tests/lib.sh"

. "$OTP_SRC/tests/pam/pam.sh.inc"

# dbservice NAME DBPATH OPTIONS...: a stanza on another store, with no lockout.
dbservice() {
	name=$1 db=$2; shift 2
	printf 'auth required %s db=%s max_failures=0 %s\naccount required pam_permit.so\n' \
		"$MOD" "$db" "$*" > "$CONF/$name"
}
md5() { response md5 "$1" "$2" ${3:-}; }

# expect DESC WANT SERVICE USER ANSWER...: the login ends with PAM code WANT.
expect() {
	desc=$1 want=$2; shift 2
	timeout 60 "$DRIVE" "$CONF" "$@" > "$T_TMP/out" 2>&1 </dev/null
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$desc (PAM code $rc)"
	else
		notok "$desc"
		diag "exit $rc, want $want" "$(tail -n 5 "$T_TMP/out")"
	fi
}

# expect_stdin DESC WANT SERVICE USER: the answer is read from standard input,
# which may hold bytes no argument can (a NUL).
expect_stdin() {
	desc=$1 want=$2; shift 2
	timeout 60 "$DRIVE" "$CONF" "$@" - > "$T_TMP/out" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$desc (PAM code $rc)"; else notok "$desc"; diag "exit $rc, want $want"; fi
}

printf '%s\n%s\n' "$PASS" "$PASS" |
	"$OTPKEY" --db "$DB" init -a md5 -n 100 -s test alice >/dev/null 2>&1
dbservice otp "$DB"
dbservice nullok "$DB" nullok
good=$(md5 99 test)
long600=$(printf '%0600d' 0 | tr 0 A)
long64k=$(head -c 65536 /dev/zero | tr '\0' 'B')

# ---- responses: every malformed class is PAM_AUTH_ERR and consumes nothing ----
expect "over-long: 600 bytes" $PAM_AUTH_ERR otp alice "$long600"
expect "over-long: 64 KiB" $PAM_AUTH_ERR otp alice "$long64k"
expect "over-long: the right response padded past 512 bytes" $PAM_AUTH_ERR otp alice \
	"$good$(printf '%0520d' 0 | tr 0 ' ')"
expect "non-ASCII: UTF-8 in a word" $PAM_AUTH_ERR otp alice "$(echo "$good" | sed 's/^./Ö/')"
expect "non-ASCII: Latin-1 bytes" $PAM_AUTH_ERR otp alice "$(printf 'BOND FOGY DRAB NE RISE MAR\324')"
expect "control characters" $PAM_AUTH_ERR otp alice "$(printf 'BOND\033[2J FOGY DRAB NE RISE MART')"
printf 'BOND FOGY\000DRAB NE RISE MART\n' > "$T_TMP/nul"
expect_stdin "embedded NUL: the answer ends there (two words)" $PAM_AUTH_ERR otp alice < "$T_TMP/nul"
printf '%s\000%s\n' "$(echo "$good" | cut -d' ' -f1-5)" "$(echo "$good" | cut -d' ' -f6)" > "$T_TMP/nul"
expect_stdin "embedded NUL before the right last word" $PAM_AUTH_ERR otp alice < "$T_TMP/nul"
expect "bad checksum" $PAM_AUTH_ERR otp alice "$(echo "$good" | sed 's/ [A-Z]*$/ A/')"
expect "wrong word" $PAM_AUTH_ERR otp alice "$(echo "$good" | sed 's/ [A-Z]*$/ XYZZY/')"
expect "five of the six right words" $PAM_AUTH_ERR otp alice "$(echo "$good" | cut -d' ' -f1-5)"
expect "hex one digit short" $PAM_AUTH_ERR otp alice "$(md5 99 test -x | sed 's/.$//')"
expect "truncated ext: hex: alone" $PAM_AUTH_ERR otp alice "hex:"
expect "truncated ext: word: and two words" $PAM_AUTH_ERR otp alice "word:$(echo "$good" | cut -d' ' -f1-2)"
expect "truncated ext: init-word: without new parts" $PAM_AUTH_ERR otp alice "init-word:$good"
expect "truncated ext: init-hex: cut in the new params" $PAM_AUTH_ERR otp alice \
	"init-hex:$(md5 99 test -x):md5 49"
expect "unknown extended type" $PAM_AUTH_ERR otp alice "x-otp-sha256:$good"
expect "empty answers (asked twice)" $PAM_AUTH_ERR otp alice "" ""
check "none of these consumed alice's OTP" test "$(first_line alice)" = "otp-md5 99 test ext"

# An init response whose current OTP is right but whose new part is absurd:
# refused, and the current OTP is consumed (RFC 2243 s4.3).
expect "absurd number: init-hex new sequence 99999999999" $PAM_AUTH_ERR otp alice \
	"init-hex:$(md5 99 test -x):md5 99999999999 new1:0000 0000 0000 0000"
check "it consumed the current OTP, and did not re-key" test "$(first_line alice)" = "otp-md5 98 test ext"
expect "replay of that consumed OTP" $PAM_AUTH_ERR otp alice "$good"

# ---- user names ---------------------------------------------------------------
expect "over-long user name" $PAM_USER_UNKNOWN otp "$(printf '%0100d' 0 | tr 0 u)" "$good"
expect "non-ASCII user name" $PAM_USER_UNKNOWN otp "$(printf 'al\303\257ce')" "$good"
expect "user name with a slash" $PAM_USER_UNKNOWN otp "../alice" "$good"
expect "user name with a blank" $PAM_USER_UNKNOWN otp "al ice" "$good"

# ---- options ------------------------------------------------------------------
dbservice absurd1 "$DB" window=99999999999999999999
dbservice absurd2 "$DB" lockout=-1
dbservice absurd3 "$DB" warn=1e3
dbservice absurd4 "$DB" max_failures=4294967297
dbservice reldb "otpkeys.db"
expect "absurd option: window=99999999999999999999" $PAM_SERVICE_ERR absurd1 alice "$good"
expect "absurd option: lockout=-1" $PAM_SERVICE_ERR absurd2 alice "$good"
expect "absurd option: warn=1e3" $PAM_SERVICE_ERR absurd3 alice "$good"
expect "absurd option: max_failures=2^32+1" $PAM_SERVICE_ERR absurd4 alice "$good"
expect "relative db= path" $PAM_SERVICE_ERR reldb alice "$good"
dbservice longopt "$DB" "$(printf '%04000d' 0 | tr 0 z)"
expect "unknown 4000-byte option: logged, ignored, a wrong answer still fails" $PAM_AUTH_ERR \
	longopt alice "WRONG WORD"

# ---- hostile database files: PAM_AUTHINFO_UNAVAIL, with nullok too ----------------
# The copies below are of the GDBM file alone: first the log goes into it.
"$OTPKEY" --db "$DB" checkpoint || echo "# checkpoint failed"
hostile() { # DESC: $H/otpkeys.db has been made hostile
	dbservice h "$H/otpkeys.db"
	dbservice hn "$H/otpkeys.db" nullok
	expect "hostile database: $1" $PAM_AUTHINFO_UNAVAIL h alice "$(md5 98 test)"
	expect "hostile database: $1, nullok does not fall through" $PAM_AUTHINFO_UNAVAIL hn alice \
		"$(md5 98 test)"
}
n=0
fresh() { n=$((n + 1)); H="$T_TMP/h$n"; mkdir -m 700 "$H"; }
fresh; head -c 16384 /dev/urandom > "$H/otpkeys.db"; chmod 600 "$H/otpkeys.db"; hostile "random bytes"
fresh; head -c 200 "$DB" > "$H/otpkeys.db"; chmod 600 "$H/otpkeys.db"; hostile "truncated to 200 bytes"
fresh; : > "$H/otpkeys.db"; chmod 600 "$H/otpkeys.db"; hostile "an empty file"
fresh; mkdir "$H/otpkeys.db"; hostile "a directory"
fresh; ln -s "$DB" "$H/otpkeys.db"; hostile "a symlink to the good database"
fresh; mkfifo -m 600 "$H/otpkeys.db"; hostile "a FIFO"
fresh; cp "$DB" "$H/otpkeys.db"; chmod 666 "$H/otpkeys.db"; hostile "world-writable"
fresh; cp "$DB" "$H/otpkeys.db"; chmod 600 "$H/otpkeys.db"; chmod 777 "$H"; hostile "in a world-writable directory"
if [ "$(id -u)" -eq 0 ]; then
	fresh; cp "$DB" "$H/otpkeys.db"; chmod 600 "$H/otpkeys.db"; chown 65534 "$H/otpkeys.db"
	hostile "owned by another user"
else
	ok "# SKIP wrong owner: needs root to chown"
	ok "# SKIP wrong owner (nullok): needs root to chown"
fi
fresh; cp "$DB" "$H/otpkeys.db"; chmod 600 "$H/otpkeys.db"
# Flip a byte inside every copy of a record (after each "OTPK" magic; GDBM
# keeps stale copies in free space): alice's check sum no longer holds.
python3 -c '
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.find(b"OTPK")
while i >= 0:
    b[i + 20] ^= 0xff
    i = b.find(b"OTPK", i + 4)
open(p, "wb").write(b)' "$H/otpkeys.db"
hostile "alice's record corrupted in place"

check "and the good database is untouched" test "$(first_line alice)" = "otp-md5 98 test ext"
expect "the right response still logs in" $PAM_SUCCESS otp alice "$(md5 98 test)"

done_testing
