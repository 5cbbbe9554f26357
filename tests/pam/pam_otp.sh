#!/bin/sh
# pam_otp.sh - pam_otp.so through the real libpam: pamtester under pam_wrapper,
# and pamdrive (pam_start_confdir) for dialogues, concurrency and valgrind.
. "$OTP_SRC/tests/lib.sh"

. "$OTP_SRC/tests/pam/pam.sh.inc"

service otp
# nullok as deployed: users without a key fall through to the next module.
printf 'auth [success=done ignore=ignore default=die] %s db=%s nullok\nauth required pam_permit.so\n' \
	"$MOD" "$DB" > "$CONF/nullok"
service lock max_failures=2 lockout=600
service window window=5
service warn warn=200
service noext no_ext
service echo echo
service bad window=0
service strange frobnicate

# Missing database: never success, never a prompt that could succeed.
drive otp alice "$(response md5 99 test)"
check "missing database gives PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL

enrol alice 100 TeSt
check "otpkey enrols alice at 100 (next challenge 99)" test "$(first_line alice)" = "otp-md5 99 test ext"

# A success with six words, through pamtester and pam_wrapper.
response md5 99 test | ptest otp alice
check "pamtester: six words accepted" has "successfully authenticated"
check "prompt shows the challenge" has "otp-md5 99 test ext, Response:"
check "state moved to 98" test "$(first_line alice)" = "otp-md5 98 test ext"

response md5 99 test | ptest otp alice
check "pamtester: replay of the same response refused" has "Authentication failure"
check "replay left the state at 98" test "$(first_line alice)" = "otp-md5 98 test ext"

# Lower case, extra blanks, hex, and the RFC 2243 labelled forms.
drive otp alice "  $(response md5 98 test | tr 'A-Z' 'a-z' | sed 's/ /   /g')  "
check "lower-case words with extra blanks accepted" test $? -eq $PAM_SUCCESS
drive otp alice "$(response md5 97 test -x)"
check "hex response accepted" test $? -eq $PAM_SUCCESS
drive otp alice "WoRd:$(response md5 96 test)"
check "word: response accepted" test $? -eq $PAM_SUCCESS
drive otp alice "hex: $(response md5 95 test -x | tr 'a-f' 'A-F')"
check "hex: response accepted" test $? -eq $PAM_SUCCESS
drive otp alice "$(response md5 93 test)"
check "a response for a later sequence is refused without window" test $? -eq $PAM_AUTH_ERR
drive otp alice "x-foo:$(response md5 94 test)"
check "unsupported extended type refused" test $? -eq $PAM_AUTH_ERR
drive otp alice "$(response md5 94 test | sed 's/ [A-Z]*$/ A/')"
check "bad checksum refused" test $? -eq $PAM_AUTH_ERR
drive otp alice "$(response sha1 94 test)"
check "response from the wrong algorithm refused" test $? -eq $PAM_AUTH_ERR

# Empty answer: asked again with echo on.
drive otp alice "" "$(response md5 94 test)"
rc=$?
check "empty answer asks again with echo on" has "PROMPT-ECHO: otp-md5 94 test ext, Response (echo on):"
check "and the second answer logs in" test $rc -eq $PAM_SUCCESS
drive otp alice
check "conversation failure is not success" test $? -ne $PAM_SUCCESS
check "and gives the challenge back (same challenge next time)" test "$(first_line alice)" = "otp-md5 93 test ext"
drive echo alice "$(response md5 93 test)"
check "echo option prompts with echo on" has "PROMPT-ECHO: otp-md5 93 test ext, Response:"

