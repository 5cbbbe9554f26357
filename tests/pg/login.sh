#!/bin/sh
# login.sh - the PostgreSQL store through the real libpam: enrolment with otpkey,
# logins on two "hosts" (host A over the Unix socket with peer authentication,
# host B over TCP with SCRAM and a passfile, both as the restricted role),
# races split across them (RFC 2289 responses and TOTP codes), unknown names,
# the row lock's wait, the schema's version, the marks' bound, every otpkey command.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/pg/env.sh.inc"
pg_skip_unless_ready

pg_init || { notok "the private PostgreSQL cluster starts"; done_testing; exit 1; }
ok "a private PostgreSQL 15 cluster on 127.0.0.1:$PGPORT and a socket under the test's directory"

expect_out "otpkey create makes the schema" "" "$ADMIN_URI: created, empty" "$OTPKEY" --db "$ADMIN_URI" create
expect_out "otpkey create again leaves it" "" "$ADMIN_URI: exists already, 0 users" \
	"$OTPKEY" --db "$ADMIN_URI" create
check "the schema is version 1" test "$(psql_su otp_admin -c 'SELECT version FROM otp.schema_version')" = 1
check "the host secret is made with it" test "$(psql_su otp_admin -c "SELECT length(value) FROM otp.meta WHERE name = 'host-secret'")" = 48
check "the marks table is unlogged" test "$(psql_su otp_admin -c "SELECT relpersistence FROM pg_class WHERE oid = 'otp.marks'::regclass")" = u
grant_login otp_login
refused() { ! "$@" > /dev/null 2>&1; }
check "the login role cannot create tables in the schema" refused psql_su otp_login -c "CREATE TABLE otp.evil (x int)"
check "nor in public" refused psql_su otp_login -c "CREATE TABLE public.evil (x int)"

pg_service a "$HOST_A"
pg_service b "$HOST_B"
pg_service ra "$HOST_A" max_failures=0
pg_service rb "$HOST_B" max_failures=0

# ---- enrol once, log in on both hosts ----
pg_enrol "$ADMIN_URI" alice 100 TeSt
check "otpkey enrols alice in PostgreSQL (next challenge 99)" test "$(pg_first alice)" = "otp-md5 99 test ext"
check "an administrator's SQL sees the key's plain columns" \
	test "$(psql_su otp_admin -c "SELECT alg, seq, seed, disabled FROM otp.users WHERE name = 'alice'")" = "md5|100|test|f"

WRAPPER=$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -n 1)
PRELOAD=$WRAPPER
if [ "${OTP_SANITIZE:-0}" = 1 ]; then
	PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so) $WRAPPER"
	export ASAN_OPTIONS=detect_leaks=0
fi
response md5 99 test | LD_PRELOAD=$PRELOAD PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$CONF \
	timeout 60 pamtester -v a alice authenticate > "$T_TMP/out" 2>&1
check "pamtester on host A: six words accepted" has "successfully authenticated"
check "the prompt shows the challenge" has "otp-md5 99 test ext, Response:"
drive b alice "$(response md5 98 test)"
check "host B takes the next line" test $? -eq $PAM_SUCCESS
check "and shows the challenge host A left" has "PROMPT: otp-md5 98 test ext, Response:"
drive b alice "$(response md5 99 test)"
check "host B refuses the line host A took" test $? -eq $PAM_AUTH_ERR
drive a alice "$(response md5 98 test)"
check "host A refuses the line host B took" test $? -eq $PAM_AUTH_ERR
"$OTPKEY" --db "$ADMIN_URI" unlock alice
drive a alice "hex:$(response md5 97 test -x)"
check "an extended hex response on host A" test $? -eq $PAM_SUCCESS
check "otpkey info reads the state both wrote" test "$(pg_first alice)" = "otp-md5 96 test ext"

# ---- unknown names: the same fake challenge from every host ----
drive a mallory "$(response md5 99 test)"
rc=$?
fa=$(prompt)
drive b mallory "$(response md5 99 test)"
fb=$(prompt)
check "an unknown name is refused" test $rc -eq $PAM_AUTH_ERR
check "its fake challenge is well formed ($fa)" sh -c "echo '$fa' | grep -Eq '^otp-(md4|md5|sha1) [0-9]+ [a-z0-9]+ ext\$'"
check "and the same from host B ($fb)" test "$fa" = "$fb"
drive b trudy x
check "another name, another fake challenge" test "$(prompt)" != "$fa"
check "no marks are left behind by finished logins" test "$(psql_su otp_admin -c 'SELECT count(*) FROM otp.marks')" = 0

