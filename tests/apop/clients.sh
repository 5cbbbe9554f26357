#!/bin/sh
# clients.sh - real POP3 clients (curl, fetchmail, mpop, Python's poplib) through apop-proxy
# to a private dovecot: APOP and OTP logins, STLS, and the bytes compared with a direct fetch.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/apop/env.sh.inc"

add_user alice alicepw
make_mail "$B/m1" "first" 3
make_mail "$B/m2" "big one" 70000      # about 5.4 MB
make_mail "$B/m3" "third" 40
for m in m1 m2 m3; do deliver alice "$B/$m"; done
add_user dis dispw
add_user lock lockpw
mkdir -p "$B/otp" && chmod 700 "$B/otp"
enrol alice
enrol dis
enrol lock
"$OTPKEY" --db "$DB" disable dis
start_dovecot
start_proxy main
P=$PORT_main

test_cert
start_proxy tls "tls_cert $B/cert.pem" "tls_key $B/key.pem" "allow_plain_pass yes"
T=$PORT_tls

same() { # DESC FILE1 FILE2
	if [ -s "$2" ] && cmp -s "$2" "$3"; then ok "$1"; else notok "$1"; diag "$(ls -l "$2" "$3" 2>&1)"; fi
}

# ---- curl ----
for n in 1 2 3; do
	timeout 120 curl -sS "pop3://127.0.0.1:$P/$n" -u "alice:$APOP_SECRET" --login-options 'AUTH=+APOP' \
		-o "$B/curl.p$n" 2>"$B/curl.err"
	timeout 120 curl -sS "pop3://127.0.0.1:$DPORT/$n" -u "alice:alicepw" -o "$B/curl.d$n" 2>>"$B/curl.err"
	same "curl APOP: message $n identical to the direct fetch" "$B/curl.p$n" "$B/curl.d$n"
done
check "curl: the 5 MB message came through whole" test "$(wc -c < "$B/curl.p2")" -gt 5000000
timeout 60 curl -sS "pop3://127.0.0.1:$P/1" -u "alice:wrong secret" --login-options 'AUTH=+APOP' \
	-o /dev/null 2>/dev/null
check "curl APOP with a wrong secret fails" test $? -ne 0
timeout 120 curl -sS --ssl-reqd --cacert "$B/cert.pem" "pop3://127.0.0.1:$T/3" -u "alice:$APOP_SECRET" \
	--login-options 'AUTH=+APOP' -o "$B/curl.t3" 2>>"$B/curl.err"
same "curl over STLS (certificate checked): APOP and identical bytes" "$B/curl.t3" "$B/curl.d3"

# ---- fetchmail ----
mkdir -p "$B/fm"
fm_rc() { # FILE PORT PROTO PASSWORD OUT
	cat > "$1" <<RC
set no syslog
poll 127.0.0.1 service $2 protocol $3 user "alice" password "$4" is root here keep fetchall no rewrite sslproto '' mda "/bin/sh -c 'cat >> $5'"
RC
	chmod 600 "$1"
}
# fetchmail puts its own Received: header first; the rest must match.
strip_received() { awk 'skip && /^[ \t]/ { next } { skip = 0 } /^Received: from 127\.0\.0\.1/ { skip = 1; next } { print }' "$1"; }
fm_rc "$B/fm/rc.p" "$P" APOP "$APOP_SECRET" "$B/fm/p.out"
fm_rc "$B/fm/rc.d" "$DPORT" POP3 alicepw "$B/fm/d.out"
fm_rc "$B/fm/rc.bad" "$P" APOP "not the secret" "$B/fm/bad.out"
FETCHMAILHOME="$B/fm" timeout 120 fetchmail -f "$B/fm/rc.p" >"$B/fm/log" 2>&1
check "fetchmail (protocol APOP) through the proxy succeeds" test $? -eq 0
FETCHMAILHOME="$B/fm" timeout 120 fetchmail -f "$B/fm/rc.d" >>"$B/fm/log" 2>&1
strip_received "$B/fm/p.out" > "$B/fm/p.cmp"
strip_received "$B/fm/d.out" > "$B/fm/d.cmp"
same "fetchmail: the three messages identical to the direct fetch" "$B/fm/p.cmp" "$B/fm/d.cmp"
check "fetchmail got the big message" test "$(wc -c < "$B/fm/p.cmp")" -gt 5000000
FETCHMAILHOME="$B/fm" timeout 120 fetchmail -f "$B/fm/rc.bad" >>"$B/fm/log" 2>&1
check "fetchmail with a wrong secret: authentication failure (status 3)" test $? -eq 3

# ---- mpop ----
mkdir -p "$B/mp"
mp() { # PORT AUTH PASSWORD OUT [TLS OPTIONS]
	port=$1 auth=$2 pw=$3 out=$4; shift 4
	HOME="$B/mp" timeout 120 mpop --host=127.0.0.1 --port="$port" --auth="$auth" --user=alice \
		--passwordeval="printf '%s' '$pw'" --keep=on --only-new=off --uidls-file="$out.uidls" \
		--delivery="mbox,$out" --received-header=off -q "$@" >>"$B/mp/log" 2>&1
}
mp "$P" apop "$APOP_SECRET" "$B/mp/p.mbox" --tls=off
check "mpop --auth=apop through the proxy succeeds" test $? -eq 0
mp "$DPORT" user alicepw "$B/mp/d.mbox" --tls=off
# The mbox "From " separators carry the delivery time; the rest must match.
no_from() { grep -v '^From ' "$1" > "$1.cmp"; }
no_from "$B/mp/p.mbox"
no_from "$B/mp/d.mbox"
check "mpop: three messages delivered" test "$(grep -c '^From ' "$B/mp/p.mbox")" -eq 3
same "mpop: the mailbox identical to the direct fetch" "$B/mp/p.mbox.cmp" "$B/mp/d.mbox.cmp"
mp "$P" apop "wrong secret here" "$B/mp/bad.mbox" --tls=off
check "mpop with a wrong secret fails" test $? -ne 0
mp "$T" apop "$APOP_SECRET" "$B/mp/t.mbox" --tls=on --tls-starttls=on --tls-trust-file="$B/cert.pem" \
	--tls-host-override=proxy.test
