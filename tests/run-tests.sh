#!/bin/sh
# run-tests.sh - run test programs that speak TAP; end with "N passed, N failed".
# Usage: tests/run-tests.sh TEST...   (each an executable: a cmocka binary or a script)
# A test that exits non-zero without reporting a failure, or reports no result
# at all, counts as one failure.
set -u

: "${TEST_TIMEOUT:=600}"
passed=0
failed=0
skipped=0
logdir=${TEST_LOGDIR:-${TMPDIR:-/tmp}}
mkdir -p "$logdir" || { echo "run-tests.sh: cannot make $logdir" >&2; exit 2; }
for t in "$@"; do
	name=$(basename "$t")
	log="$logdir/$name.log"
	if ! : > "$log"; then
		echo "run-tests.sh: cannot write $log" >&2
		exit 2
	fi
	CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 "$TEST_TIMEOUT" "$t" > "$log" 2>&1
	rc=$?
	p=$(grep -v '# [Ss][Kk][Ii][Pp]' "$log" | grep -c '^ok ')
	s=$(grep '^ok ' "$log" | grep -c '# [Ss][Kk][Ii][Pp]')
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >> "$log"
	elif [ $((p + s + f)) -eq 0 ]; then
		f=1
		echo "not ok - $name reported no result" >> "$log"
	fi
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name: $p passed, $f failed (log follows)"
		grep -v '^ok ' "$log" | head -n 60
	else
		if [ "$s" -gt 0 ]; then
			echo "ok   $name: $p passed, $s skipped"
		else
			echo "ok   $name: $p passed"
		fi
	fi
done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
