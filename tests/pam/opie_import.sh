#!/bin/sh
# opie_import.sh - users moved from OPIE (/etc/opiekeys) and S/Key log in
# through PAM with the responses their old calculators compute, re-key with
# init-word and init-hex, and nothing else gets in.
. "$OTP_SRC/tests/lib.sh"

. "$OTP_SRC/tests/pam/pam.sh.inc"
service otp

hex_at() { # ALG SEQ SEED: the OTP as OPIE stores it, 16 hex digits
	printf '%s\n' "$PASS" | "$OTPCALC" -a "$1" -x "$2" "$3" 2>/dev/null | tr -d ' '
}
resp() { printf '%s\n' "$PASS" | "$OTPCALC" "$@" 2>/dev/null; }

# An /etc/opiekeys in OPIE's layout: the last OTP accepted at that count.
printf '%s %04d %-16s %s  %s\n' \
	olga 499 ke1234 "$(hex_at md5 499 ke1234)" "Nov 26,2026 10:00:00" \
	oscar 100 os7 "$(hex_at md5 100 os7)" "Nov 26,2026 10:00:00" > "$T_TMP/opiekeys"
# And an OpenBSD /etc/skey directory with a sha1 user.
mkdir -p "$T_TMP/skey"
printf 'sam\nsha1\n50\nsa1\n%s\n' "$(hex_at sha1 50 sa1)" > "$T_TMP/skey/sam"

"$OTPKEY" --db "$DB" import --opie "$T_TMP/opiekeys" >/dev/null 2>&1
check "OPIE users imported" test $? -eq 0
"$OTPKEY" --db "$DB" import --skey "$T_TMP/skey" >/dev/null 2>&1
check "S/Key user imported" test $? -eq 0
check "olga sees the challenge OPIE would show" test "$(first_line olga)" = "otp-md5 498 ke1234 ext"

drive otp olga "$(resp 'otp-md5 498 ke1234')"
check "olga logs in with her calculator's six words" test $? -eq $PAM_SUCCESS
drive otp olga "$(resp 'otp-md5 498 ke1234')"
check "and the same response again is refused" test $? -eq $PAM_AUTH_ERR
drive otp olga "$(resp -x 'otp-md5 497 ke1234')"
check "she logs in with hex too" test $? -eq $PAM_SUCCESS
drive otp olga "$(resp 'otp-md5 497 ke1234' | sed 's/^[A-Z]*/RUST/')"
check "a wrong first word is refused" test $? -eq $PAM_AUTH_ERR

# RFC 2243 re-keys, computed as OPIE's opiekey -f would (the same pass phrase, a new seed).
init=$(printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPCALC" -t init-word "otp-md5 496 ke1234 ext" 2>/dev/null)
drive otp olga "$init"
check "init-word re-key from an imported key" test $? -eq $PAM_SUCCESS
check "the next challenge is from the new parameters (ke1235, 498)" test "$(first_line olga)" = "otp-md5 498 ke1235 ext"
init=$(printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPCALC" -t init-hex "otp-md5 498 ke1235 ext" 2>/dev/null)
drive otp olga "$init"
check "init-hex re-key after it" test $? -eq $PAM_SUCCESS
check "the next challenge: ke1236, 498" test "$(first_line olga)" = "otp-md5 498 ke1236 ext"
drive otp olga "$(resp 'otp-md5 498 ke1236')"
check "and a login on the newest chain" test $? -eq $PAM_SUCCESS
drive otp olga "$(resp 'otp-md5 497 ke1235')"
check "the old chain no longer works" test $? -eq $PAM_AUTH_ERR

drive otp oscar "$(resp 'otp-md5 99 os7')"
check "a second OPIE user logs in" test $? -eq $PAM_SUCCESS
drive otp sam "$(resp -a sha1 'otp-sha1 49 sa1')"
check "the S/Key sha1 user logs in" test $? -eq $PAM_SUCCESS
drive otp sam "$(resp -a md5 49 sa1)"
check "an md5 response for the sha1 user is refused" test $? -eq $PAM_AUTH_ERR

done_testing