# ---- races: one response split across both hosts, exactly one success ----
# split SERVICE_A SERVICE_B USER ANSWER: 10 logins on each host at once; prints the successes.
split() {
	timeout 120 "$DRIVE" -p 10 "$CONF" "$1" "$3" "$4" > "$T_TMP/ra" 2>&1 &
	pa=$!
	timeout 120 "$DRIVE" -p 10 "$CONF" "$2" "$3" "$4" > "$T_TMP/rb" 2>&1 &
	pb=$!
	wait "$pa"
	wait "$pb"
	echo $(( $(sed -n 's/^success \([0-9]*\) .*/\1/p' "$T_TMP/ra") + $(sed -n 's/^success \([0-9]*\) .*/\1/p' "$T_TMP/rb") ))
}
pg_enrol "$ADMIN_URI" frank 100 fra1
n=$(split ra rb frank "$(response md5 99 fra1)")
check "20 parallel logins, one response, split across both hosts: exactly one success ($n)" test "$n" = 1
check "the state moved exactly one step" test "$(pg_first frank)" = "otp-md5 98 fra1 ext"
n=$(split ra rb frank "$(response md5 99 fra1)")
check "the same response again on both: none ($n)" test "$n" = 0

i=0
while [ $i -lt 20 ]; do pg_enrol "$ADMIN_URI" "u$i" 100 "par$i"; i=$((i + 1)); done
# at_once PREFIX ANSWER-FN: PREFIX0 .. PREFIX19 log in at once, even ones on host A and
# odd ones on host B, user i answering what "ANSWER-FN i" prints; prints the successes.
at_once() {
	i=0 pids=""
	while [ $i -lt 20 ]; do
		host=a; [ $((i % 2)) -eq 1 ] && host=b
		timeout 60 "$DRIVE" "$CONF" $host "$1$i" "$($2 $i)" > "$T_TMP/at.$1$i" 2>&1 </dev/null &
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do wait "$p"; done
	cat "$T_TMP/at.$1"* | grep -c '^RESULT: 0 '
}
own_response() { response md5 99 "par$1"; }
n=$(at_once u own_response)
check "20 users at once, half on each host: 20 successes ($n)" test "$n" = 20

# ---- TOTP: the same code split across both hosts ----
now() { date +%s; }
settle() { while [ $(( $(now) % 30 )) -ge 24 ]; do sleep 1; done; }
totp() { oathtool --totp -N "@$(( $(now) + ${2:-0} ))" "$1"; }
hex=$(openssl rand -hex 20)
: > "$T_TMP/users.oath"
i=0
while [ $i -lt 21 ]; do printf 'HOTP/T30 t%s - %s\n' $i "$hex" >> "$T_TMP/users.oath"; i=$((i + 1)); done
expect_out "import --pam-oath into PostgreSQL" "" "imported 21 users, skipped 0" \
	"$OTPKEY" --db "$ADMIN_URI" import --pam-oath "$T_TMP/users.oath"
settle
n=$(split ra rb t20 "$(totp "$hex")")
check "20 parallel logins, one TOTP code, split across both hosts: exactly one success ($n)" test "$n" = 1
drive a t20 "$(totp "$hex")"
check "and the code is dead on host A too" test $? -eq $PAM_AUTH_ERR
settle
code=$(totp "$hex")
the_code() { echo "$code"; }
n=$(at_once t the_code)
check "20 TOTP users at once, half on each host: 20 successes ($n)" test "$n" = 20

# ---- the marks of unknown names are bounded: expired rows are dropped ----
psql_su otp_admin -c "INSERT INTO otp.marks SELECT 'ghost' || i, '\\x00', 0 FROM generate_series(1, 100) i"
i=0
while [ $i -lt 13 ]; do drive a "nobody$i" x; i=$((i + 1)); done
check "13 logins drop 100 expired marks (8 each)" test "$(psql_su otp_admin -c 'SELECT count(*) FROM otp.marks')" = 0

# ---- a pending login, otpkey info and unlock ----
rm -f "$T_TMP/fifo"; mkfifo "$T_TMP/fifo"
timeout 60 "$DRIVE" "$CONF" a alice - < "$T_TMP/fifo" > "$T_TMP/pending" 2>&1 &
dp=$!
exec 3>"$T_TMP/fifo"
pg_wait_pending alice
check "a login waiting for its answer is pending" sh -c "'$OTPKEY' --db '$ADMIN_URI' info alice | grep -q 'pending challenge: yes (1 login)'"
"$OTPKEY" --db "$ADMIN_URI" unlock alice
check "unlock forgets it" sh -c "'$OTPKEY' --db '$ADMIN_URI' info alice | grep -q 'pending challenge: no'"
response md5 96 test >&3
exec 3>&-
wait "$dp"
check "and the answer still logs in (verified against the record)" test $? -eq $PAM_SUCCESS

# ---- the row lock: a holder past lock_ms makes others wait, then fail cleanly ----
timeout 60 "$PGBIN/psql" -X -q "postgresql:///otp?host=$PGSOCK&port=$PGPORT&user=otp_admin" \
	-c "BEGIN" -c "SELECT 1 FROM otp.users WHERE name = 'alice' FOR UPDATE" \
	-c "SELECT pg_sleep(30)" -c "COMMIT" > /dev/null 2>&1 &
