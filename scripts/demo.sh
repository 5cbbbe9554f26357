#!/bin/sh
# demo.sh - the main job end to end: a private sshd on 127.0.0.1 in a mount
# namespace with pam_otp (contrib/pam.d/sshd, block 1), a user enrolled with
# a random-secret paper sheet logging in with the real ssh client and the
# sheet's first line, and the replay refused.  Every file it uses lives in a
# temporary directory; the host's PAM files and accounts are checked unchanged.
set -eu

: "${OTP_BUILD:?run me through make demo}"
: "${OTP_SRC:?run me through make demo}"
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	echo "demo: needs root and mount namespaces (unshare -m), for a private sshd" >&2
	exit 1
fi
NS=$(mktemp -d "${TMPDIR:-/tmp}/otp-demo.XXXXXX")
. "$OTP_SRC/tests/consumers/ns.sh.inc"
trap 'ns_stop_all; rm -rf "$NS"' EXIT
trap 'exit 130' INT TERM
T="$NS/transcript"

step() { printf '\n=== %s\n' "$*"; }
# ssh_demo RESPONSE: ssh demo@127.0.0.1 'echo ...', answering the prompt.
ssh_demo() {
	: > "$T"
	set +e
	{ ns_answer 'Response: ' "$1"; echo eof; } |
		ns_ssh "$T" demo 'echo "logged in as $(id -un) on $(hostname)"' 2> "$T.err"
	rc=$?
	set -e
	grep -v '^Warning: Permanently added' "$T" | tr -d '\r'
	echo "(ssh exited with status $rc)"
}

step "a private mount namespace: copies of /etc/pam.d, passwd, shadow, group; /dev/log is ours"
ns_init
ns_user demo 2099
stanza sshd 1 /etc/pam.d/sshd
grep -v '^#' "$NS/etc/pam.d/sshd" | grep pam_otp

step "otpkey init --sheet: a random secret nobody sees; the sheet is all the user gets"
"$OTPKEY" --db "$DB" init --sheet -c 10 demo | tee "$NS/sheet"
first=$(sed -n 's/^ *[0-9][0-9]*: //p' "$NS/sheet" | head -n 1)

step "the real sshd on 127.0.0.1, keyboard-interactive through pam_otp"
ns_sshd demo
echo "sshd listening on 127.0.0.1:$SSHD_PORT (pid $(cat "$NS/demo.pid"))"

step "ssh demo@127.0.0.1, answering the challenge with the sheet's first line"
echo "(the user types: $first)"
ssh_demo "$first"

step "the same line again: a replay"
ssh_demo "$first"

step "what pam_otp logged (authpriv, read from our /dev/log)"
grep 'pam_otp' "$NS/syslog" | sed 's/^.*localhost //'

step "otpkey info demo: the next challenge and the state on disk"
"$OTPKEY" --db "$DB" info demo

ns_stop_all
if ns_host_unchanged; then
	step "done: the host's /etc/pam.d, passwd, shadow and group are unchanged; the temporary directory goes"
else
	step "the host's PAM files or accounts changed"
	exit 1
fi