no_from "$B/mp/t.mbox"
same "mpop over STLS: identical mailbox" "$B/mp/t.mbox.cmp" "$B/mp/d.mbox.cmp"

# ---- Python poplib ----
poplib_fetch "$DPORT" pass alice alicepw "$B/py.d" >/dev/null 2>&1
poplib_fetch "$P" apop alice "$APOP_SECRET" "$B/py.apop" >/dev/null 2>&1
same "poplib apop(): identical messages" "$B/py.apop" "$B/py.d"
poplib_fetch "$P" otp alice - "$B/py.otp" >/dev/null 2>&1
same "poplib USER/PASS with an OTP (otpcalc on the USER reply's challenge): identical" "$B/py.otp" "$B/py.d"
check "the OTP login used the challenge otp-md5 99 test" test "$(timeout 60 "$OTPKEY" --db "$DB" info alice | head -n 1)" = "otp-md5 98 test ext"
timeout 60 python3 - "$P" "$(cat "$B/py.otp.resp")" > "$B/py.replay" 2>&1 <<'PY'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=60)
print(p.user("alice").decode())
try:
    p.pass_(sys.argv[2])
    print("ACCEPTED")
except poplib.error_proto as e:
    print("REFUSED", e)
PY
check "poplib: the same OTP again is refused" grep -q '^REFUSED.*-ERR \[AUTH\]' "$B/py.replay"
check "and the replay was offered the next challenge" grep -q '^+OK otp-md5 98 test ext$' "$B/py.replay"
poplib_fetch "$P" apop alice "wrong secret" "$B/py.bad" >/dev/null 2>&1
check "poplib apop() with a wrong secret fails" test $? -ne 0 -a ! -s "$B/py.bad"
poplib_fetch "$T" stls-apop alice "$APOP_SECRET" "$B/py.stls" "$B/cert.pem" >/dev/null 2>&1
same "poplib stls() then apop(): identical messages" "$B/py.stls" "$B/py.d"

# ---- reusable passwords ----
logins() { grep -c 'Login: user=<alice>' "$B/dovecot.log"; }
before=$(logins)
timeout 60 $PROBE talk "$P" "USER alice" "PASS alicepw" > "$B/plain" 2>&1
check "a plaintext PASS is refused without allow_plain_pass" grep -q '^-ERR \[AUTH\] authentication failed' "$B/plain"
check "and never reached the backend" test "$(logins)" = "$before"
timeout 60 $PROBE talk "$T" "USER alice" "PASS alicepw" > "$B/plain" 2>&1
check "allowed, but not before STLS" grep -q '^-ERR \[AUTH\] reusable passwords are accepted only after STLS' "$B/plain"
check "still nothing at the backend" test "$(logins)" = "$before"
timeout 60 $PROBE fetch "$T" stls-pass alice alicepw "$B/plain.stls" "$B/cert.pem" >/dev/null 2>&1
same "after STLS, an allowed plaintext PASS goes through to the backend" "$B/plain.stls" "$B/py.d"
check "logged as method=pass" grep -q 'login; method=pass user=alice rhost=127.0.0.1' "$B/tls.log"
# Pass-through logins obey otpkey disable and the lockout (libotp's otp_password_verdict).
export POP_CA="$B/cert.pem"
pt() { timeout 60 $PROBE talk "$T" stls "USER $1" "PASS $2" 2>&1 | sed -n 4p; }
is() { if [ "$3" = "$2" ]; then ok "$1"; else notok "$1"; diag "want: $2" "got:  $3"; fi; }
is "(the same dialogue: an enabled user logs in)" "+OK logged in" "$(pt alice alicepw)"
is "after STLS, a disabled user's right backend password is refused" "-ERR [AUTH] authentication failed" \
	"$(pt dis dispw)"
for i in 1 2 3 4 5; do pt lock "wrong$i" >/dev/null; done
is "five wrong backend passwords count as failures" 5 \
	"$(timeout 60 "$OTPKEY" --db "$DB" info lock | sed -n 's/^failures: //p')"
is "and the user is locked out: the right one is refused too" "-ERR [AUTH] authentication failed" \
	"$(pt lock lockpw)"
check "CAPA offers STLS only where configured" sh -c \
	'timeout 60 $1 talk "$2" multi:CAPA 2>/dev/null | grep -qx STLS && ! timeout 60 $1 talk "$3" multi:CAPA 2>/dev/null | grep -qx STLS' \
	sh "$PROBE" "$T" "$P"

check "no secret, digest or password in the proxy's logs" \
	sh -c '! grep -Eq "tanstaaf|alicepw|[0-9a-f]{32}|$(tr " " "." < "$1")" "$2" "$3"' sh "$B/py.otp.resp" "$B/main.log" "$B/tls.log"
check "no sanitizer report in the proxy's logs" sh -c '! grep -Eq "runtime error|AddressSanitizer|LeakSanitizer" "$1" "$2"' \
	sh "$B/main.log" "$B/tls.log"
done_testing
