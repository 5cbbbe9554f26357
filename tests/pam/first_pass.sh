#!/bin/sh
# first_pass.sh - use_first_pass and try_first_pass: the response comes from the
# password an earlier module put in PAM_AUTHTOK (here pam_wrapper's
# pam_set_items.so, which copies it from the environment).
. "$OTP_SRC/tests/lib.sh"

. "$OTP_SRC/tests/pam/pam.sh.inc"

SETITEMS=$(ls /usr/lib/*/pam_wrapper/pam_set_items.so 2>/dev/null | head -n 1)
for mode in use_first_pass try_first_pass; do
	printf 'auth required %s\nauth required %s db=%s %s\n' "$SETITEMS" "$MOD" "$DB" "$mode" \
		> "$CONF/$mode"
done

at() { response md5 "$1" TeSt; }

# fdrive SERVICE AUTHTOK [ANSWER...]: one login with PAM_AUTHTOK set first.
fdrive() {
	svc=$1 tok=$2; shift 2
	PAM_AUTHTOK=$tok timeout 60 "$DRIVE" "$CONF" "$svc" alice "$@" > "$T_TMP/out" 2>&1 </dev/null
}
prompted() { grep -q '^PROMPT' "$T_TMP/out"; }

printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPKEY" --db "$DB" init -n 100 -s TeSt alice >/dev/null 2>&1

fdrive use_first_pass "$(at 99)"
check "use_first_pass: the earlier password, an OTP, logs in" test $? -eq $PAM_SUCCESS
check "use_first_pass: without a prompt" sh -c "! grep -q '^PROMPT' '$T_TMP/out'"
check "use_first_pass: the OTP is consumed" test "$(first_line alice)" = "otp-md5 98 test ext"
fdrive use_first_pass "$(at 99)"
check "use_first_pass: the same password again is a replay, refused" test $? -eq $PAM_AUTH_ERR
fdrive use_first_pass "my unix password" "$(at 98)"
check "use_first_pass: a password that is no OTP fails" test $? -eq $PAM_AUTH_ERR
check "use_first_pass: and never prompts" sh -c "! grep -q '^PROMPT' '$T_TMP/out'"

fdrive try_first_pass "$(at 98)"
check "try_first_pass: an OTP as the earlier password logs in" test $? -eq $PAM_SUCCESS
check "try_first_pass: without a prompt" sh -c "! grep -q '^PROMPT' '$T_TMP/out'"
fdrive try_first_pass "my unix password" "$(at 97)"
check "try_first_pass: a password that is no OTP leads to the prompt" test $? -eq $PAM_SUCCESS
check "try_first_pass: which shows the challenge" grep -q '^PROMPT: otp-md5 97 test ext, Response:' "$T_TMP/out"
fdrive try_first_pass "$(at 99)" "$(at 96)"
check "try_first_pass: a used OTP fails, then the prompt takes the right one" test $? -eq $PAM_SUCCESS
check "try_first_pass: the prompt came after the failed first try" grep -q '^PROMPT: otp-md5 96 test ext' "$T_TMP/out"
check "state moved past 96" test "$(first_line alice)" = "otp-md5 95 test ext"

done_testing
