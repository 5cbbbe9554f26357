#!/bin/sh
# demo.sh - what the README says make demo does: a sheet user logs in through
# libpam with the sheet's first line, the replay fails, and nothing outside a
# temporary directory is touched.
. "$OTP_SRC/tests/lib.sh"

if [ "${OTP_SANITIZE:-0}" = 1 ]; then
	# The demo drives Debian's pamtester, which cannot load an ASan-built module.
	ok "# SKIP the demo runs on the plain build only"
	done_testing
	exit 0
fi

sum_pamd() { find /etc/pam.d -type f -exec cat {} + 2>/dev/null | cksum; }
before=$(sum_pamd)
TMPDIR=$T_TMP timeout 120 sh "$OTP_SRC/scripts/demo.sh" > "$T_TMP/demo.out" 2>&1
check "the demo runs to the end" test $? -eq 0
check "it prints a paper sheet" grep -Eq '^ 498: [A-Z]+( [A-Z]+){5}$' "$T_TMP/demo.out"
check "the first line logs in" grep -q 'Response: pamtester: successfully authenticated' "$T_TMP/demo.out"
check "the replay is refused" grep -q 'Response: pamtester: Authentication failure' "$T_TMP/demo.out"
check "the state on disk moved to 497" grep -q '^otp-md5 497 [a-z]*[0-9]* ext$' "$T_TMP/demo.out"
check "its temporary directory is gone" sh -c "! ls -d '$T_TMP'/otp-demo.* 2>/dev/null | grep -q ."
check "/etc/pam.d is unchanged" test "$(sum_pamd)" = "$before"

done_testing
