#!/bin/sh
# tls.sh - the PostgreSQL store over TLS with sslmode=verify-full: a CA made at
# run time, the server's certificate for 127.0.0.1 and otp-db.test; logins with
# SCRAM (passfile) and with a client certificate; a wrong CA or a wrong name
# fails closed; the CA is never looked for in $HOME.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/pg/env.sh.inc"
pg_skip_unless_ready

pg_init || { notok "the private PostgreSQL cluster starts"; done_testing; exit 1; }
"$OTPKEY" --db "$ADMIN_URI" create >/dev/null && grant_login otp_login && grant_login otp_cert
pg_enrol "$ADMIN_URI" alice 100 test

TLS="$PGBASE/tls"
mkdir -p "$TLS"
ec() { echo "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"; }
# ca NAME: a self-signed CA.
ca() { openssl req -x509 $(ec) -keyout "$TLS/$1.key" -out "$TLS/$1.crt" -days 2 -subj "/CN=$1" 2>/dev/null; }
# cert NAME CN SAN: a certificate signed by the test CA.
cert() {
	openssl req $(ec) -keyout "$TLS/$1.key" -out "$TLS/$1.csr" -subj "/CN=$2" 2>/dev/null &&
	printf 'subjectAltName=%s\n' "$3" > "$TLS/$1.ext" &&
	openssl x509 -req -in "$TLS/$1.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
		-days 2 -extfile "$TLS/$1.ext" -out "$TLS/$1.crt" 2>/dev/null
}
ca ca && ca wrongca && cert server otp-db.test "DNS:otp-db.test,IP:127.0.0.1" &&
	cert client otp_cert "DNS:otp_cert"
check "a CA, a server and a client certificate made at run time" test -s "$TLS/client.crt"
chown -R postgres "$TLS"
chmod 600 "$TLS"/*.key
cp "$TLS/client.key" "$TLS/root-client.key"      # the client's key: root's own, 0600
chown root "$TLS/root-client.key"
chmod 600 "$TLS/root-client.key"
cat >> "$PGDATA/postgresql.conf" <<EOF
ssl = on
ssl_cert_file = '$TLS/server.crt'
ssl_key_file = '$TLS/server.key'
ssl_ca_file = '$TLS/ca.crt'
EOF
echo "hostssl all otp_cert 127.0.0.1/32 cert" >> "$PGDATA/pg_hba.conf"
psql_su postgres -c "SELECT pg_reload_conf()" > /dev/null
# The passfile names hosts as the URI does: any, here.
printf '*:%s:otp:otp_login:%s\n' "$PGPORT" "$PG_PASSWORD" > "$PGBASE/pgpass.any"
chmod 600 "$PGBASE/pgpass.any"

tls_uri() { # HOST ROOTCERT [MORE]
	echo "postgresql://otp_login@$1:$PGPORT/otp?sslmode=verify-full&sslrootcert=$2&passfile=$PGBASE/pgpass.any${3:-}"
}
i=0
until psql_su postgres -c "SELECT current_setting('ssl')" | grep -q on || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
check "the server takes TLS" test "$("$PGBIN/psql" -X -A -t "$(tls_uri 127.0.0.1 "$TLS/ca.crt")" \
	-c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>/dev/null)" = t

pg_service good "$(tls_uri 127.0.0.1 "$TLS/ca.crt")"
pg_service named "$(tls_uri otp-db.test "$TLS/ca.crt" "&hostaddr=127.0.0.1")"
pg_service wrongca "$(tls_uri 127.0.0.1 "$TLS/wrongca.crt")"
pg_service wrongname "$(tls_uri wrong.test "$TLS/ca.crt" "&hostaddr=127.0.0.1")"
pg_service cert "postgresql://otp_cert@127.0.0.1:$PGPORT/otp?sslmode=verify-full&sslrootcert=$TLS/ca.crt&sslcert=$TLS/client.crt&sslkey=$TLS/root-client.key"
pg_service nocert "postgresql://otp_cert@127.0.0.1:$PGPORT/otp?sslmode=verify-full&sslrootcert=$TLS/ca.crt"
pg_service homeca "postgresql://otp_login@127.0.0.1:$PGPORT/otp?sslmode=verify-full&passfile=$PGBASE/pgpass.any"

drive good alice "$(response md5 99 test)"
check "verify-full with the CA, by address (IP in the certificate): logged in" test $? -eq $PAM_SUCCESS
drive named alice "$(response md5 98 test)"
check "verify-full by name (otp-db.test, hostaddr 127.0.0.1): logged in" test $? -eq $PAM_SUCCESS
drive wrongca alice "$(response md5 97 test)"
check "a wrong CA fails closed: PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL
check "with no prompt shown" sh -c "! grep -q PROMPT '$T_TMP/out'"
drive wrongname alice "$(response md5 97 test)"
check "a name the certificate does not have fails closed: PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL
expect_fail "otpkey with the wrong CA: cannot open" "" "cannot open key database" \
	"$OTPKEY" --db "$(tls_uri 127.0.0.1 "$TLS/wrongca.crt")" list
check "nothing was consumed" test "$(pg_first alice)" = "otp-md5 97 test ext"
drive cert alice "$(response md5 97 test)"
check "a client certificate instead of a password (cert authentication): logged in" test $? -eq $PAM_SUCCESS
drive nocert alice "$(response md5 96 test)"
check "without it the cert role is refused: PAM_AUTHINFO_UNAVAIL" test $? -eq $PAM_AUTHINFO_UNAVAIL
mkdir -p "$T_TMP/home/.postgresql"
cp "$TLS/ca.crt" "$T_TMP/home/.postgresql/root.crt"
if [ -e "$(getent passwd root | cut -d: -f6)/.postgresql/root.crt" ]; then
	ok "# SKIP root has a ~/.postgresql/root.crt of its own"
else
	env HOME="$T_TMP/home" timeout 60 "$DRIVE" "$CONF" homeca alice "$(response md5 96 test)" \
		> "$T_TMP/out" 2>&1 </dev/null
	check "verify-full without sslrootcert: root's ~/.postgresql/root.crt, never \$HOME's (refused)" \
		test $? -eq $PAM_AUTHINFO_UNAVAIL
fi
drive good alice "$(response md5 96 test)"
check "and the good URI still logs in" test $? -eq $PAM_SUCCESS

done_testing
