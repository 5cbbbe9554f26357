#!/bin/sh
# ahead.sh - the base written ahead of its checkpoint, outside the store's
# lock: logins side by side replace records with ones of the same size, and
# once a quarter of the log more is durable, the process that made it so writes
# those records into the base, so that the checkpoint under the lock has
# that much less to do.  100 logins fill less than half the log, short of
# any checkpoint, yet the base has changed; every user reads the same
# through the store before and after the checkpoint; and the checkpoint
# that follows, which writes only what was not written ahead, leaves the
# base alone complete, also for users last seen in the part written ahead.
# Power cuts with logins only, which write the base ahead, are
# powercut_ahead.sh.
. "$OTP_SRC/tests/lib.sh"

printf 'auth required %s db=%s max_failures=0\n' "$MOD" "$DB" > "$CONF/otp"
for u in a b c d; do
	printf '%s\n%s\n' "$PASS" "$PASS" |
		"$OTPKEY" --db "$DB" init -n 999 -s ahead$u "${u}0" > /dev/null 2>&1 ||
		notok "enrol ${u}0"
done
"$OTPKEY" --db "$DB" checkpoint
before=$(sha256sum < "$DB")

# Logins side by side (a process for each user, all at once, started a
# little apart), which is when the base is written ahead: 5 of each of a0
# to d0, then 40 of each of a0 and b0, about 28 KiB of the log's 64 KiB,
# past a quarter of it, with c0's and d0's last entries in that quarter.
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
check "20 logins accepted" test "$(drive 5 a b c d)" -eq 20
check "80 more accepted" test "$(drive 40 a b)" -eq 80
check "the base was written before the log was full" test "$(sha256sum < "$DB")" != "$before"

"$OTPKEY" --db "$DB" list > "$T_TMP/list1"
check "each user's next sequence number is right (953, 953, 993, 993)" \
	test "$(awk '{ print $1, $3 }' "$T_TMP/list1" | sort | paste -sd' ')" = "a0 953 b0 953 c0 993 d0 993"
"$OTPKEY" --db "$DB" checkpoint
"$OTPKEY" --db "$DB" list > "$T_TMP/list2"
check "the same after the checkpoint" cmp -s "$T_TMP/list1" "$T_TMP/list2"

# The base alone, as a backup is taken: a copy without its log and lock file.
mkdir -m 700 "$T_TMP/copy"
cp "$DB" "$T_TMP/copy/otpkeys.db"
"$OTPKEY" --db "$T_TMP/copy/otpkeys.db" list > "$T_TMP/list3"
check "the base alone holds every login" cmp -s "$T_TMP/list1" "$T_TMP/list3"

done_testing
