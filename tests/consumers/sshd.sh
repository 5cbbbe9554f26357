#!/bin/sh
# sshd.sh - the real sshd with contrib/pam.d/sshd, the real ssh client on a pty:
# keyboard-interactive (block 1), publickey then keyboard-interactive
# (AuthenticationMethods), the password then the OTP (block 2), and the
# trusted-networks recipe of contrib/pam.d/README; each in a private mount
# namespace, on 127.0.0.1 high ports.
. "$OTP_SRC/tests/lib.sh"
NS=$T_TMP
. "$OTP_SRC/tests/consumers/ns.sh.inc"
ns_test_init
ns_user dave 2004
ns_enrol dave 8 dave1

# login USER RESPONSE [SSH_OPTION...]: ssh USER@127.0.0.1 'id -un', answering the
# challenge prompt with RESPONSE; the transcript in $T, ssh's status in $rc.
login() {
	u=$1 r=$2; shift 2
	: > "$T"
	{ ns_answer 'Response: ' "$r"; echo eof; } | ns_ssh "$T" "$u" "$@" 'id -un' 2> "$T.err"
	rc=$?
}
got_in() { [ "$rc" -eq 0 ] && grep -q "^$1" "$T"; }
refused() { [ "$rc" -eq 255 ] && grep -q 'Permission denied' "$T"; }

# ---- block 1: keyboard-interactive, the OTP instead of the password
stanza sshd 1 /etc/pam.d/sshd
ns_sshd kbd

c=$(challenge alice)
r=$(response "$c")
mark=$(ns_log_mark)
login alice "$r"
check "block 1: the prompt shows the challenge otpkey info predicted ($c)" prompt_is "$c"
check "block 1: the right response logs in and runs the command" got_in alice
check "block 1: a success line in the documented form" logged_since "$mark" \
	'pam_otp\(sshd:auth\): authentication success; logname= uid=0 euid=0 tty=ssh ruser= rhost=127\.0\.0\.1 user=alice remaining=98$'
c2=$(challenge alice)
check "block 1: the next challenge is one lower" test "$c2" = "otp-md5 98 alice1 ext"

mark=$(ns_log_mark)
login alice "$r"
check "block 1: the replay is refused" refused
check "block 1: the replay was asked the next challenge" prompt_is "$c2"
check "block 1: the failure is logged in the documented form" logged_since "$mark" \
	'pam_otp\(sshd:auth\): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127\.0\.0\.1  user=alice$'
check "block 1: with its reason on a line of its own" logged_since "$mark" \
	'pam_otp\(sshd:auth\): user alice: one-time password does not verify$'

login alice "$(response "$c2" "$WRONG")"
check "block 1: a wrong response is refused" refused
check "block 1: a refusal uses nothing up" test "$(challenge alice)" = "$c2"
login alice "$(response "$c2")"
check "block 1: then the right one logs in" got_in alice

login carol "$(response "otp-md5 99 carol ext")"
check "block 1: a user without a key sees a challenge-like prompt" fake_prompt
check "block 1: and is refused" refused
login nosuchuser "$(response "otp-md5 99 nosuch ext")"
check "block 1: a name sshd does not know sees a challenge-like prompt" fake_prompt
check "block 1: and is refused" refused
no_secret_logged() {
	! grep -Eq "$(echo "$r" | sed 's/ /.*/g')" "$NS/syslog" &&
	! grep -qF -e "$PASS" -e "$BOBPW" -e "$CAROLPW" "$NS/syslog"
}
check "block 1: no response, pass phrase or password in any log line" no_secret_logged
ns_stop "$(cat "$NS/kbd.pid")"

# ---- publickey, then keyboard-interactive (AuthenticationMethods)
ssh-keygen -q -t ed25519 -N '' -f "$NS/ssh/alice_key"
# sshd's StrictModes refuses key files under /tmp: this one is in the namespace's /etc.
cp "$NS/ssh/alice_key.pub" "$(ns_etc ssh/authorized_keys/alice)"
ns_sshd pk "AuthenticationMethods publickey,keyboard-interactive" \
	"AuthorizedKeysFile /etc/ssh/authorized_keys/%u"
KEY="-o PreferredAuthentications=publickey,keyboard-interactive -o PubkeyAuthentication=yes -o IdentitiesOnly=yes -i $NS/ssh/alice_key"
c=$(challenge alice)
# shellcheck disable=SC2086
login alice "$(response "$c")" $KEY
check "publickey+kbd: with the key, the prompt shows the predicted challenge" prompt_is "$c"
check "publickey+kbd: the key and the right response log in" got_in alice
# shellcheck disable=SC2086
login alice "$(response "$c")" $KEY
check "publickey+kbd: the key and the replay are refused" refused
c=$(challenge alice)
: > "$T"
echo eof | ns_ssh "$T" alice 'id -un' 2> "$T.err"
rc=$?
check "publickey+kbd: without the key no challenge is shown" no_challenge
check "publickey+kbd: and the login is refused" refused
check "publickey+kbd: which used nothing up" test "$(challenge alice)" = "$c"
ns_stop "$(cat "$NS/pk.pid")"

