#!/bin/sh
# backend_tls.sh - apop-proxy's TLS to the backend (backend_tls stls and pop3s, backend_ca,
# backend_tls_name) against a private dovecot with a certificate from a test CA made now:
# the relayed bytes equal a direct fetch; a certificate it cannot trust, a name it does not
# carry, or a backend without STLS, and the client gets a clean -ERR and nothing logs in.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/apop/env.sh.inc"

add_user alice alicepw
make_mail "$B/m1" "first" 3
make_mail "$B/m2" "big one" 20000      # about 1.5 MB, many TLS records
for m in m1 m2; do deliver alice "$B/$m"; done
mkdir -p "$B/otp" && chmod 700 "$B/otp"
enrol alice

# A test CA, a backend certificate it signs (localhost and 127.0.0.1 in subjectAltName),
# and a second CA that signed nothing here.
mkdir -p "$B/pki" && chmod 700 "$B/pki"
mkca() { # NAME
	timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$B/pki/$1.key" -out "$B/pki/$1.pem" >/dev/null 2>&1
}
mkca test-ca
mkca other-ca
timeout 60 openssl req -new -newkey rsa:2048 -nodes -subj "/CN=localhost" \
	-keyout "$B/pki/backend.key" -out "$B/pki/backend.csr" >/dev/null 2>&1
printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
	"basicConstraints=CA:FALSE" > "$B/pki/backend.ext"
timeout 60 openssl x509 -req -in "$B/pki/backend.csr" -CA "$B/pki/test-ca.pem" \
	-CAkey "$B/pki/test-ca.key" -CAcreateserial -days 2 -extfile "$B/pki/backend.ext" \
	-out "$B/pki/backend.pem" >/dev/null 2>&1
check "the backend certificate verifies against the test CA" \
	sh -c 'timeout 60 openssl verify -CAfile "$1" "$2" >/dev/null 2>&1' sh "$B/pki/test-ca.pem" "$B/pki/backend.pem"
CA="$B/pki/test-ca.pem"
OTHER="$B/pki/other-ca.pem"

# dovecot with TLS: STLS on the plain port, and a POP3S port.
SPORT=$(free_port)
start_dovecot "ssl = yes" "ssl_cert = <$B/pki/backend.pem" "ssl_key = <$B/pki/backend.key" \
	"service pop3-login {" "  inet_listener pop3s {" "    address = 127.0.0.1" \
	"    port = $SPORT" "    ssl = yes" "  }" "}"
wait_port "$SPORT" || diag "dovecot: no POP3S port: $(cat "$B/dovecot.out" "$B/dovecot.log" 2>&1)"

logins() { grep -c 'Login: user=' "$B/dovecot.log"; }
same() { # DESC FILE1 FILE2
	if [ -s "$2" ] && cmp -s "$2" "$3"; then ok "$1"; else notok "$1"; diag "$(ls -l "$2" "$3" 2>&1)"; fi
}
is() { # DESC WANT GOT
	if [ "$3" = "$2" ]; then ok "$1"; else notok "$1"; diag "want: $2" "got:  $3"; fi
}
DOWN="-ERR [SYS/TEMP] the mail store is unavailable, try again later"

poplib_fetch "$DPORT" pass alice alicepw "$B/py.d" >/dev/null 2>&1
check "the direct fetch got both messages" test "$(wc -c < "$B/py.d")" -gt 1000000
poplib_fetch "$DPORT" stls-pass alice alicepw "$B/py.dstls" "$CA" >/dev/null 2>&1
same "dovecot offers STLS with the test certificate (direct stls())" "$B/py.dstls" "$B/py.d"

# ---- the good cases ----
start_proxy stls "backend_tls stls" "backend_ca $CA" "backend_tls_name localhost" "backend_timeout 10"
before=$(logins)
poplib_fetch "$PORT_stls" apop alice "$APOP_SECRET" "$B/py.stls" >"$B/py.stls.err" 2>&1
same "backend_tls stls: poplib apop() through the proxy, identical bytes" "$B/py.stls" "$B/py.d"
is "one backend login" $((before + 1)) "$(logins)"
check "dovecot saw that login over TLS" sh -c 'grep "Login: user=<alice>" "$1" | tail -n 1 | grep -q "TLS"' sh "$B/dovecot.log"

