#!/bin/sh
# ahead.sh - the base written ahead of its checkpoint, outside the store's
# lock: while logins run side by side, replacing records with ones of the
# same size, each time a quarter of the log more is durable the process
# that made it so writes those records into the base, so that the
# checkpoint under the lock has that much less to do; a process alone does
# not.  102 logins side by side fill less than half the log, short of any
# checkpoint, yet the base has changed; every user reads the same through
# the store before and after the checkpoint; and the checkpoint, which
# writes only what was not written ahead, leaves the base alone complete,
# also for users last seen in the part written ahead.  Power cuts with
# logins only, which write the base ahead, are powercut_ahead.sh.
. "$OTP_SRC/tests/lib.sh"

printf 'auth required %s db=%s max_failures=0\n' "$MOD" "$DB" > "$CONF/otp"
for u in a b c d e f z; do
	printf '%s\n%s\n' "$PASS" "$PASS" |
		"$OTPKEY" --db "$DB" init -n 999 -s ahead$u "${u}0" > /dev/null 2>&1 ||
		notok "enrol ${u}0"
done
"$OTPKEY" --db "$DB" checkpoint
before=$(sha256sum < "$DB")

# One process alone keeps nobody waiting: it leaves the base to the
# checkpoint (a run would only cost it one more sync of the base).
timeout 120 "$DRIVE" -b 60:100 "$CONF" otp z 1 "@$PASS" > "$T_TMP/alone" 2>&1
check "100 logins of one process alone accepted" grep -q 'ok 100 ' "$T_TMP/alone"
check "alone, the base is left as it is until the checkpoint" test "$(sha256sum < "$DB")" = "$before"
"$OTPKEY" --db "$DB" checkpoint
before=$(sha256sum < "$DB")

# Logins side by side (a process for each user, all at once, started a
# little apart), which is when the base is written ahead: 5 of each of a0
# to f0, then 18 of each of a0 to d0, about 29 KiB of the log's 64 KiB,
# past a quarter of it, with e0's and f0's last entries in that quarter
# (the checkpoint before them left the log empty).
drive() { # LOGINS-EACH USER-PREFIX...
	n=$1
	shift
	for p in "$@"; do
		timeout 120 "$DRIVE" -b "60:$n" "$CONF" otp "$p" 1 "@$PASS" > "$T_TMP/d.$p" 2>&1 &
		sleep 0.01
	done
	wait
	cat "$T_TMP"/d.* | awk '{ ok += $4 } END { print ok }'
	rm -f "$T_TMP"/d.*
}
check "30 logins accepted" test "$(drive 5 a b c d e f)" -eq 30
check "72 more accepted" test "$(drive 18 a b c d)" -eq 72
check "the base was written before the log was full" test "$(sha256sum < "$DB")" != "$before"

"$OTPKEY" --db "$DB" list > "$T_TMP/list1"
check "each user's next sequence number is right" \
	test "$(awk '{ print $1, $3 }' "$T_TMP/list1" | sort | paste -sd' ')" = \
	"a0 975 b0 975 c0 975 d0 975 e0 993 f0 993 z0 898"
"$OTPKEY" --db "$DB" checkpoint
"$OTPKEY" --db "$DB" list > "$T_TMP/list2"
check "the same after the checkpoint" cmp -s "$T_TMP/list1" "$T_TMP/list2"

# The base alone, as a backup is taken: a copy without its log and lock file.
mkdir -m 700 "$T_TMP/copy"
cp "$DB" "$T_TMP/copy/otpkeys.db"
"$OTPKEY" --db "$T_TMP/copy/otpkeys.db" list > "$T_TMP/list3"
check "the base alone holds every login" cmp -s "$T_TMP/list1" "$T_TMP/list3"

done_testing