# ---- block 2: the password, then the OTP
stanza sshd 2 /etc/pam.d/sshd
ns_sshd both
# both USER PASSWORD RESPONSE: the two prompts of block 2.
both() {
	: > "$T"
	{ ns_answer 'Password: ' "$2" 'Response: ' "$3"; echo eof; } | ns_ssh "$T" "$1" 'id -un' 2> "$T.err"
	rc=$?
}
c=$(challenge bob)
both bob "$BOBPW" "$(response "$c")"
check "block 2: the password, then the predicted challenge" prompt_is "$c"
check "block 2: both right log in" got_in bob
c=$(challenge bob)
both bob "$BOBPW" "$(response "$c" "$WRONG")"
check "block 2: the right password and a wrong response are refused" refused
: > "$T"
printf 'expect Password: $\nsend %s\neof\n' "not bob's password" | ns_ssh "$T" bob 'id -un' 2> "$T.err"
rc=$?
check "block 2: a wrong password is refused" refused
check "block 2: before any challenge" no_challenge
check "block 2: and uses nothing up" test "$(challenge bob)" = "$c"
both carol "$CAROLPW" "$(response "otp-md5 99 carol ext")"
check "block 2: a user without a key is asked a challenge after the password" fake_prompt
check "block 2: and refused" refused
ns_stop "$(cat "$NS/both.pid")"

# ---- contrib/pam.d/README: trusted networks.  127.0.0.2 stands for the
# trusted network; logins from 127.0.0.1 come from elsewhere.
sed -n 's/^  \(auth\|@include\)/\1/p' "$OTP_SRC/contrib/pam.d/README" |
	sed "s|pam_otp\\.so|$MOD db=$DB|; s|accessfile=/etc/security/otp-trusted.conf|accessfile=$(ns_etc security/otp-trusted.conf)|" \
	> "$NS/stanza.trusted"
sed -n 's/^  \([+-] :\)/\1/p' "$OTP_SRC/contrib/pam.d/README" | sed 's|192\.0\.2\.0/24|127.0.0.2|' \
	> "$NS/etc/security/otp-trusted.conf"
awk -v f="$NS/stanza.trusted" '/^@include[ \t]+common-auth/ { while ((getline l < f) > 0) print l; next } { print }' \
	/etc/pam.d/sshd > "$NS/etc/pam.d/sshd"
ns_sshd trusted "ListenAddress 127.0.0.1"
: > "$T"
printf 'expect Password: $\nsend %s\neof\n' "$BOBPW" | ns_ssh "$T" bob -b 127.0.0.2 'id -un' 2> "$T.err"
rc=$?
check "trusted networks: from a trusted address the password alone logs in" got_in bob
check "trusted networks: and no challenge is asked" no_challenge
c=$(challenge bob)
login bob "$(response "$c")"
check "trusted networks: from elsewhere the predicted challenge is asked" prompt_is "$c"
check "trusted networks: its answer logs in" got_in bob
check "trusted networks: and no password is asked" no_password
login bob "$(response "$(challenge bob)" "$WRONG")"
check "trusted networks: from elsewhere a wrong answer is refused" refused
check "trusted networks: with no password asked after it" no_password
ns_stop "$(cat "$NS/trusted.pid")"

# ---- warn= and the re-key notices with "ssh HOST COMMAND" (no pty): what
# PAM says after the last prompt reaches such a client only in sshd's
# post-authentication banner, which it sends or not depending on timing, so
# the warning belongs before the prompt, where keyboard-interactive shows it
# with the challenge.  dave has 7 one-time passwords left, fewer than warn=10.
stanza sshd 1 /etc/pam.d/sshd
ns_sshd notices
c=$(challenge dave)
: > "$T"
printf 'expect one-time passwords left\nexpect Response: $\nsend %s\neof\n' "$(response "$c" 2>/dev/null)" |
	PTYDRIVE_WAIT=5 ns_ssh "$T" dave 'id -un' 2> "$T.err"
rc=$?
check "warn: the low-key warning comes with the prompt, before the response is typed" got_in dave
# A dialogue given up leaves the challenge outstanding until lock_timeout.
"$OTPKEY" --db "$DB" unlock dave > /dev/null
c=$(challenge dave)
login dave "$(printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPCALC" -t init-word --new-seed dave2 "$c" 2>/dev/null)"
check "re-key: an init-word response over ssh HOST COMMAND logs in" got_in dave
check "re-key: the new key is in place" test "$(challenge dave)" = "otp-md5 498 dave2 ext"
# An init-word keeping both the seed and the pass phrase (which otpcalc will
# not make): refused, and the current one-time password is used up (RFC 2243 s4.3).
c=$(challenge dave)
login dave "init-word:$(response "$c"):md5 499 dave2:$(response "otp-md5 499 dave2")"
check "re-key refused: ssh HOST COMMAND shows why (sent before the failure)" \
	grep -q 'Re-initialisation refused; that one-time password is now used' "$T"
check "re-key refused: the login fails" refused
check "re-key refused: the one-time password is used up" test "$(challenge dave)" = "otp-md5 497 dave2 ext"
ns_stop "$(cat "$NS/notices.pid")"

ns_check_fail2ban "$(sed -n 's/^filter *= *//p' "$OTP_SRC/contrib/fail2ban/jail.d/pam-otp.conf")"
ns_check_fail2ban "pam-generic[__pam_auth=pam_otp]"
check "fail2ban: Debian's stock pam-generic matches none of them (as pam_otp(8) says)" \
	test "$(ns_f2b_matched pam-generic)" = 0
ns_stop_all
check "the host's /etc/pam.d, passwd, shadow, group, gshadow are unchanged" ns_host_unchanged
done_testing
