#!/bin/sh
# abandon.sh - held-open and abandoned logins through the real libpam, in
# real processes (pam_otp(8), the concurrency and abandoned-login rules): a
# pamtester login held at its prompt (stdin a FIFO nobody writes), or killed
# there, must never refuse, delay or change the prompt of another login of
# the same user; that login is shown a lower sequence number and verifies by
# hashing more; the held line is dead once a lower one is accepted; an
# abandoned line costs at most one line, 15 in all; a response is used up
# once, even when its own challenge expired and another login took it over.
. "$OTP_SRC/tests/lib.sh"

. "$OTP_SRC/tests/pam/pam.sh.inc"

if [ -z "$WRAPPER" ] || ! command -v pamtester >/dev/null 2>&1; then
	echo "ok 1 # SKIP pamtester or pam_wrapper is not installed (make deps)"
	echo "1..1"
	exit 0
fi

# Every background login NAME: NAME.tpid (its timeout, our child), NAME.pid
# (the pamtester under it), NAME.live until we have waited for it.  On exit
# the live ones are stopped: SIGTERM to the timeout, which passes it on.
cleanup() {
	for f in "$T_TMP"/*.live; do
		[ -f "$f" ] || continue
		n=${f%.live}
		tp=$(cat "$n.tpid")
		pp=$(cat "$n.pid" 2>/dev/null || pgrep -P "$tp" 2>/dev/null | head -n 1)
		kill -TERM "$tp" 2>/dev/null
		wait "$tp" 2>/dev/null
		[ -n "$pp" ] && wrapdir_rm "$pp"
	done
	rm -rf "$T_TMP"
}
trap cleanup EXIT

# reap NAME: wait for background login NAME (bounded by its timeout).
reap() {
	wait "$(cat "$T_TMP/$1.tpid")"
	r=$?
	rm -f "$T_TMP/$1.live"
	return $r
}

# wrapdir_rm PID: pam_wrapper's /tmp/pam.X of a process of ours that was
# killed (its destructor never ran), found by the pid written in it.
wrapdir_rm() {
	for d in /tmp/pam.?; do
		[ -f "$d/pid" ] && [ "$(cat "$d/pid" 2>/dev/null)" = "$1" ] && rm -rf "$d"
	done
}

ms() { echo $(( $(date +%s%N) / 1000000 )); }
pending() { "$OTPKEY" --db "$DB" info "$1" 2>/dev/null | sed -n 's/^pending challenge: //p'; }
seq_of() { echo "$1" | awk '{print $2}'; }
# prompt_of FILE: the challenge a login's output shows (pamtester or pamdrive).
prompt_of() {
	sed -n 's/^\(PROMPT: \)\{0,1\}\(otp-[a-z0-9]* [0-9]* [a-z0-9]*\( ext\)\{0,1\}\), Response.*/\2/p' "$1" |
		head -n 1
}
SHAPE='^otp-(md4|md5|sha1) [0-9]+ [a-z0-9]+ ext$'

# wrapped IN OUT ARGS...: pamtester through pam_wrapper (as ptest), bounded,
# in the background, stdin from IN (the redirection on the asynchronous
# command itself: the shell gives it /dev/null otherwise), output to OUT,
# holding none of our FIFOs but its stdin.
wrapped() {
	in=$1 out=$2; shift 2
	timeout -s KILL 60 env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$CONF" \
		pamtester -v "$@" authenticate < "$in" > "$out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
}

# await NAME: wait (at most 10 s) for login NAME's prompt; sets its pamtester
# pid in $T_TMP/NAME.pid; fails if no prompt came.
await() {
	tp=$(cat "$T_TMP/$1.tpid") pid=""
	aw=0
	while [ $aw -lt 200 ]; do
		[ -z "$pid" ] && pid=$(pgrep -P "$tp" 2>/dev/null | head -n 1)
		[ -n "$pid" ] && grep -q 'Response: ' "$T_TMP/$1.out" 2>/dev/null && break
		kill -0 "$tp" 2>/dev/null || break
		sleep 0.05
		aw=$((aw + 1))
	done
	[ -n "$pid" ] && echo "$pid" > "$T_TMP/$1.pid"
	[ -n "$(prompt_of "$T_TMP/$1.out")" ]
}

