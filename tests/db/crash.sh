#!/bin/sh
# crash.sh - writers killed with SIGKILL at random instants: after each kill the
# database opens, every record is whole, and none is older than what was
# acknowledged, nor newer by more than one unacknowledged update per writer
# of that record (a writer's update is visible to the others once in the
# log, before its sync: it may be there though it was never acknowledged).
. "$OTP_SRC/tests/lib.sh"

DBS=$OTP_BUILD/tests/tools/dbstress
DB=$T_TMP/db/otpkeys.db
ROUNDS=${CRASH_ROUNDS:-300}
BUDGET=${CRASH_SECONDS:-120}   # stop early on a slow machine, still reporting
USERS="alpha beta"

for u in $USERS; do echo 0 > "$T_TMP/floor.$u"; done
: > "$T_TMP/inserted"
rounds=0 ahead=0 opened=0 whole=0 fresh=0 inserts_ok=0 kills_mid=0
start=$(date +%s)

while [ "$rounds" -lt "$ROUNDS" ] && [ $(( $(date +%s) - start )) -lt "$BUDGET" ]; do
	r=$rounds
	# Two writers on one user, one on the other, and an inserter of new
	# users (growing the file: bucket splits, directory doubling).
	"$DBS" incr "$DB" alpha 1000000 > "$T_TMP/ack.a1" 2>/dev/null & p1=$!
	"$DBS" incr "$DB" alpha 1000000 > "$T_TMP/ack.a2" 2>/dev/null & p2=$!
	"$DBS" incr "$DB" beta 1000000 > "$T_TMP/ack.b" 2>/dev/null & p3=$!
	"$DBS" insert "$DB" "r${r}x" 1000000 > "$T_TMP/ack.i" 2>/dev/null & p4=$!
	# Odd rounds first let the writers get going (a slow, sanitised build
	# may take longer than 20 ms just to start), so that most kills land
	# mid-stream; even rounds may kill them while still starting.
	if [ $((r % 2)) -eq 1 ]; then
		w=0
		while [ ! -s "$T_TMP/ack.a1" ] && [ ! -s "$T_TMP/ack.a2" ] && [ ! -s "$T_TMP/ack.b" ] &&
		      [ "$w" -lt 500 ]; do
			sleep 0.001
			w=$((w + 1))
		done
	fi
	ms=$(( $(od -An -N2 -tu2 /dev/urandom) % 21 ))
	sleep "$(printf '0.%03d' "$ms")"
	kill -9 $p1 $p2 $p3 $p4 2>/dev/null
	wait $p1 $p2 $p3 $p4 2>/dev/null
	[ -s "$T_TMP/ack.a1" ] || [ -s "$T_TMP/ack.a2" ] || [ -s "$T_TMP/ack.b" ] &&
		kills_mid=$((kills_mid + 1))
	rounds=$((rounds + 1))

	# A fresh reader: opens, reads the log over the base, checks every record.
	if ! "$DBS" dump "$DB" > "$T_TMP/dump" 2> "$T_TMP/dump.err"; then
		if [ "$r" -eq 0 ] && grep -q 'does not exist' "$T_TMP/dump.err"; then
			opened=$((opened + 1)) whole=$((whole + 1)) fresh=$((fresh + 1)) inserts_ok=$((inserts_ok + 1))
			continue   # killed before the database was ever made
		fi
		diag "round $r: dump failed: $(cat "$T_TMP/dump.err")"
		break
	fi
	opened=$((opened + 1))
	grep -q INCONSISTENT "$T_TMP/dump" && { diag "round $r: torn record"; break; }
	whole=$((whole + 1))

	ok_round=1
	for u in $USERS; do
		case $u in
		alpha) last=$(cat "$T_TMP/ack.a1" "$T_TMP/ack.a2" | sort -n | tail -n 1) writers=2 ;;
		*)     last=$(tail -n 1 "$T_TMP/ack.b") writers=1 ;;
		esac
		floor=$(cat "$T_TMP/floor.$u")
		[ -n "$last" ] && [ "$last" -gt "$floor" ] && floor=$last
		got=$(awk -v u="$u" '$1 == u { print $2 }' "$T_TMP/dump")
		[ -n "$got" ] || got=0
		if [ "$got" -lt "$floor" ] || [ "$got" -gt $((floor + writers)) ]; then
			diag "round $r: $u is $got, acknowledged $floor"
			ok_round=0
		fi
		[ "$got" -gt "$floor" ] && ahead=$((ahead + 1))
		# What a reader has seen is durable now: it is the next floor.
		echo "$got" > "$T_TMP/floor.$u"
	done
	[ "$ok_round" -eq 1 ] && fresh=$((fresh + 1))

	cat "$T_TMP/ack.i" >> "$T_TMP/inserted"
	awk '{ print $1 }' "$T_TMP/dump" | sort > "$T_TMP/present"
	missing=$(sort "$T_TMP/inserted" | comm -23 - "$T_TMP/present" | head -n 3)
	if [ -z "$missing" ]; then
		inserts_ok=$((inserts_ok + 1))
	else
		diag "round $r: acknowledged inserts missing: $missing"
	fi
	[ "$ok_round" -eq 1 ] && [ -z "$missing" ] || break
done

diag "$rounds rounds in $(( $(date +%s) - start ))s; $kills_mid killed after an acknowledged update;" \
     "$ahead times a user was unacknowledged updates ahead;" \
     "$(wc -l < "$T_TMP/inserted") users inserted"
check "ran at least 100 rounds (of $ROUNDS)" [ "$rounds" -ge 100 ]
check "database opened after every kill ($opened/$rounds)" [ "$opened" -eq "$rounds" ]
check "every record whole after every kill ($whole/$rounds)" [ "$whole" -eq "$rounds" ]
check "no record older than acknowledged, none ahead by more than one per writer ($fresh/$rounds)" \
	[ "$fresh" -eq "$rounds" ]
check "every acknowledged insert present ($inserts_ok/$rounds)" [ "$inserts_ok" -eq "$rounds" ]
check "most kills landed after some acknowledged update" [ "$kills_mid" -ge $((rounds / 4)) ]

done_testing
