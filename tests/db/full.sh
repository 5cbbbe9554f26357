#!/bin/sh
# full.sh - a disk with no room for a copy of the base: a checkpoint that adds
# users (which writes a copy and renames it in) writes in place after all, so
# that enrolments and updates go on, and nothing acknowledged is lost.  The
# store lives on a small tmpfs in a private mount namespace.
. "$OTP_SRC/tests/lib.sh"

DBS=$OTP_BUILD/tests/tools/dbstress
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	ok "# SKIP needs root and mount namespaces (a private tmpfs)"
	done_testing
	exit 0
fi
FS=$T_TMP/fs
mkdir -p "$FS"

# In the namespace (8 MiB, of which the lock file takes 2.7): 3,000 users,
# the disk filled to within 256 KiB (the base
# is ~1.5 MiB), then 300 more users (each checkpoint with them adds users)
# and 300 updates of one user; then every user read back.
unshare -m sh -eu -c '
	FS=$1 DBS=$2
	mount -t tmpfs -o size=8m,mode=0700 otp-full "$FS"
	mkdir -m 700 "$FS/db"
	DB=$FS/db/otpkeys.db
	"$DBS" insert "$DB" a 3000 > "$FS/../inserted.a"
	avail=$(df -k --output=avail "$FS" | tail -n 1)
	dd if=/dev/zero of="$FS/filler" bs=1k count=$((avail - 256)) 2>/dev/null
	df -k --output=avail "$FS" | tail -n 1 > "$FS/../avail"
	ls -l "$DB" | awk "{ print \$5 }" > "$FS/../basesize"
	stat -c "%b %B %s" "$DB.lock" > "$FS/../lockblocks"
	"$DBS" insert "$DB" b 300 > "$FS/../inserted.b" 2> "$FS/../insert.err" || echo $? > "$FS/../insert.rc"
	"$DBS" bench "$DB" a7 300 > /dev/null 2> "$FS/../bench.err" || echo $? > "$FS/../bench.rc"
	"$DBS" dump "$DB" > "$FS/../dump" 2> "$FS/../dump.err" || echo $? > "$FS/../dump.rc"
	ls "$FS/db" > "$FS/../files"
	umount "$FS"
' sh "$FS" "$DBS" > "$T_TMP/ns.out" 2>&1 || diag "namespace: $(cat "$T_TMP/ns.out")"
check "the namespace ran to the end" [ -s "$T_TMP/files" ]
diag "free after filling: $(cat "$T_TMP/avail" 2>/dev/null) KiB; base: $(cat "$T_TMP/basesize" 2>/dev/null) bytes"
check "the disk had no room for a copy of the base" \
	[ "$(($(cat "$T_TMP/avail") * 1024))" -lt "$(cat "$T_TMP/basesize")" ]
# Sparse, a page of the lock file first touched now would kill the process.
check "the lock file's blocks are reserved, not sparse" \
	awk '{ exit !($1 * $2 >= $3) }' "$T_TMP/lockblocks"
check "300 more users enrolled with the disk full (acknowledged)" \
	[ ! -e "$T_TMP/insert.rc" -a "$(wc -l < "$T_TMP/inserted.b")" -eq 300 ]
[ -e "$T_TMP/insert.rc" ] && diag "insert: $(cat "$T_TMP/insert.err")"
check "300 updates of a user with the disk full" [ ! -e "$T_TMP/bench.rc" ]
[ -e "$T_TMP/bench.rc" ] && diag "updates: $(cat "$T_TMP/bench.err")"
check "the store reads back whole" [ ! -e "$T_TMP/dump.rc" -a "$(grep -c INCONSISTENT "$T_TMP/dump")" -eq 0 ]
awk '{ print $1 }' "$T_TMP/dump" | sort > "$T_TMP/present"
cat "$T_TMP/inserted.a" "$T_TMP/inserted.b" | sort > "$T_TMP/acked"
check "every acknowledged user is there ($(wc -l < "$T_TMP/acked"))" \
	[ -z "$(comm -23 "$T_TMP/acked" "$T_TMP/present" | head -n 1)" ]
check "no copy of the base left behind" [ "$(grep -c '\.new$' "$T_TMP/files")" -eq 0 ]

done_testing