# hold FD SERVICE USER: a pamtester login whose stdin is a FIFO we keep open
# on descriptor FD (3 to 8) and do not write to, so that it sits at its
# prompt; waits for the prompt; sets held_chal to its challenge.
hold() {
	fd=$1; shift
	rm -f "$T_TMP/h$fd.fifo"
	mkfifo "$T_TMP/h$fd.fifo"
	# Opened read-write first: never blocks, and the login sees no EOF while we hold it.
	eval "exec $fd<>\"\$T_TMP/h$fd.fifo\""
	wrapped "$T_TMP/h$fd.fifo" "$T_TMP/h$fd.out" "$@"
	echo $! > "$T_TMP/h$fd.tpid"
	: > "$T_TMP/h$fd.live"
	await "h$fd"
	held_chal=$(prompt_of "$T_TMP/h$fd.out")
}

# answer FD TEXT: write TEXT to held login FD, close its FIFO, wait for it
# (bounded by its timeout); its output is in $T_TMP/hFD.out.
answer() {
	printf '%s\n' "$2" >&"$1"
	eval "exec $1>&-"
	reap "h$1"
}

# letgo FD: close held login FD's FIFO without a word (the client goes away).
letgo() {
	eval "exec $1>&-"
	reap "h$1"
}

# kill_held NAME: kill login NAME's pamtester at the prompt (SIGKILL: no cleanup).
kill_held() {
	kp=$(cat "$T_TMP/$1.pid" 2>/dev/null)
	[ -n "$kp" ] && kill -KILL "$kp" 2>/dev/null
	reap "$1" 2>/dev/null
	[ -n "$kp" ] && wrapdir_rm "$kp"
}

# timed SERVICE USER ANSWER...: drive, setting rc and took (milliseconds).
timed() {
	t0=$(ms)
	drive "$@"
	rc=$?
	took=$(( $(ms) - t0 ))
}

service otp
service ttl2 challenge_ttl=2

enrol alice 100 test
enrol bob 100 bob1
check "alice enrolled, next challenge 99" test "$(first_line alice)" = "otp-md5 99 test ext"

# ---- Baseline: the cost of a normal login, the worst of three ----
base=0
for n in 1 2 3; do
	timed otp alice "@$PASS"
	[ $rc -eq $PAM_SUCCESS ] || notok "baseline login $n succeeds (rc $rc)"
	[ $took -gt $base ] && base=$took
done
limit=$((base + 1000))
diag "baseline: a normal login takes up to $base ms; limit with a held or abandoned login $limit ms"
check "three normal logins moved alice to 96" test "$(first_line alice)" = "otp-md5 96 test ext"

# ---- 1. Held open: a second login is prompted at once, lower, and succeeds ----
hold 3 otp alice
check "held login is prompted with alice's challenge ($held_chal)" test "$held_chal" = "otp-md5 96 test ext"
check "and is pending" test "$(pending alice)" = "yes (1 login)"
timed otp alice "@$PASS"
second=$(prompt_of "$T_TMP/out")
diag "second login with one held open: $took ms (baseline $base ms)"
check "second login is prompted, with a lower sequence ($second)" test "$second" = "otp-md5 95 test ext"
check "second login succeeds" test $rc -eq $PAM_SUCCESS
check "second login is not delayed ($took ms <= $limit ms)" test $took -le $limit
check "it verified two steps down: next challenge 94" test "$(first_line alice)" = "otp-md5 94 test ext"
check "the held login is still at its prompt" kill -0 "$(cat "$T_TMP/h3.pid")"
# pam_otp(8): the lines skipped die once a lower one is accepted; login.c
# refuses the held line (OTP_ERR_STALE) and consumes nothing.
answer 3 "$(response md5 96 test)"
check "held login's right response for its own challenge is refused: its line died" \
	grep -q 'Authentication failure' "$T_TMP/h3.out"
check "and the refusal consumed nothing (next challenge still 94)" test "$(first_line alice)" = "otp-md5 94 test ext"
check "and no challenge is pending" test "$(pending alice)" = "no"
check "and counted no failure (a dead line is not a guess)" \
	sh -c '"$1" --db "$2" info alice | grep -qx "failures: 0"' sh "$OTPKEY" "$DB"
