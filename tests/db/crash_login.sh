#!/bin/sh
# crash_login.sh - real logins (pamdrive through pam_otp and verify.c) killed
# with SIGKILL at random instants, hundreds of times.  After each kill the
# database opens, no user's state is older than an acknowledged login (nor
# more than that one login newer), and a response the store has consumed is
# refused when replayed.
. "$OTP_SRC/tests/lib.sh"

ROUNDS=${CRASH_ROUNDS:-400}
BUDGET=${CRASH_SECONDS:-120}
USERS="ka kb"
printf 'auth required %s db=%s max_failures=0\naccount required pam_permit.so\n' "$MOD" "$DB" \
	> "$CONF/otp"

next_of() { "$OTPKEY" --db "$DB" info "$1" 2>/dev/null | sed -n '1s/^otp-md5 \([0-9]*\) .*/\1/p'; }
for u in $USERS; do
	printf '%s\n%s\n' "$PASS" "$PASS" |
		"$OTPKEY" --db "$DB" init -a md5 -n 5000 -s "${u}1" "$u" >/dev/null 2>&1
	next_of "$u" > "$T_TMP/next.$u"
done

# How long one login takes here: kills are spread over that span and a bit more.
t0=$(date +%s%N)
"$DRIVE" "$CONF" otp ka "@$PASS" > /dev/null 2>&1 </dev/null
span=$(( ($(date +%s%N) - t0) / 1000000 * 3 / 2 + 1 ))
next_of ka > "$T_TMP/next.ka"

rounds=0 opened=0 fresh=0 replays=0 replay_ok=0 acked=0 unacked_moved=0 untouched=0
start=$(date +%s)
while [ "$rounds" -lt "$ROUNDS" ] && [ $(( $(date +%s) - start )) -lt "$BUDGET" ]; do
	"$DRIVE" "$CONF" otp ka "@$PASS" > "$T_TMP/out.ka" 2>&1 </dev/null & p1=$!
	"$DRIVE" "$CONF" otp kb "@$PASS" > "$T_TMP/out.kb" 2>&1 </dev/null & p2=$!
	ms=$(( $(od -An -N2 -tu2 /dev/urandom) % span ))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -9 $p1 $p2 2>/dev/null
	wait $p1 $p2 2>/dev/null
	rounds=$((rounds + 1))

	# The store opens and every record reads, as a fresh process sees it.
	if ! "$OTPKEY" --db "$DB" list > "$T_TMP/list" 2>&1 ||
	   [ "$(wc -l < "$T_TMP/list")" -ne 2 ]; then
		diag "round $rounds: list failed: $(cat "$T_TMP/list")"
		break
	fi
	opened=$((opened + 1))
	# A login killed mid-way may hold its challenge mark: an administrator's unlock frees it.
	for u in $USERS; do
		grep -q '^RESULT:' "$T_TMP/out.$u" || "$OTPKEY" --db "$DB" unlock "$u" >/dev/null 2>&1
	done

	ok_round=1
	for u in $USERS; do
		before=$(cat "$T_TMP/next.$u")
		now=$(next_of "$u")
		seen=$(sed -n 's/^PROMPT: otp-md5 \([0-9]*\) .*/\1/p' "$T_TMP/out.$u")
		if grep -q '^RESULT: 0 ' "$T_TMP/out.$u"; then
			acked=$((acked + 1))
			# Acknowledged: the state is past it, exactly one step.
			[ "$now" -eq $((seen - 1)) ] && [ "$seen" -eq "$before" ] || {
				diag "round $rounds: $u acknowledged $seen, before $before, now $now"; ok_round=0; }
		elif [ "$now" -eq $((before - 1)) ]; then
			unacked_moved=$((unacked_moved + 1))   # done, killed before it said so
		elif [ "$now" -eq "$before" ]; then
			untouched=$((untouched + 1))
		else
			diag "round $rounds: $u went from $before to $now"
			ok_round=0
		fi
		# Whatever the store consumed must not be accepted again.
		if [ -n "$now" ] && [ "$now" -lt "$before" ]; then
			replays=$((replays + 1))
			r=$(printf '%s\n' "$PASS" | "$OTPCALC" -a md5 "$before" "${u}1" 2>/dev/null)
			"$DRIVE" "$CONF" otp "$u" "$r" > "$T_TMP/replay" 2>&1 </dev/null
			rc=$?
			if [ "$rc" -eq 7 ]; then
				replay_ok=$((replay_ok + 1))
			else
				diag "round $rounds: replay of $u's $before gave $rc"
				ok_round=0
			fi
		fi
		echo "$now" > "$T_TMP/next.$u"
	done
	[ "$ok_round" -eq 1 ] || break
	fresh=$((fresh + 1))
done

diag "$rounds rounds in $(( $(date +%s) - start ))s (kills spread over ${span} ms):" \
     "$acked acknowledged logins, $unacked_moved consumed but killed before saying so," \
     "$untouched killed before consuming; $replays replays"
check "ran at least 100 rounds (of $ROUNDS)" [ "$rounds" -ge 100 ]
check "the store opened with both records after every kill ($opened/$rounds)" [ "$opened" -eq "$rounds" ]
check "no state older than acknowledged, none more than one login ahead ($fresh/$rounds)" \
	[ "$fresh" -eq "$rounds" ]
check "every consumed response refused when replayed ($replay_ok/$replays)" [ "$replay_ok" -eq "$replays" ]
check "kills landed at every stage: before, during and after the update" \
	[ "$acked" -gt 0 -a "$untouched" -gt 0 ]

done_testing