# RFC 2243 re-initialisation: init-word then init-hex.
init=$(printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPCALC" -t init-word --new-seed tEsT2 --new-seq 50 "otp-md5 92 test ext")
drive otp alice "$init"
check "init-word re-key accepted" test $? -eq $PAM_SUCCESS
check "re-key announced" has "re-initialised"
check "new challenge from the new parameters" test "$(first_line alice)" = "otp-md5 49 test2 ext"
init=$(printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPCALC" -t init-hex --new-alg sha1 --new-seed abc9 --new-seq 30 "otp-md5 49 test2 ext")
drive otp alice "$init"
check "init-hex re-key to sha1 accepted" test $? -eq $PAM_SUCCESS
check "sha1 challenge after init-hex" test "$(first_line alice)" = "otp-sha1 29 abc9 ext"
drive otp alice "$(response sha1 29 abc9)"
check "login on the new sha1 chain" test $? -eq $PAM_SUCCESS
bad="init-hex:$(response sha1 28 abc9 -x):md5 499 bad_seed:0000 0000 0000 0000"
drive otp alice "$bad"
check "init with a bad new part is refused" test $? -eq $PAM_AUTH_ERR
check "and the current OTP is consumed (RFC 2243 s4.3)" test "$(first_line alice)" = "otp-sha1 27 abc9 ext"
same="init-hex:$(response sha1 27 abc9 -x):sha1 30 abc9:$(response sha1 30 abc9 -x)"
drive otp alice "$same"
check "init keeping seed and pass phrase is refused (RFC 2289 s8)" test $? -eq $PAM_AUTH_ERR
check "and consumed the current OTP too" test "$(first_line alice)" = "otp-sha1 26 abc9 ext"
drive noext alice "hex:$(response sha1 26 abc9 -x)"
check "no_ext refuses extended responses" test $? -eq $PAM_AUTH_ERR
check "no_ext challenge has no ext" has "PROMPT: otp-sha1 26 abc9, Response:"
drive noext alice "$(response sha1 26 abc9)"
check "no_ext still takes six words" test $? -eq $PAM_SUCCESS

# Unknown users: a stable fake challenge, then failure; nullok ignores them.
drive otp mallory "$(response md5 99 test)"
rc=$?
fake1=$(sed -n 's/^PROMPT: \(.*\), Response: $/\1/p' "$T_TMP/out")
check "unknown user is refused" test $rc -eq $PAM_AUTH_ERR
check "unknown user gets a well-formed challenge" sh -c "echo '$fake1' | grep -Eq '^otp-(md4|md5|sha1) [0-9]+ [a-z0-9]+ ext$'"
drive otp mallory "$(response md5 99 test)"
fake2=$(sed -n 's/^PROMPT: \(.*\), Response: $/\1/p' "$T_TMP/out")
check "fake challenge is stable across calls" test "$fake1" = "$fake2"
drive otp trudy "$(response md5 99 test)"
fake3=$(sed -n 's/^PROMPT: \(.*\), Response: $/\1/p' "$T_TMP/out")
check "fake challenges differ between names" test "$fake1" != "$fake3"
drive nullok mallory "anything"
rc=$?
check "nullok: unknown user ignored (falls through to the next module)" test $rc -eq $PAM_SUCCESS
check "nullok: no prompt" sh -c "! grep -q PROMPT '$T_TMP/out'"
drive nullok alice "WRONG WORD"
check "nullok: an enrolled user's wrong response still fails" test $? -eq $PAM_AUTH_ERR

# Disabled user: the same dialogue as before (its own challenge), then failure.
enrol bob 100 bob1
"$OTPKEY" --db "$DB" disable bob >/dev/null 2>&1
drive otp bob "$(response md5 99 bob1)"
check "disabled user refused" test $? -eq $PAM_AUTH_ERR
check "disabled user sees the challenge it saw before" has "PROMPT: otp-md5 99 bob1 ext, Response:"
check "disabled user's attempt consumed nothing" test "$(first_line bob)" = "otp-md5 99 bob1 ext"
"$OTPKEY" --db "$DB" enable bob >/dev/null 2>&1
drive otp bob "$(response md5 99 bob1)"
check "enabled again: logs in" test $? -eq $PAM_SUCCESS

# Lockout after max_failures: it refuses what can be guessed (token codes,
# tests/pam/token.sh), never a 64-bit RFC 2289 response, so that a stranger's
# wrong answers cannot keep the user out; otpkey unlock lifts it.
enrol carol 100 car1
drive lock carol "WRONG WORD"
drive lock carol "$(response md5 50 car1)"
check "locked out after 2 failures" sh -c '"$1" --db "$2" info carol | grep -q "^locked until: [0-9]"' sh "$OTPKEY" "$DB"
drive lock carol "$(response md5 99 car1)"
check "a locked-out user's right RFC 2289 response still logs in" test $? -eq $PAM_SUCCESS
check "and clears the failures" sh -c '"$1" --db "$2" info carol | grep -qx "failures: 0"' sh "$OTPKEY" "$DB"
drive lock carol "WRONG WORD"
drive lock carol "WRONG WORD"
"$OTPKEY" --db "$DB" unlock carol >/dev/null 2>&1
check "otpkey unlock lifts the lockout" sh -c '"$1" --db "$2" info carol | grep -qx "locked until: no"' sh "$OTPKEY" "$DB"
drive lock carol "$(response md5 98 car1)"
check "and the user logs in" test $? -eq $PAM_SUCCESS

# window=5: a sheet user may skip ahead a few lines.
enrol dave 100 dav1
drive window dave "$(response md5 96 dav1)"
check "window=5 accepts the 4th next response" test $? -eq $PAM_SUCCESS
check "and moves the sequence past it" test "$(first_line dave)" = "otp-md5 95 dav1 ext"
drive window dave "$(response md5 90 dav1)"
check "window=5 refuses the 6th next response" test $? -eq $PAM_AUTH_ERR

# Warnings when few remain.
drive warn dave "$(response md5 95 dav1)"
check "warns when fewer than warn= remain, before the prompt" \
	sh -c 'grep -n "INFO: Warning: only 94 one-time passwords left after this one" "$1" | grep -q "^1:"' sh "$T_TMP/out"

# Options: a bad value fails closed; an unknown one is logged and ignored.
drive bad dave "$(response md5 94 dav1)"
check "window=0 is a configuration error (PAM_SERVICE_ERR)" test $? -eq $PAM_SERVICE_ERR
drive strange dave "$(response md5 94 dav1)"
check "unknown option ignored" test $? -eq $PAM_SUCCESS

# Exhausted key: RFC 2243 s4.3, no challenge below 1.
enrol erin 2 eri1
drive otp erin "$(response md5 1 eri1)"
check "last OTP (sequence 1) accepted" test $? -eq $PAM_SUCCESS
drive otp erin "$(response md5 0 eri1)"
check "exhausted key refused" test $? -eq $PAM_AUTH_ERR

# Concurrency: 20 logins of one user with the same response -> exactly 1 success.
enrol frank 100 fra1
out=$(timeout 120 "$DRIVE" -p 20 "$CONF" otp frank "$(response md5 99 fra1)")
check "20 parallel logins, same response: exactly one success ($out)" test "$out" = "success 1 failure 19"
check "the state moved exactly one step" test "$(first_line frank)" = "otp-md5 98 fra1 ext"
# The losers answered the next challenge with a used response: real failures.
"$OTPKEY" --db "$DB" unlock frank >/dev/null 2>&1
# 20 different users at once, each with its valid response -> 20 successes.
i=0
while [ $i -lt 20 ]; do enrol "u$i" 100 "par$i"; i=$((i + 1)); done
i=0
while [ $i -lt 20 ]; do
	r=$(response md5 99 "par$i")
	( timeout 120 "$DRIVE" "$CONF" otp "u$i" "$r" >/dev/null 2>&1; echo $? > "$T_TMP/par.$i" ) &
	i=$((i + 1))
done
wait
okc=$(cat "$T_TMP"/par.* | grep -c '^0$')
check "20 users in parallel: 20 successes ($okc)" test "$okc" -eq 20

# A corrupt database: never success.
cp "$DB" "$T_TMP/good.db"
head -c 4096 /dev/urandom > "$DB"
drive otp frank "$(response md5 98 fra1)"
check "corrupt database gives PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL
cp "$T_TMP/good.db" "$DB"
chmod 666 "$DB"
drive otp frank "$(response md5 98 fra1)"
check "world-writable database refused (PAM_AUTHINFO_UNAVAIL)" test $? -eq $PAM_AUTHINFO_UNAVAIL
for m in 640 604; do
	chmod "$m" "$DB"
	drive otp frank "$(response md5 98 fra1)"
	check "a database readable by others ($m) is refused, no prompt (PAM_AUTHINFO_UNAVAIL)" \
		sh -c '[ $1 -eq '"$PAM_AUTHINFO_UNAVAIL"' ] && ! grep -q "^PROMPT" "$2"' sh $? "$T_TMP/out"
done
chmod 600 "$DB"

# Only pam_sm_* exported.
syms=$(nm -D --defined-only "$MOD" | awk '{print $3}' | sort | tr '\n' ' ')
check "only pam_sm_authenticate and pam_sm_setcred exported ($syms)" \
	test "$syms" = "pam_sm_authenticate pam_sm_setcred "

# valgrind: a success and a failure, errors and leaks fatal.
if [ "${OTP_SANITIZE:-0}" = 1 ]; then
	ok "# SKIP valgrind runs on the plain build only"
else
	vg() {
		timeout 300 valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect "$DRIVE" "$CONF" "$@" > "$T_TMP/vg" 2>&1
	}
	vg otp frank "$(response md5 98 fra1)"
	check "valgrind: success path clean" test $? -eq $PAM_SUCCESS
	vg otp frank "WRONG WORD"
	check "valgrind: failure path clean" test $? -eq $PAM_AUTH_ERR
	vg otp nosuchuser "$(response md5 98 fra1)"
	check "valgrind: unknown-user path clean" test $? -eq $PAM_AUTH_ERR
	init=$(printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPCALC" -t init-word --new-seed vg1 --new-seq 50 "$(first_line frank)")
	vg otp frank "$init"
	check "valgrind: init-word re-key path clean" test $? -eq $PAM_SUCCESS
	cp "$DB" "$T_TMP/good.db"
	head -c 4096 /dev/urandom > "$DB"
	vg otp frank "$(response md5 49 vg1)"
	check "valgrind: corrupt-database path clean" test $? -eq $PAM_AUTHINFO_UNAVAIL
	cp "$T_TMP/good.db" "$DB"
fi

done_testing
