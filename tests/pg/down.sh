#!/bin/sh
# down.sh - the PostgreSQL store's failures: the server down or unreachable is
# PAM_AUTHINFO_UNAVAIL within the connect timeout, never a success; a server
# gone between challenge and answer refuses the answer, one back again takes
# it; URIs with a password or a service are refused; nothing is taken from the
# environment or $HOME (su's and sudo's callers set both).
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/pg/env.sh.inc"
pg_skip_unless_ready

pg_init || { notok "the private PostgreSQL cluster starts"; done_testing; exit 1; }
"$OTPKEY" --db "$ADMIN_URI" create >/dev/null && grant_login otp_login
pg_enrol "$ADMIN_URI" alice 100 test
pg_service a "$HOST_A"
pg_service b "$HOST_B"
drive a alice "$(response md5 99 test)"
check "a login with the server up" test $? -eq $PAM_SUCCESS

# timed RC SECONDS-VAR CMD...: runs CMD, sets RC and the seconds it took.
timed() {
	t0=$(date +%s)
	"$@"
	RC=$?
	SECS=$(( $(date +%s) - t0 ))
}

# ---- the server stopped ----
pg_stop
timed drive a alice "$(response md5 98 test)"
check "server down, host A (socket): PAM_AUTHINFO_UNAVAIL ($RC) at once (${SECS} s)" \
	test $RC -eq $PAM_AUTHINFO_UNAVAIL -a $SECS -le 3
check "and no prompt was shown" sh -c "! grep -q PROMPT '$T_TMP/out'"
timed drive b alice "$(response md5 98 test)"
check "server down, host B (TCP): PAM_AUTHINFO_UNAVAIL ($RC) at once (${SECS} s)" \
	test $RC -eq $PAM_AUTHINFO_UNAVAIL -a $SECS -le 3
expect_fail "otpkey says it cannot reach the store" "" "^otpkey: postgresql://.*: cannot open key database\$" \
	"$OTPKEY" --db "$ADMIN_URI" list
pg_start
check "the state is as it was" test "$(pg_first alice)" = "otp-md5 98 test ext"

# ---- unreachable: something accepts the connection and never answers ----
SPORT=$(free_port)
timeout 60 python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$SPORT" &
sink=$!
wait_listen() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; }
i=0
until wait_listen "$SPORT" || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
pg_service slow2 "postgresql://otp_login@127.0.0.1:$SPORT/otp?connect_timeout=2&passfile=$PGBASE/pgpass"
pg_service slow "postgresql://otp_login@127.0.0.1:$SPORT/otp?passfile=$PGBASE/pgpass"
timed drive slow2 alice "$(response md5 98 test)"
check "a server that never answers, connect_timeout=2: PAM_AUTHINFO_UNAVAIL ($RC) after 2 s (${SECS} s)" \
	test $RC -eq $PAM_AUTHINFO_UNAVAIL -a $SECS -ge 1 -a $SECS -le 6
timed drive slow alice "$(response md5 98 test)"
check "and with the default connect timeout (5 s): PAM_AUTHINFO_UNAVAIL ($RC, ${SECS} s)" \
	test $RC -eq $PAM_AUTHINFO_UNAVAIL -a $SECS -ge 4 -a $SECS -le 10
kill "$sink" 2>/dev/null
wait "$sink" 2>/dev/null