timed otp alice "@$PASS"
check "the next login is back to the top line (94) and succeeds" \
	sh -c '[ $1 -eq 0 ] && grep -q "^PROMPT: otp-md5 94 test ext, Response: " "$2"' sh $rc "$T_TMP/out"

# ---- 2a. The client goes away at the prompt: the challenge is given back ----
hold 4 otp alice
check "login prompted at 93 ($held_chal)" test "$held_chal" = "otp-md5 93 test ext"
letgo 4
check "EOF at the prompt: the login fails" sh -c '! grep -q "successfully authenticated" "$1"' sh "$T_TMP/h4.out"
check "and gives its challenge back at once (none pending)" test "$(pending alice)" = "no"
check "and costs nothing (next challenge still 93)" test "$(first_line alice)" = "otp-md5 93 test ext"

# ---- 2b. Killed at the prompt: the next login is not delayed and skips one line ----
hold 5 otp alice
check "login prompted at 93 ($held_chal)" test "$held_chal" = "otp-md5 93 test ext"
kill_held h5
eval "exec 5>&-"
check "killed login's challenge stays reserved" test "$(pending alice)" = "yes (1 login)"
check "first_line still shows the stored top (93)" test "$(first_line alice)" = "otp-md5 93 test ext"
timed otp alice "@$PASS"
diag "login right after one was killed at its prompt: $took ms (baseline $base ms)"
check "the new login is prompted below the abandoned line ($(prompt_of "$T_TMP/out"))" \
	test "$(prompt_of "$T_TMP/out")" = "otp-md5 92 test ext"
check "it is not refused: succeeds" test $rc -eq $PAM_SUCCESS
check "it is not delayed ($took ms <= $limit ms)" test $took -le $limit
check "the abandoned line cost one line: next challenge 91, not 92" test "$(first_line alice)" = "otp-md5 91 test ext"
drive otp alice "$(response md5 93 test)"
check "the abandoned line's response is dead" test $? -eq $PAM_AUTH_ERR
drive otp alice "$(response md5 92 test)"
check "and the used one's is refused (replay)" test $? -eq $PAM_AUTH_ERR
"$OTPKEY" --db "$DB" unlock alice >/dev/null 2>&1

# ---- 3. Twenty logins killed at the prompt, then a normal login ----
top=$(seq_of "$(first_line alice)")
mkfifo "$T_TMP/many.fifo"
exec 9<>"$T_TMP/many.fifo"
# Staggered by 10 ms: pam_wrapper's /tmp/pam.X is named after the pid, not
# created exclusively.  No retry: a login that is not prompted is a failure.
i=0
while [ $i -lt 20 ]; do
	wrapped "$T_TMP/many.fifo" "$T_TMP/m$i.out" otp alice
	echo $! > "$T_TMP/m$i.tpid"
	: > "$T_TMP/m$i.live"
	i=$((i + 1))
	sleep 0.01
done
prompted=0 seqs=""
i=0
while [ $i -lt 20 ]; do
	if await "m$i"; then
		c=$(prompt_of "$T_TMP/m$i.out")
		if echo "$c" | grep -Eq '^otp-md5 [0-9]+ test ext$'; then
			prompted=$((prompted + 1))
			seqs="$seqs $(seq_of "$c")"
		fi
	else
		diag "login $i: no prompt:" "$(cat "$T_TMP/m$i.out")"
	fi
	i=$((i + 1))
done
check "20 concurrent logins of alice are all prompted with her challenge ($prompted)" test $prompted -eq 20
lo=$(echo $seqs | tr ' ' '\n' | sort -n | head -n 1)
hi=$(echo $seqs | tr ' ' '\n' | sort -n | tail -n 1)
distinct=$(echo $seqs | tr ' ' '\n' | sort -u | grep -c .)
diag "sequences shown:$seqs"
check "all within the 16 lines below the top ($lo..$hi, top $top)" \
	test "$lo" -ge $((top - 15)) -a "$hi" -le "$top"
check "16 of them distinct: at most 16 outstanding challenges are tracked ($distinct)" test "$distinct" -eq 16
check "16 pending ($(pending alice))" test "$(pending alice)" = "yes (16 logins)"
i=0
while [ $i -lt 20 ]; do
	kill_held "m$i"
	i=$((i + 1))
