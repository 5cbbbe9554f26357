#!/bin/sh
# su.sh - the real su(1), run by an unprivileged user on a pseudo-terminal,
# with both blocks of contrib/pam.d/su, in a private mount namespace.
. "$OTP_SRC/tests/lib.sh"
NS=$T_TMP
. "$OTP_SRC/tests/consumers/ns.sh.inc"
ns_test_init
ERINPW="erin's reusable password"
ns_user erin 2005 "$ERINPW"
ns_enrol erin 100 erin1

# su_to TARGET DIALOGUE [AS]: AS (default bob, uid 2002) runs su TARGET on a
# pty; a shell command there says who it is.
su_to() {
	: > "$T"
	{ printf '%s\n' "$2"; echo eof; } |
		ns_pty "$T" setpriv --reuid="${3:-bob}" --regid="${3:-bob}" --init-groups \
		su "$1" -c 'echo "in as $(id -un)"' 2> "$T.err"
	rc=$?
}
got_in() { [ "$rc" -eq 0 ] && grep -q "in as $1" "$T"; }
refused() { [ "$rc" -ne 0 ] && grep -q 'Authentication failure' "$T" && ! grep -q 'in as [a-z]' "$T"; }

# ---- block 1: the target's OTP instead of its password; no key: the password
stanza su 1 /etc/pam.d/su
su_to alice "" root
check "root su's to a user with a key without any prompt (pam_rootok first)" got_in alice
check "root is asked nothing" no_challenge
c=$(challenge alice)
mark=$(ns_log_mark)
su_to alice "$(ns_answer 'Response: ' "$(response "$c")")"
check "block 1: the prompt shows the challenge otpkey info predicted" prompt_is "$c"
check "block 1: the right response lets bob in as alice" got_in alice
check "block 1: the success is logged in the documented form" logged_since "$mark" \
	'pam_otp\(su:auth\): authentication success; logname=\S* uid=2002 euid=0 tty=/dev/pts/[0-9]+ ruser=bob rhost= user=alice remaining=98$'
mark=$(ns_log_mark)
su_to alice "$(ns_answer 'Response: ' "$(response "$c")")"
check "block 1: the replay is refused" refused
check "block 1: and no password is asked after it" no_password
check "block 1: the failure is logged in the documented form" logged_since "$mark" \
	'pam_otp\(su:auth\): authentication failure; logname=\S* uid=2002 euid=0 tty=/dev/pts/[0-9]+ ruser=bob rhost=  user=alice$'
c=$(challenge alice)
su_to alice "$(ns_answer 'Response: ' "$(response "$c" "$WRONG")")"
check "block 1: a wrong response is refused" refused
check "block 1: and uses nothing up" test "$(challenge alice)" = "$c"
su_to carol "$(ns_answer 'Password: ' "$CAROLPW")"
check "block 1: a target without a key is asked its password, as the stanza says" got_in carol
check "block 1: and no challenge" no_challenge
su_to carol "$(ns_answer 'Password: ' "not carol's")"
check "block 1: a target without a key and a wrong password is refused" refused

# ---- block 2: the target's password, then its OTP
stanza su 2 /etc/pam.d/su
c=$(challenge erin)
su_to erin "$(ns_answer 'Password: ' "$ERINPW" 'Response: ' "$(response "$c")")"
check "block 2: the password, then the predicted challenge" prompt_is "$c"
check "block 2: both right let bob in as erin" got_in erin
c=$(challenge erin)
su_to erin "$(ns_answer 'Password: ' "$ERINPW" 'Response: ' "$(response "$c" "$WRONG")")"
check "block 2: the right password and a wrong response are refused" refused
su_to erin "$(ns_answer 'Password: ' "not erin's")"
check "block 2: a wrong password is refused" refused
check "block 2: before any challenge" no_challenge
check "block 2: refusals use nothing up" test "$(challenge erin)" = "$c"
su_to carol "$(ns_answer 'Password: ' "$CAROLPW" 'Response: ' "$(response "otp-md5 99 carol ext")")"
check "block 2: a target without a key sees a challenge-like prompt" fake_prompt
check "block 2: and cannot be su'd to, as the stanza says" refused

ns_check_fail2ban "pam-otp[mode=local]"
ns_stop_all
check "the host's /etc/pam.d, passwd, shadow, group, gshadow are unchanged" ns_host_unchanged
done_testing