start_proxy pop3s "backend 127.0.0.1 $SPORT" "backend_tls pop3s" "backend_ca $CA" \
	"backend_tls_name 127.0.0.1" "backend_timeout 10"
before=$(logins)
poplib_fetch "$PORT_pop3s" apop alice "$APOP_SECRET" "$B/py.pop3s" >"$B/py.pop3s.err" 2>&1
same "backend_tls pop3s (name checked as an IP address): poplib apop(), identical bytes" "$B/py.pop3s" "$B/py.d"
is "one backend login" $((before + 1)) "$(logins)"
check "over TLS" sh -c 'grep "Login: user=<alice>" "$1" | tail -n 1 | grep -q "TLS"' sh "$B/dovecot.log"

# ---- refusals: the client gets a clean -ERR, the backend no login ----
# refused DESC NAME LOGPATTERN: an APOP login through proxy NAME must fail with $DOWN and
# the connection close, nothing may log in at the backend, and the proxy's log must say why.
refused() {
	before=$(logins)
	port=$(eval echo "\$PORT_$2")
	out=$(timeout 60 $PROBE talk "$port" "apop:alice:$APOP_SECRET" STAT 2>&1)
	is "$1: -ERR [SYS/TEMP]" "$DOWN" "$(printf '%s\n' "$out" | sed -n 2p)"
	is "$1: then the proxy hangs up, nothing relayed" "EOF" "$(printf '%s\n' "$out" | sed -n '3,$p' | paste -sd' ')"
	is "$1: no login at the backend" "$before" "$(logins)"
	check "$1: the proxy logs why" grep -Eq -- "$3" "$B/$2.log"
	poplib_fetch "$port" apop alice "$APOP_SECRET" "$B/py.$2" >"$B/py.$2.err" 2>&1
	check "$1: poplib apop() fails and gets nothing" test $? -ne 0 -a ! -s "$B/py.$2"
}
start_proxy stls_ca "backend_tls stls" "backend_ca $OTHER" "backend_tls_name localhost" "backend_timeout 10"
refused "stls, a certificate from another CA" stls_ca 'backend TLS failed: unable to get local issuer certificate'
start_proxy pop3s_ca "backend 127.0.0.1 $SPORT" "backend_tls pop3s" "backend_ca $OTHER" \
	"backend_tls_name localhost" "backend_timeout 10"
refused "pop3s, a certificate from another CA" pop3s_ca 'backend TLS failed: unable to get local issuer certificate'
start_proxy stls_name "backend_tls stls" "backend_ca $CA" "backend_tls_name mail.example.org" "backend_timeout 10"
refused "stls, backend_tls_name not in the certificate" stls_name 'backend TLS failed: hostname mismatch'
start_proxy pop3s_name "backend 127.0.0.1 $SPORT" "backend_tls pop3s" "backend_ca $CA" \
	"backend_tls_name 127.0.0.2" "backend_timeout 10"
refused "pop3s, an address not in the certificate" pop3s_name 'backend TLS failed: (hostname|IP address) mismatch'
start_proxy pop3s_plain "backend_tls pop3s" "backend_ca $CA" "backend_tls_name localhost" "backend_timeout 3"
refused "pop3s to the plain port" pop3s_plain 'backend TLS failed: [a-z]'
check "pop3s to the plain port: the log gives a reason, not the verify result 'ok'" \
	sh -c '! grep -q "backend TLS failed: ok$" "$1"' sh "$B/pop3s_plain.log"

# ---- a backend without STLS ----
stop_dovecot
start_dovecot
start_proxy nostls "backend_tls stls" "backend_ca $CA" "backend_tls_name localhost" "backend_timeout 10"
check "dovecot with ssl = no: no STLS in its CAPA" \
	sh -c '! timeout 60 $1 talk "$2" multi:CAPA 2>/dev/null | grep -qx STLS' sh "$PROBE" "$DPORT"
refused "stls to a backend without STLS" nostls 'backend: STLS refused'

check "no secret or password in the proxy's logs" sh -c '! grep -Eq "tanstaaf|alicepw|$2" "$1"/*.log' \
	sh "$B" "$MASTER_PW"
check "no sanitizer report in the proxy's logs" sh -c \
	'for f in "$@"; do case $f in */dovecot.log) ;; *) ! grep -Eq "runtime error|AddressSanitizer|LeakSanitizer" "$f" || exit 1;; esac; done' \
	sh "$B"/*.log
done_testing