done
exec 9>&-
check "none of the 20 logged in" sh -c '! grep -l "successfully authenticated" "$@"' sh "$T_TMP"/m*.out
timed otp alice "@$PASS"
c=$(prompt_of "$T_TMP/out")
s=$(seq_of "$c")
diag "login after 20 were killed at the prompt: $took ms (baseline $base ms), shown $c"
check "the next login is prompted with a challenge of alice's ($c)" sh -c 'echo "$1" | grep -Eq "^otp-md5 [0-9]+ test ext$"' sh "$c"
check "it succeeds" test $rc -eq $PAM_SUCCESS
check "it is not delayed ($took ms <= $limit ms)" test $took -le $limit
check "at most 15 lines burnt ($((top - s)))" test $((top - s)) -le 15
check "the state is just below it" test "$(first_line alice)" = "otp-md5 $((s - 1)) test ext"

# ---- 4. challenge_ttl=2: an expired challenge taken over; the response is used up either way ----
hold 3 ttl2 bob
check "bob's first login is prompted at 99 ($held_chal)" test "$held_chal" = "otp-md5 99 bob1 ext"
sleep 3
hold 4 ttl2 bob
check "once its challenge_ttl passed, another login takes over 99 ($held_chal)" \
	test "$held_chal" = "otp-md5 99 bob1 ext"
r99=$(response md5 99 bob1)
answer 3 "$r99"
check "the first login's right, late response is refused (its challenge was taken over)" \
	grep -q 'Authentication failure' "$T_TMP/h3.out"
check "but the response was used up: next challenge 98" test "$(first_line bob)" = "otp-md5 98 bob1 ext"
answer 4 "$r99"
check "the login that took over, replaying the same response, fails" \
	grep -q 'Authentication failure' "$T_TMP/h4.out"
check "and nothing moved" test "$(first_line bob)" = "otp-md5 98 bob1 ext"
drive ttl2 bob "$r99"
check "the same response in a new login fails too" test $? -eq $PAM_AUTH_ERR
# An expired challenge nobody took over: login.c accepts its right response.
hold 3 ttl2 bob
check "a login prompted at 98 ($held_chal)" test "$held_chal" = "otp-md5 98 bob1 ext"
sleep 3
answer 3 "$(response md5 98 bob1)"
check "answers after its challenge_ttl, nobody took over: accepted" \
	grep -q 'successfully authenticated' "$T_TMP/h3.out"
drive ttl2 bob "@$PASS"
check "bob's next login at 97 succeeds" \
	sh -c '[ $1 -eq 0 ] && grep -q "^PROMPT: otp-md5 97 bob1 ext, Response: " "$2"' sh $? "$T_TMP/out"

# ---- 5. A name with no key: the same from outside ----
hold 3 otp mallory
fake=$held_chal
check "held login of an unknown name is prompted like an enrolled user ($fake)" \
	sh -c 'echo "$1" | grep -Eq "$2"' sh "$fake" "$SHAPE"
timed otp mallory "@$PASS"
second=$(prompt_of "$T_TMP/out")
diag "unknown name, second login with one held open: $took ms (baseline $base ms)"
check "second login is prompted, same seed, one lower, as for alice ($second)" \
	test "$second" = "$(echo "$fake" | awk '{print $1, $2 - 1, $3, $4}')"
check "with the same prompt text as an enrolled user's" grep -q "^PROMPT: $second, Response: \$" "$T_TMP/out"
check "not refused before the answer: it fails after it (PAM_AUTH_ERR)" test $rc -eq $PAM_AUTH_ERR
check "not delayed ($took ms <= $limit ms)" test $took -le $limit
falg=${fake%% *}
answer 3 "$(response "${falg#otp-}" "$(seq_of "$fake")" "$(echo "$fake" | awk '{print $3}')")"
check "the held login fails after its answer" grep -q 'Authentication failure' "$T_TMP/h3.out"
drive otp mallory "@$PASS"
check "with both done, the name's stable challenge is shown again" test "$(prompt_of "$T_TMP/out")" = "$fake"

done_testing
