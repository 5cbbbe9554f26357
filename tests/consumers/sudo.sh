#!/bin/sh
# sudo.sh - the real sudo(8), run by unprivileged users on a pseudo-terminal,
# with both blocks of contrib/pam.d/sudo and a sudoers of the namespace's own.
. "$OTP_SRC/tests/lib.sh"
NS=$T_TMP
. "$OTP_SRC/tests/consumers/ns.sh.inc"
ns_test_init
# Every sudo asks (no timestamp), once.
s=$(ns_etc sudoers)
cat > "$s" <<EOS
Defaults env_reset, !lecture, timestamp_timeout=0, passwd_tries=1
root ALL=(ALL:ALL) ALL
bob ALL=(ALL:ALL) ALL
carol ALL=(ALL:ALL) ALL
EOS
chmod 440 "$s"

# sudo_as USER DIALOGUE: USER runs sudo on a pty; the command says who it is.
sudo_as() {
	: > "$T"
	{ printf '%s\n' "$2"; echo eof; } |
		ns_pty "$T" setpriv --reuid="$1" --regid="$1" --init-groups \
		sudo sh -c 'echo "in as $(id -un)"' 2> "$T.err"
	rc=$?
}
got_in() { [ "$rc" -eq 0 ] && grep -q 'in as root' "$T"; }
refused() { [ "$rc" -ne 0 ] && grep -q 'incorrect password attempt' "$T" && ! grep -q 'in as [a-z]' "$T"; }
no_sudo_password() { ! grep -q 'password for' "$T"; }

# ---- block 1: the invoking user's OTP instead of the password
stanza sudo 1 /etc/pam.d/sudo
c=$(challenge bob)
mark=$(ns_log_mark)
sudo_as bob "$(ns_answer 'Response: ' "$(response "$c")")"
check "block 1: the prompt shows the challenge otpkey info predicted" prompt_is "$c"
check "block 1: the right response runs the command as root" got_in
check "block 1: the success is logged in the documented form" logged_since "$mark" \
	'pam_otp\(sudo:auth\): authentication success; logname=\S* uid=2002 euid=0 tty=/dev/pts/[0-9]+ ruser=bob rhost= user=bob remaining=98$'
mark=$(ns_log_mark)
sudo_as bob "$(ns_answer 'Response: ' "$(response "$c")")"
check "block 1: the replay is refused" refused
check "block 1: and no password is asked after it" no_sudo_password
check "block 1: the failure is logged in the documented form" logged_since "$mark" \
	'pam_otp\(sudo:auth\): authentication failure; logname=\S* uid=2002 euid=0 tty=/dev/pts/[0-9]+ ruser=bob rhost=  user=bob$'
c=$(challenge bob)
sudo_as bob "$(ns_answer 'Response: ' "$(response "$c" "$WRONG")")"
check "block 1: a wrong response is refused" refused
check "block 1: and uses nothing up" test "$(challenge bob)" = "$c"
sudo_as carol "$(ns_answer 'password for carol: ' "$CAROLPW")"
check "block 1: a user without a key is asked the password, as the stanza says" got_in
check "block 1: and no challenge" no_challenge

# ---- block 2: the password, then the OTP
stanza sudo 2 /etc/pam.d/sudo
c=$(challenge bob)
sudo_as bob "$(ns_answer 'password for bob: ' "$BOBPW" 'Response: ' "$(response "$c")")"
check "block 2: the password, then the predicted challenge" prompt_is "$c"
check "block 2: both right run the command" got_in
c=$(challenge bob)
sudo_as bob "$(ns_answer 'password for bob: ' "$BOBPW" 'Response: ' "$(response "$c" "$WRONG")")"
check "block 2: the right password and a wrong response are refused" refused
check "block 2: which uses nothing up" test "$(challenge bob)" = "$c"
sudo_as carol "$(ns_answer 'password for carol: ' "$CAROLPW" 'Response: ' "$(response "otp-md5 99 carol ext")")"
check "block 2: a user without a key sees a challenge-like prompt" fake_prompt
check "block 2: and cannot use sudo, as the stanza says" refused

ns_check_fail2ban "pam-otp[mode=local]"
ns_stop_all
check "the host's /etc/pam.d, passwd, shadow, group, gshadow, sudoers are unchanged" ns_host_unchanged
done_testing