# ---- the server gone between the challenge and the answer ----
# begin SERVICE USER: a login that waits for its answer on a fifo (fd 3).
begin() {
	rm -f "$T_TMP/fifo"; mkfifo "$T_TMP/fifo"
	timeout 60 "$DRIVE" "$CONF" "$1" "$2" - < "$T_TMP/fifo" > "$T_TMP/pending" 2>&1 &
	BEGUN=$!
	exec 3>"$T_TMP/fifo"
	pg_wait_pending "$2"
}
begin b alice
pg_stop
response md5 98 test >&3
exec 3>&-
wait "$BEGUN"
check "the server stopped after the challenge: the answer is refused (PAM_AUTHINFO_UNAVAIL)" test $? -eq $PAM_AUTHINFO_UNAVAIL
pg_start
check "and nothing was consumed" test "$(pg_first alice)" = "otp-md5 98 test ext"
# Its challenge is still outstanding (a clean shutdown keeps the marks): forget it.
"$OTPKEY" --db "$ADMIN_URI" unlock alice
begin a alice
pg_stop
pg_start
response md5 98 test >&3
exec 3>&-
wait "$BEGUN"
check "restarted meanwhile: the login connects again and the answer is taken" test $? -eq $PAM_SUCCESS
check "once" test "$(pg_first alice)" = "otp-md5 97 test ext"

# ---- URIs that would put a secret, or a file found through \$HOME, on a command line ----
expect_fail "a password in the URI is refused (and not printed)" "" "^otpkey: invalid argument\$" \
	"$OTPKEY" --db "postgresql://otp_login:$PG_PASSWORD@127.0.0.1:$PGPORT/otp" list
expect_fail "so is password=" "" "^otpkey: invalid argument\$" \
	"$OTPKEY" --db "postgresql://otp_login@127.0.0.1:$PGPORT/otp?password=$PG_PASSWORD" list
expect_fail "and service=" "" "^otpkey: invalid argument\$" \
	"$OTPKEY" --db "postgresql:///otp?service=otp" list
pg_service withpw "postgresql://otp_login:$PG_PASSWORD@127.0.0.1:$PGPORT/otp"
drive withpw alice "$(response md5 97 test)"
check "the module refuses it too: PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL

# ---- the environment: pinned, or refused when there is nothing to pin ----
# Each would redirect or weaken the connection if libpq read it.
for v in PGHOSTADDR=127.0.0.2 "PGOPTIONS=-c synchronous_commit=off" PGSERVICE=otp PGLOCALEDIR=/nonexistent \
	PGSSLCRLDIR=/nonexistent "PGPASSWORD=$PG_PASSWORD"; do
	env "$v" timeout 60 "$DRIVE" "$CONF" b alice "$(response md5 97 test)" > "$T_TMP/out" 2>&1 </dev/null
	check "${v%%=*} set: refused before connecting (PAM_AUTHINFO_UNAVAIL)" test $? -eq $PAM_AUTHINFO_UNAVAIL
done
check "and nothing was consumed meanwhile" test "$(pg_first alice)" = "otp-md5 97 test ext"
# Pinned ones are simply not read: each of these would make the connection fail if it were.
env PGSSLMODE=verify-full PGCHANNELBINDING=require PGTARGETSESSIONATTRS=read-only PGGSSENCMODE=require \
	PGSSLMINPROTOCOLVERSION=bogus PGCONNECT_TIMEOUT=bogus PGCLIENTENCODING=bogus \
	timeout 60 "$DRIVE" "$CONF" b alice "$(response md5 97 test)" > "$T_TMP/out" 2>&1 </dev/null
check "PGSSLMODE, PGCHANNELBINDING, PGTARGETSESSIONATTRS, ... set: not read" test $? -eq $PAM_SUCCESS
# The passfile is the effective user's (root's home from the password database), not \$HOME's.
mkdir -p "$T_TMP/home"
cp "$PGBASE/pgpass" "$T_TMP/home/.pgpass"
chmod 600 "$T_TMP/home/.pgpass"
pg_service nopass "postgresql://otp_login@127.0.0.1:$PGPORT/otp"
if [ -e "$(getent passwd root | cut -d: -f6)/.pgpass" ]; then
	ok "# SKIP root has a .pgpass of its own"
else
	env HOME="$T_TMP/home" timeout 60 "$DRIVE" "$CONF" nopass alice "$(response md5 96 test)" \
		> "$T_TMP/out" 2>&1 </dev/null
	check "a passfile in \$HOME is not used: PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL
fi
drive b alice "$(response md5 96 test)"
check "while the URI's passfile works" test $? -eq $PAM_SUCCESS

done_testing
