#!/bin/sh
# proxy.sh - apop-proxy on the PostgreSQL store, through its configuration file
# alone and a POP3 client (Python's poplib): two proxies, one per "host", share
# the store; APOP and OTP logins fetch what dovecot holds; a response used on
# one is refused on the other; the store down is -ERR [SYS/TEMP].
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/apop/env.sh.inc"
. "$OTP_SRC/tests/pg/env.sh.inc"
trap 'stop_all; pg_cleanup; rm -rf "$T_TMP"' EXIT
pg_skip_unless_ready

pg_init || { notok "the private PostgreSQL cluster starts"; done_testing; exit 1; }
"$OTPKEY" --db "$ADMIN_URI" create >/dev/null && grant_login otp_login
DB=$ADMIN_URI                   # env.sh.inc's enrol: the OTP key and the APOP secret
for u in alice bob; do add_user "$u" "${u}pw"; done
make_mail "$B/m1" "first" 3
make_mail "$B/m2" "second" 40
for u in alice bob; do deliver "$u" "$B/m1"; deliver "$u" "$B/m2"; done
enrol alice && enrol bob
check "users enrolled with otpkey in PostgreSQL (key and APOP secret)" \
	sh -c "'$OTPKEY' --db '$ADMIN_URI' info bob | grep -q '^apop: set'"
start_dovecot
start_proxy a "db $HOST_A"
start_proxy b "db $HOST_B"

poplib_fetch "$DPORT" pass alice alicepw "$B/direct.alice"
poplib_fetch "$PORT_a" apop alice "$APOP_SECRET" "$B/apop.alice"
check "APOP through the proxy on host A fetches what dovecot holds" cmp -s "$B/direct.alice" "$B/apop.alice"
poplib_fetch "$PORT_b" apop alice "$APOP_SECRET" "$B/apop.alice.b"
check "and on host B" cmp -s "$B/direct.alice" "$B/apop.alice.b"

poplib_fetch "$DPORT" pass bob bobpw "$B/direct.bob"
poplib_fetch "$PORT_b" otp bob x "$B/otp.bob"
check "an OTP login (the challenge in the USER reply) through host B" cmp -s "$B/direct.bob" "$B/otp.bob"
check "moved bob's key one step in the shared store" test "$(pg_first bob)" = "otp-md5 98 test ext"
# replay PORT USER RESPONSE: the PASS reply to a response typed again.
replay() {
	timeout 60 python3 - "$@" <<'PY'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)
p.user(sys.argv[2])
try:
    print(p.pass_(sys.argv[3]).decode())
except poplib.error_proto as e:
    print(e.args[0].decode())
PY
}
matches() { printf '%s\n' "$1" | grep -Eq -- "$2"; }
out=$(replay "$PORT_a" bob "$(cat "$B/otp.bob.resp")")
check "the response host B took is refused on host A ($out)" matches "$out" '^-ERR \[AUTH\]'
poplib_fetch "$PORT_a" otp bob x "$B/otp.bob.a"
check "and the next one logs in there" cmp -s "$B/direct.bob" "$B/otp.bob.a"

pg_stop
out=$(timeout 60 $PROBE talk "$PORT_a" "USER bob" QUIT 2>&1 | sed -n 2p | tr -d '\r')
check "the store down: USER gets -ERR [SYS/TEMP] ($out)" matches "$out" '^-ERR \[SYS/TEMP\]'
out=$(timeout 60 $PROBE talk "$PORT_b" "apop:alice:$APOP_SECRET" QUIT 2>&1 | sed -n 2p | tr -d '\r')
check "and APOP on host B too ($out)" matches "$out" '^-ERR \[SYS/TEMP\]'
pg_start
poplib_fetch "$PORT_b" apop alice "$APOP_SECRET" "$B/apop.alice.c"
check "back up: APOP logs in again" cmp -s "$B/direct.alice" "$B/apop.alice.c"

done_testing