holder=$!
sleeping() { [ "$(psql_su otp_admin -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")" = 1 ]; }
i=0
until sleeping || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
t0=$(date +%s)
timeout 60 "$OTPKEY" --db "$ADMIN_URI" disable alice > "$T_TMP/disable" 2>&1 &
op=$!
drive b alice "$(response md5 95 test)"
rc=$?
wait "$op"
orc=$?
t1=$(date +%s)
check "a login meanwhile: PAM_AUTHINFO_UNAVAIL, never a success ($rc)" test $rc -eq $PAM_AUTHINFO_UNAVAIL
check "otpkey waits for the row lock, then says so" \
	test $orc -eq 1 -a "$(cat "$T_TMP/disable")" = "otpkey: $ADMIN_URI: timed out waiting for the key database lock"
check "both gave up after the lock wait (5 s), long before the holder let go ($((t1 - t0)) s)" \
	test $((t1 - t0)) -ge 4 -a $((t1 - t0)) -le 15
# The holder's server process ends its transaction (psql itself exits with it).
psql_su postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'" >/dev/null
wait "$holder"
check "disable changed nothing" sh -c "'$OTPKEY' --db '$ADMIN_URI' info alice | grep -q '^disabled: no'"
drive b alice "$(response md5 95 test)"
check "once the holder is gone, the login goes through" test $? -eq $PAM_SUCCESS

# ---- the schema's version ----
psql_su otp_admin -c "UPDATE otp.schema_version SET version = 2"
expect_fail "a newer schema is refused by otpkey" "" "unknown format version" "$OTPKEY" --db "$ADMIN_URI" list
drive a alice "$(response md5 94 test)"
check "and by the module: PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL
psql_su otp_admin -c "UPDATE otp.schema_version SET version = 1"
PSQL_DB=postgres psql_su postgres -c "CREATE DATABASE bare OWNER otp_admin" >/dev/null
pg_service bare "postgresql:///bare?host=$PGSOCK&port=$PGPORT&user=otp_login"
drive bare alice "$(response md5 94 test)"
check "a database without the schema: PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL
expect_fail "and otpkey says it does not exist" "" "key database does not exist" \
	"$OTPKEY" --db "postgresql:///bare?host=$PGSOCK&port=$PGPORT&user=otp_admin" info alice

# ---- every otpkey command against PostgreSQL ----
O() { "$OTPKEY" --db "$ADMIN_URI" "$@"; }
O disable alice
drive a alice "$(response md5 94 test)"
check "disable: refused" test $? -eq $PAM_AUTH_ERR
O enable alice
drive a alice "$(response md5 94 test)"
check "enable: accepted again" test $? -eq $PAM_SUCCESS
printf 'tanstaaf tanstaaf\ntanstaaf tanstaaf\n' | O apop alice
check "apop sets the APOP secret" sh -c "'$OTPKEY' --db '$ADMIN_URI' info alice | grep -q '^apop: set'"
O apop -d alice
check "apop -d clears it" sh -c "'$OTPKEY' --db '$ADMIN_URI' info alice | grep -q '^apop: not set'"
O init --sheet -c 3 -s sheet1 -n 50 sheila > "$T_TMP/sheet"
check "init --sheet prints a sheet" grep -q '^ *49' "$T_TMP/sheet"
line=$(sed -n 's/^ *49: \([A-Z]* [A-Z]* [A-Z]* [A-Z]* [A-Z]* [A-Z]*\).*/\1/p' "$T_TMP/sheet")
drive b sheila "$line"
check "and its first line logs in on host B" test $? -eq $PAM_SUCCESS
printf '%s\n' "$PASS" | O sheet -c 2 alice > "$T_TMP/sheet2"
check "sheet prints the next lines from the pass phrase" grep -q "$(response md5 93 test | cut -d' ' -f1-3)" "$T_TMP/sheet2"
O list > "$T_TMP/list"
check "list shows every user" test "$(grep -c . "$T_TMP/list")" -eq 44
O audit -l 60 > "$T_TMP/audit"
check "audit finds the users below the limit (exit 1)" test $? -eq 1
check "sheila among them" grep -q sheila "$T_TMP/audit"
printf '%s %04d %-16s %s  %s\n' olga 499 ke1234 \
	"$(printf '%s\n' "$PASS" | "$OTPCALC" -x 499 ke1234 | tr -d ' ')" "Nov 26,2026 10:00:00" > "$T_TMP/opiekeys"
expect_out "import --opie into PostgreSQL" "" "imported 1 users, skipped 0" \
	"$OTPKEY" --db "$ADMIN_URI" import --opie "$T_TMP/opiekeys"
drive a olga "$(printf '%s\n' "$PASS" | "$OTPCALC" 'otp-md5 498 ke1234')"
check "the OPIE user logs in with her old calculator" test $? -eq $PAM_SUCCESS
O remove sheila
expect_fail "remove: the user is gone" "" "sheila: no key for this user" \
	"$OTPKEY" --db "$ADMIN_URI" info sheila
drive b sheila "$line"
check "and is refused like any unknown name" test $? -eq $PAM_AUTH_ERR

done_testing
