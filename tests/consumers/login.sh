#!/bin/sh
# login.sh - the real login(1) on a pseudo-terminal with both blocks of
# contrib/pam.d/login, in a private mount namespace.
. "$OTP_SRC/tests/lib.sh"
NS=$T_TMP
. "$OTP_SRC/tests/consumers/ns.sh.inc"
ns_test_init

# tty USER DIALOGUE: login USER on a pty with DIALOGUE, then, when it gets
# in, a shell command that says who it is.
tty() {
	: > "$T"
	printf '%s' "$2" | ns_pty "$T" login "$1" 2> "$T.err"
	rc=$?
}
IN='expect [$] $
send echo "in as $(id -un)"
expect in as [a-z]
send exit
eof
'
got_in() { grep -q "in as $1" "$T"; }
refused() { grep -q 'Login incorrect' "$T" && ! grep -q 'in as [a-z]' "$T"; }
REFUSED='expect Login incorrect
hangup
'

# ---- block 1: the OTP instead of the password; no key: the password
stanza login 1 /etc/pam.d/login
c=$(challenge alice)
mark=$(ns_log_mark)
tty alice "$(ns_answer 'Response: ' "$(response "$c")")
$IN"
check "block 1: the prompt shows the challenge otpkey info predicted" prompt_is "$c"
check "block 1: the right response logs in" got_in alice
check "block 1: the success is logged in the documented form" logged_since "$mark" \
	'pam_otp\(login:auth\): authentication success; logname=\S* uid=0 euid=0 tty=/dev/pts/[0-9]+ ruser= rhost= user=alice remaining=98$'
mark=$(ns_log_mark)
tty alice "$(ns_answer 'Response: ' "$(response "$c")")
$REFUSED"
check "block 1: the replay is refused" refused
check "block 1: and no password is asked after it" no_password
check "block 1: the failure is logged in the documented form" logged_since "$mark" \
	'pam_otp\(login:auth\): authentication failure; logname=\S* uid=0 euid=0 tty=/dev/pts/[0-9]+ ruser= rhost=  user=alice$'
c=$(challenge alice)
tty alice "$(ns_answer 'Response: ' "$(response "$c" "$WRONG")")
$REFUSED"
check "block 1: a wrong response is refused" refused
check "block 1: and uses nothing up" test "$(challenge alice)" = "$c"
tty carol "$(ns_answer 'Password: ' "$CAROLPW")
$IN"
check "block 1: a user without a key is asked the password (nullok)" got_in carol
check "block 1: and no challenge" no_challenge
tty carol "$(ns_answer 'Password: ' "not carol's")
$REFUSED"
check "block 1: a user without a key and a wrong password is refused" refused

# ---- block 2: the password, then the OTP
stanza login 2 /etc/pam.d/login
c=$(challenge bob)
tty bob "$(ns_answer 'Password: ' "$BOBPW" 'Response: ' "$(response "$c")")
$IN"
check "block 2: the password, then the predicted challenge" prompt_is "$c"
check "block 2: both right log in" got_in bob
c=$(challenge bob)
tty bob "$(ns_answer 'Password: ' "$BOBPW" 'Response: ' "$(response "$c" "$WRONG")")
$REFUSED"
check "block 2: the right password and a wrong response are refused" refused
check "block 2: a wrong response uses nothing up" test "$(challenge bob)" = "$c"
tty bob "$(ns_answer 'Password: ' "not bob's")
$REFUSED"
check "block 2: a wrong password is refused" refused
check "block 2: before any challenge" no_challenge
tty carol "$(ns_answer 'Password: ' "$CAROLPW" 'Response: ' "$(response "otp-md5 99 carol ext")")
$REFUSED"
check "block 2: a user without a key sees a challenge-like prompt" fake_prompt
check "block 2: and is refused" refused

ns_check_fail2ban "pam-otp[mode=local]"
ns_stop_all
check "the host's /etc/pam.d, passwd, shadow, group, gshadow are unchanged" ns_host_unchanged
done_testing
