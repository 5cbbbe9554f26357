#!/bin/sh
# token.sh - HOTP/TOTP tokens end to end: otpkey's QR enrolment checked with
# zbarimg, codes from oathtool through pam_otp (pamdrive), replay, window,
# lockout, scratch codes, imports, and the concurrency guarantee.
. "$OTP_SRC/tests/lib.sh"

PAM_SUCCESS=0 PAM_AUTH_ERR=7

for tool in oathtool zbarimg base32; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "ok 1 # SKIP $tool is not installed (make deps)"
		echo "1..1"
		exit 0
	fi
done

. "$OTP_SRC/tests/pam/pam.sh.inc"
info() { "$OTPKEY" --db "$DB" info "$1" 2>/dev/null; }
now() { date +%s; }
quiet() { "$@" >/dev/null; }
# settle: wait while the clock is in the last 5 seconds of a 30 s step, so
# that a code computed now is still for the same step when it is checked.
settle() { while [ $(( $(now) % 30 )) -ge 25 ]; do sleep 1; done; }
hexof() { printf '%s' "$1" | base32 -d 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
# totp HEX [OFFSET_SECONDS [oathtool options]]: oathtool's TOTP code, OFFSET from now.
totp() { hex=$1; off=${2:-0}; shift; [ $# -gt 0 ] && shift; oathtool --totp "$@" -N "@$(( $(now) + off ))" "$hex"; }

service otp
service race max_failures=0
service lock max_failures=2 lockout=600 totp_window=3
service wide totp_window=2

# ---- otpcalc against oathtool: random secrets, every HMAC, 6 to 8 digits ----
agree=0 total=0
for alg in sha1 sha256 sha512; do
	for len in 10 20 32 64; do
		for d in 6 7 8; do
			hex=$(openssl rand -hex "$len")
			b32=$(python3 -c "import base64;print(base64.b32encode(bytes.fromhex('$hex')).decode())")
			t=$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') ))
			c=$(( t % 100000 ))
			a=$(printf '%s\n' "$b32" | "$OTPCALC" --totp --hmac "$alg" --digits "$d" --time "$t")
			b=$(oathtool --totp="$alg" -d "$d" -N "@$t" "$hex")
			h1=$(printf '%s\n' "$b32" | "$OTPCALC" --hotp --counter "$c" --hmac "$alg" --digits "$d")
			h2=$(oathtool -d "$d" -c "$c" "$hex")   # oathtool's HOTP is SHA1 only
			total=$((total + 1))
			[ "$a" = "$b" ] && { [ "$alg" != sha1 ] || [ "$h1" = "$h2" ]; } && agree=$((agree + 1))
		done
	done
done
check "otpcalc agrees with oathtool on $total random TOTP/HOTP cases ($agree)" test "$agree" -eq "$total"
expect_fail "otpcalc refuses a malformed base32 secret" "GEZDGNBVGY3TQOJ1\n" "secret: malformed base32" \
	"$OTPCALC" --totp
printf 'GEZDGNBVGY3TQOJQ\n' | "$OTPCALC" --hotp > "$T_TMP/out" 2>&1
check "otpcalc --hotp needs --counter (usage error)" test $? -eq 2
check "and says so" has "counter goes with --hotp"

# ---- The "done when" flow: QR enrolment, zbarimg, oathtool codes through PAM once each ----
# enrol USER CODE-OFFSET OPTIONS...: otpkey init answering its code prompt
# with oathtool's code for the secret it printed (OFFSET "bad": a wrong code).
enrol() {
	u=$1 how=$2; shift 2
	rm -f "$T_TMP/fifo"; mkfifo "$T_TMP/fifo"
	timeout 60 "$OTPKEY" --db "$DB" init "$@" "$u" < "$T_TMP/fifo" > "$T_TMP/enrol" 2>"$T_TMP/enrol.err" &
	pid=$!
	exec 3>"$T_TMP/fifo"
	i=0
	# -a: the QR code's UTF-8 must not make grep call the file binary.
	while ! grep -aqs '^otpauth://' "$T_TMP/enrol" && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
	uri=$(grep -a '^otpauth://' "$T_TMP/enrol")
	secret=$(printf '%s' "$uri" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p')
	hex=$(hexof "$secret")
	case $how in
	bad) code=000000 ;;
	hotp) code=$(printf "%s\n" "$secret" | "$OTPCALC" --hotp --counter 0 --hmac sha256 --digits 8) ;;
	*) code=$(totp "$hex" "$how") ;;
	esac
	echo "$code" >&3
	exec 3>&-
	wait $pid
}

enrol alice 0 --totp --png "$T_TMP/alice.png" --svg "$T_TMP/alice.svg"
check "otpkey init --totp stores the token after one current code" test $? -eq 0
check "it prints a QR code in half blocks with explicit colours" grep -aq "$(printf '\033\[30;107m')" "$T_TMP/enrol"
check "and the emergency scratch codes on a sheet" grep -aq '^Emergency scratch codes' "$T_TMP/enrol"
check "the URI has the label, issuer and parameters" \
	quiet expr "$uri" : "otpauth://totp/$(hostname):alice?secret=[A-Z2-7]\{32\}&issuer=$(hostname)&algorithm=SHA1&digits=6&period=30\$"
decoded=$(zbarimg -q --raw "$T_TMP/alice.png" 2>/dev/null)
check "zbarimg decodes the PNG to exactly the printed URI" test "$decoded" = "$uri"
check "the SVG is written too" grep -q '<svg' "$T_TMP/alice.svg"
check "alice is token-only: info says TOTP code" test "$(info alice | head -n 1)" = "TOTP code"

next=$(totp "$hex" 30)
drive otp alice "$next"
check "the next code oathtool computes logs in through PAM" test $? -eq $PAM_SUCCESS
check "the prompt asks for a TOTP code" has "^PROMPT: TOTP code:"
drive otp alice "$next"
check "the same code again is refused (replay)" test $? -eq $PAM_AUTH_ERR
drive otp alice "$(totp "$hex" 0)"
check "an earlier step's code is refused after a later one" test $? -eq $PAM_AUTH_ERR
drive otp alice "$(totp "$hex" 90)"
check "a code three steps ahead is outside the window" test $? -eq $PAM_AUTH_ERR
"$OTPKEY" --db "$DB" unlock alice

enrol bert bad --totp
check "a wrong code at enrolment stores nothing" test $? -ne 0
check "so bert has no key" sh -c "! '$OTPKEY' --db '$DB' info bert >/dev/null 2>&1"

# ---- A google-authenticator file: window, skew, scratch codes, lockout ----
gasecret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
gahex=$(hexof "$gasecret")
printf '%s\n" RATE_LIMIT 3 30\n" WINDOW_SIZE 17\n" DISALLOW_REUSE\n" TOTP_AUTH\n11111111\n22222222\n33333333\n' \
	"$gasecret" > "$T_TMP/ga"
expect_out "import --google-authenticator" "" "imported TOTP token for carol with 3 scratch codes" \
	"$OTPKEY" --db "$DB" import --google-authenticator "$T_TMP/ga" carol
settle
drive otp carol "$(totp "$gahex" -30)"
check "a code one step behind (clock skew) is accepted" test $? -eq $PAM_SUCCESS
check "info shows the drift" sh -c "'$OTPKEY' --db '$DB' info carol | grep -q 'drift -1'"
drive otp carol "22222222"
check "a scratch code logs in" test $? -eq $PAM_SUCCESS
check "and says how many are left" has "INFO: Emergency scratch code used; 2 left."
drive otp carol "22222222"
check "a used scratch code is refused" test $? -eq $PAM_AUTH_ERR
drive otp carol "44444444"
check "an unknown scratch code is refused" test $? -eq $PAM_AUTH_ERR
drive wide carol "$(totp "$gahex" 60)"
check "totp_window=2 accepts a code two steps ahead" test $? -eq $PAM_SUCCESS
"$OTPKEY" --db "$DB" unlock carol
drive lock carol 123456
drive lock carol 654321
drive lock carol "$(totp "$gahex" 90)"
check "after max_failures wrong codes even a fresh one is refused (lockout)" test $? -eq $PAM_AUTH_ERR
"$OTPKEY" --db "$DB" unlock carol
drive lock carol "$(totp "$gahex" 90)"
check "after unlock the same fresh code is accepted" test $? -eq $PAM_SUCCESS
printf 'NOT*BASE32\n" TOTP_AUTH\n' > "$T_TMP/ga.bad"
expect_fail "a malformed google-authenticator file is refused" "" "ga.bad:1: the first line is not a base32 secret" \
	"$OTPKEY" --db "$DB" import --google-authenticator "$T_TMP/ga.bad" dora

# ---- 20 parallel logins with the same TOTP code: exactly one ----
printf '%s\n" TOTP_AUTH\n' "$gasecret" > "$T_TMP/ga2"
"$OTPKEY" --db "$DB" import --google-authenticator "$T_TMP/ga2" dora >/dev/null
out=$(timeout 120 "$DRIVE" -p 20 "$CONF" race dora "$(totp "$gahex" 0)")
check "20 parallel logins, same TOTP code: exactly one success ($out)" test "$out" = "success 1 failure 19"

# ---- pam_oath users file: HOTP look-ahead and replay, TOTP 8 digits ----
ohex=3132333435363738393031323334353637383930
cat > "$T_TMP/users.oath" <<EOF
# pam_oath users file
HOTP erin - $ohex
HOTP/T30/8 fred - $ohex 0
HOTP/E/6 gina - $ohex 4 755224 2024-01-01T00:00:00L
EOF
expect_out "import --pam-oath" "" "imported 3 users, skipped 0" "$OTPKEY" --db "$DB" import --pam-oath "$T_TMP/users.oath"
drive otp erin "$(oathtool -c 0 "$ohex")"
check "HOTP counter 0 logs in" test $? -eq $PAM_SUCCESS
check "the prompt asks for an HOTP code" has "^PROMPT: HOTP code:"
drive otp erin "$(oathtool -c 0 "$ohex")"
check "HOTP counter 0 again is refused (replay)" test $? -eq $PAM_AUTH_ERR
drive otp erin "$(oathtool -c 5 "$ohex")"
check "HOTP counter 5 is within the look-ahead" test $? -eq $PAM_SUCCESS
drive otp erin "$(oathtool -c 3 "$ohex")"
check "HOTP counter 3 is behind the counter now" test $? -eq $PAM_AUTH_ERR
drive otp erin "$(oathtool -c 40 "$ohex")"
check "HOTP counter 40 is beyond the look-ahead" test $? -eq $PAM_AUTH_ERR
"$OTPKEY" --db "$DB" unlock erin
out=$(timeout 120 "$DRIVE" -p 20 "$CONF" race erin "$(oathtool -c 6 "$ohex")")
check "20 parallel logins, same HOTP code: exactly one success ($out)" test "$out" = "success 1 failure 19"
drive otp fred "$(totp "$ohex" 0 -d 8)"
check "pam_oath HOTP/T30/8: an 8-digit TOTP code logs in" test $? -eq $PAM_SUCCESS
drive otp gina "$(oathtool -c 4 "$ohex")"
check "pam_oath with a last OTP: the counter shown is taken as used" test $? -eq $PAM_AUTH_ERR
"$OTPKEY" --db "$DB" unlock gina
drive otp gina "$(oathtool -c 5 "$ohex")"
check "and the one after it logs in" test $? -eq $PAM_SUCCESS
printf 'HOTP hank 1234 %s\nFOO ivan - %s\n' "$ohex" "$ohex" > "$T_TMP/users.bad"
"$OTPKEY" --db "$DB" import --pam-oath "$T_TMP/users.bad" > "$T_TMP/out" 2>&1
rc=$?
check "a pam_oath file with a PIN and an unknown type: exit 1" test $rc -eq 1
check "naming the PIN line" has "users.bad:1: a PIN"
check "and the type line" has "users.bad:2: unknown token type"

# ---- A user with both an RFC 2289 key and a token ----
printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPKEY" --db "$DB" init -n 100 -s both1 dora >/dev/null 2>&1
check "otpkey init adds an RFC 2289 key beside dora's token without -f" test $? -eq 0
check "info: the challenge first" test "$(info dora | head -n 1)" = "otp-md5 99 both1 ext"
check "list shows both" sh -c "'$OTPKEY' --db '$DB' list | grep -q '^dora .*md5.*99.*both1.*totp'"
drive otp dora "$(printf '%s\n' "$PASS" | "$OTPCALC" 99 both1)"
check "dora logs in with an RFC 2289 response" test $? -eq $PAM_SUCCESS
check "the prompt offers both" has "^PROMPT: otp-md5 99 both1 ext, Response or TOTP code:"
drive otp dora "$(totp "$gahex" 30)"
check "and with a TOTP code" test $? -eq $PAM_SUCCESS
check "the RFC 2289 state did not move" test "$(info dora | head -n 1)" = "otp-md5 98 both1 ext"
drive otp nobody 123456
check "an unknown user gets a prompt of a kind enrolled users have" \
	sh -c 'grep -Eq "^PROMPT: (otp-(md4|md5|sha1) [0-9]+ [a-z0-9]+ ext, Response( or (TOTP|HOTP) code)?|(TOTP|HOTP) code): " "$1"' sh "$T_TMP/out"
check "and a code is refused" test "$(sed -n 's/^RESULT: \([0-9]*\).*/\1/p' "$T_TMP/out")" = $PAM_AUTH_ERR
expect_fail "otpkey sheet for a token-only user" "" "alice: no RFC 2289 key" "$OTPKEY" --db "$DB" sheet alice
expect_fail "a second token needs -f" "" "carol: already has a token" \
	"$OTPKEY" --db "$DB" import --google-authenticator "$T_TMP/ga" carol

# ---- HOTP enrolment with SHA256 and 8 digits ----
enrol hugo hotp --hotp --hmac sha256 --digits 8 --scratch 0
check "otpkey init --hotp --hmac sha256 --digits 8 with otpcalc's code" test $? -eq 0
drive otp hugo "$(printf '%s\n' "$secret" | "$OTPCALC" --hotp --counter 1 --hmac sha256 --digits 8)"
check "hugo logs in with the next HOTP code" test $? -eq $PAM_SUCCESS
check "HOTP SHA256 8-digit URI" quiet expr "$uri" : "otpauth://hotp/.*:hugo?secret=[A-Z2-7]*&issuer=.*&algorithm=SHA256&digits=8&counter=0\$"
done_testing
