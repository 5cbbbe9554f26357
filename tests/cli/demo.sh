#!/bin/sh
# demo.sh - what the README says make demo does: a private sshd on 127.0.0.1,
# the sheet user logging in with the real ssh client and the sheet's first
# line, the replay refused, and nothing outside a temporary directory touched.
. "$OTP_SRC/tests/lib.sh"

if [ "${OTP_SANITIZE:-0}" = 1 ]; then
	# The demo's sshd cannot load an ASan-built module.
	ok "# SKIP the demo runs on the plain build only"
	done_testing
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	ok "# SKIP the demo needs root and mount namespaces"
	done_testing
	exit 0
fi

sum_host() { find /etc/pam.d /etc/passwd /etc/shadow /etc/group -type f -exec cat {} + 2>/dev/null | cksum; }
before=$(sum_host)
TMPDIR=$T_TMP timeout 120 sh "$OTP_SRC/scripts/demo.sh" > "$T_TMP/demo.out" 2>&1
check "the demo runs to the end" test $? -eq 0
out() { grep -Eq -- "$1" "$T_TMP/demo.out"; }
check "it prints a paper sheet" out '^ 498: [A-Z]+( [A-Z]+){5}$'
check "the real sshd listens on 127.0.0.1" out '^sshd listening on 127\.0\.0\.1:[0-9]+ \(pid [0-9]+\)$'
check "ssh shows the challenge of the sheet's first line" out '^\(demo@127\.0\.0\.1\) otp-md5 498 [a-z]+[0-9]+ ext, Response: $'
check "the first line logs in over ssh" out '^logged in as demo on '
check "the replay is refused" sh -c "sed -n '/=== the same line again/,/ssh exited/p' '$T_TMP/demo.out' | grep -q 'Permission denied'"
check "the state on disk moved to 497" out '^otp-md5 497 [a-z]*[0-9]* ext$'
check "it says the host is unchanged" out "^=== done: the host's /etc/pam.d, passwd, shadow and group are unchanged"
check "its temporary directory is gone" sh -c "! ls -d '$T_TMP'/otp-demo.* 2>/dev/null | grep -q ."
check "/etc/pam.d, passwd, shadow and group are unchanged" test "$(sum_host)" = "$before"

done_testing
