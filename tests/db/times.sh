#!/bin/sh
# times.sh - the store never asks for the times of the files it writes at
# every login (the log, the lock file).  On Linux 6.13 and later a file
# whose times were asked for (stat, fstat, lstat) gets a finer time at its
# next write, so every login's write would change the log's inode, and
# fdatasync would write the inode too.  strace watches one login in a new
# process and three in one process that keeps its store open between them.
. "$OTP_SRC/tests/lib.sh"

if ! strace -f -o /dev/null true 2>/dev/null; then
	ok "# SKIP strace cannot trace here (ptrace not allowed)"
	done_testing
	exit 0
fi
printf 'auth required %s db=%s max_failures=0\n' "$MOD" "$DB" > "$CONF/otp"
printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPKEY" --db "$DB" init -n 99 -s times1 ku >/dev/null 2>&1
"$OTPKEY" --db "$DB" checkpoint

STATS=stat,lstat,fstat,newfstatat,statx
trace() { # FILE PAMDRIVE-ARGS...: the stat calls, with each descriptor's path
	out=$1; shift
	timeout 60 strace -f -y -qq -e trace=$STATS -o "$out" "$DRIVE" "$@" > /dev/null 2>&1 </dev/null
}
trace "$T_TMP/one" "$CONF" otp ku "WRONG WORD WRONG WORD"
trace "$T_TMP/kept" -k "$MOD" -b 30:3 "$CONF" otp ku 1 "WRONG WORD WRONG WORD"

for t in one kept; do
	# The calls that name the log or the lock file, by path or by descriptor.
	grep -E '\.(wal|lock)[>"]' "$T_TMP/$t" > "$T_TMP/$t.ours" || true
	n=$(grep -c 'statx(.*\.wal[>"]' "$T_TMP/$t.ours" || true)
	check "$t: the log's checks were traced ($n statx calls)" test "$n" -gt 0
	grep -vE '^[0-9]+ +statx\(' "$T_TMP/$t.ours" > "$T_TMP/$t.other" || true
	# statx's fourth argument is the mask of what it asks for.
	grep -E '^[0-9]+ +statx\(' "$T_TMP/$t.ours" | awk -F', ' '$4 ~ /TIME|BASIC_STATS|STATX_ALL/' \
		> "$T_TMP/$t.times"
	for f in other times; do
		[ -s "$T_TMP/$t.$f" ] && diag "$(cat "$T_TMP/$t.$f")"
	done
	check "$t: no stat of the log or the lock file asks for times" \
		test ! -s "$T_TMP/$t.other" -a ! -s "$T_TMP/$t.times"
done

done_testing
