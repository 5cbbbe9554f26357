#!/bin/sh
# concurrency.sh - many processes updating the key database at once: no lost
# update, no torn record, no spurious error.
. "$OTP_SRC/tests/lib.sh"

DBS=$OTP_BUILD/tests/tools/dbstress
DB=$T_TMP/db/otpkeys.db
PROCS=${DB_PROCS:-20}
INCR=${DB_INCR:-100}
half=$((PROCS / 2))

# The database exists before the readers start: one user made up front.
"$DBS" insert "$DB" pre 1 > /dev/null || { notok "create the database"; done_testing; exit 1; }

# Half the writers share one user; the others each have their own.
i=0
while [ "$i" -lt "$PROCS" ]; do
	if [ "$i" -lt "$half" ]; then user=shared; else user=own$i; fi
	timeout 120 "$DBS" incr "$DB" "$user" "$INCR" > "$T_TMP/ack.$i" 2> "$T_TMP/err.$i" &
	i=$((i + 1))
done
# Readers run alongside: each read must see every record whole.
for r in 1 2 3; do
	(
		n=0
		while [ "$n" -lt 40 ]; do
			"$DBS" dump "$DB" 2>&1 | grep -v '^[a-z0-9]* [0-9]*$' || true
			n=$((n + 1))
		done
	) > "$T_TMP/reader.$r" 2>&1 &
done
wait

i=0 errs=0 unordered=0
while [ "$i" -lt "$PROCS" ]; do
	[ -s "$T_TMP/err.$i" ] && { errs=$((errs + 1)); diag "writer $i: $(cat "$T_TMP/err.$i")"; }
	# Each writer's own acknowledgements only ever grow.
	sort -n -c "$T_TMP/ack.$i" 2>/dev/null || unordered=$((unordered + 1))
	i=$((i + 1))
done
check "no writer reported an error" [ "$errs" -eq 0 ]
check "each writer's acknowledged values increase" [ "$unordered" -eq 0 ]

shared_acks=$(i=0; while [ "$i" -lt "$half" ]; do cat "$T_TMP/ack.$i"; i=$((i + 1)); done | sort -n)
want=$(seq 1 $((half * INCR)))
check "shared user: every value 1..$((half * INCR)) acknowledged exactly once" \
	[ "$shared_acks" = "$want" ]
check "shared user: final count $((half * INCR))" \
	[ "$("$DBS" get "$DB" shared)" = "$((half * INCR))" ]

bad=0
i=$half
while [ "$i" -lt "$PROCS" ]; do
	got=$("$DBS" get "$DB" "own$i")
	[ "$got" = "$INCR" ] || { bad=$((bad + 1)); diag "own$i: $got, want $INCR"; }
	i=$((i + 1))
done
check "own users: each final count $INCR" [ "$bad" -eq 0 ]

"$DBS" dump "$DB" > "$T_TMP/dump" 2> "$T_TMP/dump.err"
rc=$?
check "every record decodes and is whole" \
	test "$rc" -eq 0 -a ! -s "$T_TMP/dump.err" -a "$(grep -c INCONSISTENT "$T_TMP/dump")" -eq 0
check "dump lists exactly the $((PROCS - half + 2)) users" \
	[ "$(wc -l < "$T_TMP/dump")" -eq $((PROCS - half + 2)) ]
cat "$T_TMP"/reader.* > "$T_TMP/readers"
check "readers saw no error or torn record" [ ! -s "$T_TMP/readers" ]
[ -s "$T_TMP/readers" ] && diag "$(head -5 "$T_TMP/readers")"
check "journal empty after the run" [ ! -s "$DB.journal" ]

done_testing
