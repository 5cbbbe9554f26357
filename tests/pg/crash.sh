#!/bin/sh
# crash.sh - the PostgreSQL server killed (pg_ctl stop -m immediate) during a
# storm of logins on two hosts, each response tried four times at once (twice on
# each host), then restarted: no response is accepted twice, every accepted one
# is in the store after the crash (none accepted without its commit), the
# logins meanwhile are refused with PAM_AUTHINFO_UNAVAIL, and logins go on after.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/pg/env.sh.inc"
pg_skip_unless_ready

W=4             # users, one worker each
pg_init || { notok "the private PostgreSQL cluster starts"; done_testing; exit 1; }
"$OTPKEY" --db "$ADMIN_URI" create >/dev/null && grant_login otp_login
i=0
while [ $i -lt $W ]; do pg_enrol "$ADMIN_URI" "c$i" 400 "crash$i"; i=$((i + 1)); done
# No lockout from the losers' failures; abandoned challenges soon expire.
pg_service a "$HOST_A" max_failures=0 challenge_ttl=5
pg_service b "$HOST_B" max_failures=0 challenge_ttl=5

# worker N: until the stop file (or 1000 rounds): the challenge otpkey predicts
# (while the store cannot be read, the last one again), its response tried on
# A, A, B, B at once; one line per round in $T_TMP/wN: "SEQ RC RC RC RC".
worker() {
	n=$1 round=0 seq=""
	while [ ! -e "$T_TMP/stop" ] && [ $round -lt 1000 ]; do
		round=$((round + 1))
		s=$(pg_first "c$n" | sed -n 's/^otp-md5 \([0-9]*\) .*/\1/p')
		seq=${s:-$seq}
		r=$(response md5 "$seq" "crash$n")
		for h in a a b b; do
			timeout 60 "$DRIVE" "$CONF" $h "c$n" "$r" > /dev/null 2>&1 </dev/null &
			echo $! >> "$T_TMP/w$n.pids"
		done
		line=$seq
		for p in $(cat "$T_TMP/w$n.pids"); do
			wait "$p"
			line="$line $?"
		done
		: > "$T_TMP/w$n.pids"
		echo "$line" >> "$T_TMP/w$n"
	done
}
successes() { cat "$T_TMP"/w[0-9] 2>/dev/null | awk '{ for (i = 2; i <= NF; i++) if ($i == 0) n++ } END { print n + 0 }'; }
refusals() { cat "$T_TMP"/w[0-9] 2>/dev/null | awk '{ for (i = 2; i <= NF; i++) if ($i == 9) n++ } END { print n + 0 }'; }
# until_at_least N CMD: wait (at most 120 s) until CMD prints a number >= N.
until_at_least() {
	want=$1; shift
	i=0
	until [ "$("$@")" -ge "$want" ] || [ $i -ge 1200 ]; do sleep 0.1; i=$((i + 1)); done
}

i=0 workers=""
while [ $i -lt $W ]; do : > "$T_TMP/w$i"; : > "$T_TMP/w$i.pids"; worker $i & workers="$workers $!"; i=$((i + 1)); done
until_at_least 8 successes
before=$(successes)
pg_kill
killed_at=$(refusals)
until_at_least $((killed_at + 4)) refusals
during=$(( $(refusals) - killed_at ))
pg_start
until_at_least $((before + 8)) successes
touch "$T_TMP/stop"
for p in $workers; do wait "$p"; done
after=$(( $(successes) - before ))

check "logins succeeded before the crash ($before)" test "$before" -ge 8
check "the logins while it was down were refused with PAM_AUTHINFO_UNAVAIL ($during)" test "$during" -ge 4
check "the server recovered from the crash" grep -q "not properly shut down; automatic recovery in progress" "$PGBASE/server.log"
check "logins succeed after the restart ($after)" test "$after" -ge 8
check "every login ended in success, refusal or PAM_AUTHINFO_UNAVAIL" \
	sh -c "! cat '$T_TMP'/w[0-9] | awk '{ for (i = 2; i <= NF; i++) if (\$i != 0 && \$i != 7 && \$i != 9) print }' | grep -q ."
check "no round's response was accepted twice (of four tries on two hosts)" \
	sh -c "! cat '$T_TMP'/w[0-9] | awk '{ n = 0; for (i = 2; i <= NF; i++) if (\$i == 0) n++; if (n > 1) print }' | grep -q ."
dups=0 lost=0 replays=0 n=0
i=0
while [ $i -lt $W ]; do
	# The sequence numbers of the accepted responses: each at most once, across the crash too.
	awk '{ for (j = 2; j <= NF; j++) if ($j == 0) { print $1; break } }' "$T_TMP/w$i" | sort -n > "$T_TMP/acc$i"
	dups=$((dups + $(uniq -d "$T_TMP/acc$i" | grep -c .)))
	# What the store holds after the crash is below every accepted line: each one's commit survived.
	now=$(pg_first "c$i" | sed -n 's/^otp-md5 \([0-9]*\) .*/\1/p')
	low=$(head -n 1 "$T_TMP/acc$i")
	[ -n "$low" ] && [ "$now" -lt "$low" ] || lost=$((lost + 1))
	for s in $(cat "$T_TMP/acc$i"); do
		n=$((n + 1))
		r=$(response md5 "$s" "crash$i")
		for h in a b; do
			drive $h "c$i" "$r"
			[ $? -eq $PAM_AUTH_ERR ] || replays=$((replays + 1))
		done
	done
	i=$((i + 1))
done
check "no response accepted twice across the crash ($dups)" test "$dups" -eq 0
check "every accepted response's commit is in the store after the crash ($lost users short)" test "$lost" -eq 0
check "all $n accepted responses replayed on both hosts: refused ($replays not)" test "$replays" -eq 0 -a "$n" -ge 16

done_testing
