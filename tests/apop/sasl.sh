#!/bin/sh
# sasl.sh - AUTH (RFC 5034) through apop-proxy: the OTP mechanism (RFC 2444) with cyrus-sasl's
# own client (pop3test from cyrus-clients, libsasl2-modules-otp) against a private dovecot,
# then the dialogue's edges (initial responses, "*", base64, lengths) and PLAIN after STLS.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/apop/env.sh.inc"

POP3TEST=/usr/lib/cyrus/bin/pop3test
# cyrus-sasl's client and its OTP mechanism (make deps installs them).
if [ ! -x "$POP3TEST" ] || ! ls /usr/lib/*/sasl2/libotp.so* >/dev/null 2>&1; then
	ok "# SKIP cyrus-clients or libsasl2-modules-otp is not installed"
	done_testing
	exit
fi
add_user alice alicepw
add_user rekey rekeypw
add_user erin erinpw
add_user pat patpw
add_user lou loupw
add_user wordy wordypw
make_mail "$B/m1" "first" 3
make_mail "$B/m2" "second" 400
for u in alice rekey erin pat lou wordy; do deliver "$u" "$B/m1"; deliver "$u" "$B/m2"; done
mkdir -p "$B/otp" && chmod 700 "$B/otp"
enrol alice 500                 # challenges from 499: cyrus's client answers with hex
enrol rekey 100                 # below 490: cyrus's client re-keys with init-hex
enrol erin 500
enrol lou 500
enrol wordy 500
"$OTPKEY" --db "$DB" disable erin
start_dovecot
start_proxy main
P=$PORT_main
test_cert
start_proxy tls "tls_cert $B/cert.pem" "tls_key $B/key.pem"
start_proxy pass "tls_cert $B/cert.pem" "tls_key $B/key.pem" "allow_plain_pass yes"
export POP_CA="$B/cert.pem"

talk() { port=$1; shift; timeout 60 $PROBE talk "$port" "$@" 2>&1; }
is() { # DESC WANT GOT
	if [ "$3" = "$2" ]; then ok "$1"; else notok "$1"; diag "want: $2" "got:  $3"; fi
}
like() { # DESC ERE GOT
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else notok "$1"; diag "want: /$2/" "got:  $3"; fi
}
info() { timeout 60 "$OTPKEY" --db "$DB" info "$1" | grep "^$2: " | cut -d' ' -f2-; }
chal() { timeout 60 "$OTPKEY" --db "$DB" info "$1" | head -n 1; }
logins() { grep -c "Login: user=<$1>" "$B/dovecot.log"; }
printf 'STAT\r\nRETR 2\r\nQUIT\r\n' > "$B/cmds"
# pop3t PORT USER [OPTION...]: cyrus's pop3test, the commands above piped in after the login.
pop3t() {
	port=$1 user=$2; shift 2
	timeout 60 "$POP3TEST" -p "$port" -a "$user" -u "$user" -f "$B/cmds" "$@" 127.0.0.1 2>&1
}
# The second message as the client printed it: from its "+OK N octets" to the ".".
message() { printf '%s\n' "$1" | tr -d '\r' | awk '/^\+OK [0-9]+ octets/ { on = 1 } on { print } on && /^\.$/ { exit }'; }

# ---- cyrus-sasl's client: the OTP mechanism from the pass phrase ----
# The reference fetch, straight from dovecot (tried up to three times: a loaded machine may
# make cyrus's client give up before the first login of a fresh dovecot is answered).
for _ in 1 2 3; do
	direct=$(pop3t "$DPORT" alice -m user -w alicepw)
	[ "$(message "$direct" | wc -l)" -gt 400 ] && break
	sleep 1
done
check "(a direct fetch with pop3test -m user gets the message)" test "$(message "$direct" | wc -l)" -gt 400
[ "$(message "$direct" | wc -l)" -gt 400 ] || diag "$(printf '%s\n' "$direct" | head -30)"
before=$(logins alice)
out=$(pop3t "$P" alice -m OTP -w "$OTP_PASS")
check "pop3test -m OTP through the proxy: authenticated" sh -c 'printf "%s\n" "$1" | grep -q "^Authenticated\."' sh "$out"
is "the message it fetched is identical to the direct fetch" "$(message "$direct")" "$(message "$out")"
is "one backend login for it" "$((before + 1))" "$(logins alice)"
is "the challenge it answered was the login transaction's: 499 used" "otp-md5 498 test ext" "$(chal alice)"
check "logged as method=sasl-otp" grep -q 'login; method=sasl-otp user=alice rhost=127.0.0.1 remaining=498$' "$B/main.log"
resp="hex:$(printf '%s\n' "$OTP_PASS" | "$OTPCALC" -x 498 test | tr -d ' ')"
out=$(printf '%s\n' "$resp" | pop3t "$P" alice -m OTP -c)
like "pop3test -c shows the challenge and sends the one-time password typed" 'Server challenge: otp-md5 498 test ext' "$out"
check "and it logs in" sh -c 'printf "%s\n" "$1" | grep -q "^Authenticated\."' sh "$out"
out=$(printf '%s\n' "$resp" | pop3t "$P" alice -m OTP -c)
check "the same response again (a replay): authentication fails" \
	sh -c 'printf "%s\n" "$1" | grep -q "^Authentication failed" && ! printf "%s\n" "$1" | grep -q "^Authenticated"' sh "$out"
like "it was offered the next challenge" 'Server challenge: otp-md5 497 test ext' "$out"
out=$(pop3t "$P" alice -m OTP -w "not the pass phrase")
check "a wrong pass phrase: authentication fails" sh -c 'printf "%s\n" "$1" | grep -q "^Authentication failed"' sh "$out"
is "the replay and the wrong one counted as failures" 2 "$(info alice failures)"
out=$(printf 'hex:0011223344556677\n' | pop3t "$P" nosuch -m OTP -c)
like "an unknown user gets a challenge like a user's" 'Server challenge: otp-(md4|md5|sha1) [0-9]+ [a-z0-9]+ ext' "$out"
check "and fails like a wrong response" sh -c 'printf "%s\n" "$1" | grep -q "^Authentication failed"' sh "$out"
u1=$(talk "$P" "USER nosuch" | sed -n 2p | cut -c5-)
like "the same challenge USER shows it" "Server challenge: $u1\$" "$(printf '%s\n' "$out" | grep 'Server challenge')"
out=$(pop3t "$P" erin -m OTP -w "$OTP_PASS")
check "a disabled user: authentication fails" sh -c 'printf "%s\n" "$1" | grep -q "^Authentication failed"' sh "$out"
for i in 1 2 3 4 5; do pop3t "$P" lou -m OTP -w "wrong $i" >/dev/null; done
is "five wrong pass phrases through the mechanism count as failures" 5 "$(info lou failures)"
like "and lock the user out (libotp's rule, as for pam_otp)" '^locked until: [0-9]{4}-' \
	"$(timeout 60 "$OTPKEY" --db "$DB" info lou | grep '^locked until: ')"
is "during the lockout APOP, which can be guessed, is refused" "-ERR [AUTH] authentication failed" \
	"$(talk "$P" "apop:lou:$APOP_SECRET" | sed -n 2p)"
out=$(pop3t "$P" lou -m OTP -w "$OTP_PASS")
check "a right RFC 2289 response, which cannot be, is still accepted (as pam_otp accepts it)" \
	sh -c 'printf "%s\n" "$1" | grep -q "^Authenticated\."' sh "$out"

# ---- a re-key through the mechanism (RFC 2243 init-hex, sent by cyrus's client below 490) ----
before=$(logins rekey)
out=$(pop3t "$P" rekey -m OTP -w "$OTP_PASS")
check "pop3test at sequence 99 re-keys with init-hex, and is authenticated" \
	sh -c 'printf "%s\n" "$1" | grep -q "^Authenticated\."' sh "$out"
like "the proxy says the key was re-initialised" '^S: \+OK logged in; the key was re-initialised, 498 one-time passwords left' "$out"
new=$(chal rekey)
like "the user has the new key: 499, a new seed" '^otp-md5 498 [a-z0-9]+ ext$' "$new"
check "(the seed is not the old one)" test "$new" != "otp-md5 98 test ext"
out=$(pop3t "$P" rekey -m OTP -w "$OTP_PASS")
check "and the next login uses it" sh -c 'printf "%s\n" "$1" | grep -q "^Authenticated\."' sh "$out"
is "two backend logins" "$((before + 2))" "$(logins rekey)"
# init-word (RFC 2243) through the mechanism, with a new pass phrase and seed.
printf '%s\n%s\n' "$OTP_PASS" "A new pass phrase." > "$B/phrases"
iw=$("$OTPCALC" -t init-word --new-seed ab12 --passphrase-file "$B/phrases" "$(chal wordy)")
like "(otpcalc made an init-word response)" '^init-word:' "$iw"
is "an init-word response through AUTH OTP re-keys and logs in" \
	"+OK logged in; the key was re-initialised, 498 one-time passwords left" \
	"$(talk "$P" 'AUTH OTP AHdvcmR5' "b64:$iw" | sed -n 3p)"
is "the user has the new seed" "otp-md5 498 ab12 ext" "$(chal wordy)"
r=$(printf '%s\n' "A new pass phrase." | "$OTPCALC" -x 498 ab12 | tr -d ' ')
is "and the new pass phrase logs in" "+OK logged in" "$(talk "$P" 'AUTH OTP AHdvcmR5' "b64:hex:$r" | sed -n 3p)"

# ---- the dialogue's edges, with a scripted client ----
out=$(talk "$P" "multi:AUTH")
is "AUTH alone lists the mechanisms" "+OK SASL mechanisms follow|OTP|." "$(printf '%s\n' "$out" | sed -n '2,4p' | paste -sd'|')"
c0=$(chal alice)
out=$(talk "$P" "AUTH OTP" 'b64:\0alice' dec '*' "USER alice")
is "no initial response: an empty challenge first" "+ " "$(printf '%s\n' "$out" | sed -n 2p)"
is "then the challenge, base64" "= ${c0%,*}" "$(printf '%s\n' "$out" | sed -n 4p)"
is "\"*\" cancels: -ERR" "-ERR [AUTH] authentication cancelled" "$(printf '%s\n' "$out" | sed -n 5p)"
is "and the challenge goes back: USER shows it again" "+OK $c0" "$(printf '%s\n' "$out" | sed -n 6p)"
out=$(talk "$P" "AUTH OTP AGFsaWNl" dec)
is "an initial response: the challenge at once" "= $c0" "$(printf '%s\n' "$out" | sed -n 3p)"
is "an empty initial response (=) is no OTP message" "-ERR [AUTH] malformed OTP message (authzid NUL authcid)" \
	"$(talk "$P" "AUTH OTP =" | sed -n 2p)"
is "base64 with a character outside it: refused" "-ERR [AUTH] malformed base64" "$(talk "$P" "AUTH OTP AGFs*WNl" | sed -n 2p)"
is "base64 without its padding: refused" "-ERR [AUTH] malformed base64" "$(talk "$P" "AUTH OTP AGFsaWNlAA" | sed -n 2p)"
is "base64 whose padding hides set bits: refused" "-ERR [AUTH] malformed base64" "$(talk "$P" "AUTH OTP AGFsaWNlAB==" | sed -n 2p)"
long=$(printf 'QUFB%.0s' $(seq 400))
out=$(talk "$P" "AUTH OTP" "$long" multi:CAPA)
is "a continuation line over the longest message: refused, and read to its end" \
	"-ERR [AUTH] response too long|+OK capability list follows" "$(printf '%s\n' "$out" | sed -n '3,4p' | paste -sd'|')"
is "another authorisation identity: refused" "-ERR [AUTH] logging in as another user is not allowed" \
	"$(talk "$P" 'AUTH OTP' 'b64:bob\0alice' | sed -n 3p)"
r=$(printf '%s\n' "$OTP_PASS" | "$OTPCALC" -x "$(chal alice | cut -d' ' -f2)" test | tr -d ' ')
is "a response ending in CRLF (RFC 2444 allows it) logs in" "+OK logged in" \
	"$(talk "$P" 'AUTH OTP AGFsaWNl' "b64:hex:$r\\r\\n" | sed -n 3p)"
is "an unknown mechanism" "-ERR [AUTH] unknown SASL mechanism (CAPA lists them)" "$(talk "$P" "AUTH CRAM-MD5" | sed -n 2p)"

# ---- PLAIN: only inside TLS, with the APOP secret, or passed through where allowed ----
capa=$(talk "$PORT_tls" multi:CAPA stls multi:CAPA | tr '\n' ' ')
like "CAPA before STLS: SASL OTP, and STLS" 'SASL OTP STLS \. ' "$capa"
like "after it: SASL OTP PLAIN" 'SASL OTP PLAIN \. $' "$capa"
is "PLAIN with the APOP secret after STLS logs in" "+OK logged in" \
	"$(talk "$PORT_tls" stls "AUTH PLAIN" "b64:\\0alice\\0$APOP_SECRET" | sed -n 4p)"
check "logged as method=sasl-plain" grep -q 'login; method=sasl-plain user=alice rhost=127.0.0.1$' "$B/tls.log"
is "with a wrong password: refused" "-ERR [AUTH] authentication failed" \
	"$(talk "$PORT_tls" stls "AUTH PLAIN" 'b64:\0alice\0not the secret' | sed -n 4p)"
before=$(logins alice)
is "the backend's own password is no APOP secret: refused without allow_plain_pass" "-ERR [AUTH] authentication failed" \
	"$(talk "$PORT_tls" stls "AUTH PLAIN" 'b64:\0alice\0alicepw' | sed -n 4p)"
is "and never reached the backend" "$before" "$(logins alice)"
is "with allow_plain_pass it is passed through" "+OK logged in" \
	"$(talk "$PORT_pass" stls "AUTH PLAIN" 'b64:\0pat\0patpw' | sed -n 4p)"
is "a disabled user with the right password: refused (otp_password_verdict)" "-ERR [AUTH] authentication failed" \
	"$(talk "$PORT_pass" stls "AUTH PLAIN" 'b64:\0erin\0erinpw' | sed -n 4p)"
check "(the backend took the password; libotp refused the user)" grep -q 'method=sasl-plain user=erin .*reason=the key is disabled\|method=sasl-plain user=erin .*disabled' "$B/pass.log"

check "no secret, response or password in the proxies' logs" \
	sh -c '! grep -Eiq "tanstaaf|alicepw|patpw|erinpw|$1" "$2"/main.log "$2"/tls.log "$2"/pass.log' sh "$(printf '%s' "$r")" "$B"
check "no sanitizer report" sh -c '! grep -Eq "runtime error|AddressSanitizer" "$1"/main.log "$1"/tls.log "$1"/pass.log' sh "$B"
done_testing
