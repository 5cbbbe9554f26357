#!/bin/sh
# hostile.sh - apop-proxy's monitor driven by a lying session: forged order, forged results,
# over-long, truncated and malformed messages, too many tries.  The real monitor code runs
# (tests/tools/monstand plays the master); the session is tests/apop/hostile.py.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/apop/env.sh.inc"

STAND="$OTP_BUILD/tests/tools/monstand"
HOSTILE="python3 $HERE/hostile.py"
add_user alice alicepw
make_mail "$B/m1" "first" 3
deliver alice "$B/m1"
mkdir -p "$B/otp" && chmod 700 "$B/otp"
enrol alice 500
start_dovecot
proxy_conf cfg "max_auth_failures 3"
logins() { grep -c 'Login: user=' "$B/dovecot.log"; }
info() { timeout 60 "$OTPKEY" --db "$DB" info "$1" | grep "^$2: " | cut -d' ' -f2-; }

# run CASE [ARG...]: one connection's monitor with the stand-in as its session; what the
# stand-in got in $OUT, what the monitor told the master in $MASTER, its log in $B/mon.log.
run() {
	OUT=$(timeout 120 "$STAND" "$B/cfg.conf" $HOSTILE "$@" 2>"$B/mon.log")
	MASTER=$(sed -n 's/^master: //p' "$B/mon.log")
}
is() { # DESC WANT GOT
	if [ "$3" = "$2" ]; then ok "$1"; else notok "$1"; diag "want: $2" "got:  $3"; fi
}
refused() { # DESC CASE [ARG...]: no answer, the session ended, its process to be killed, logged
	desc=$1; shift
	run "$@"
	is "$desc: no answer, the channel closed" "EOF" "$(printf '%s\n' "$OUT" | sed -n 1p)"
	check "$desc: the monitor asks the master to kill the session" sh -c 'printf "%s\n" "$1" | grep -qx kill' sh "$MASTER"
	check "$desc: logged" grep -q 'malformed or out-of-order request from the session for 127.0.0.1: ending it' "$B/mon.log"
}

# ---- an honest session, for contrast ----
before=$(logins)
run honest alice "$APOP_SECRET"
is "an honest APOP login: the descriptor of a real backend login" "ok flags=0 backend: +OK 1 400" \
	"$(printf '%s\n' "$OUT" | sed -n 1p)"
is "the backend logged in once" "$((before + 1))" "$(logins)"
is "after the login nothing more is answered" "EOF" "$(printf '%s\n' "$OUT" | sed -n 2p)"
check "the login is logged" grep -q 'login; method=apop user=alice rhost=127.0.0.1$' "$B/mon.log"

# ---- forged order and forged results ----
refused "PASS with no USER before it" pass-first
refused "a message of no request type (0)" type 0
refused "a reply's type sent as a request" type 101
refused "an unknown type" type 4242
refused "an OTP mechanism response with no AUTH OTP" response-first
refused "PLAIN claiming no TLS" plain-clear
before=$(logins)
run stamp alice "$APOP_SECRET"
is "a digest over a timestamp the session chose: refused" "fail AUTH" "$(printf '%s\n' "$OUT" | sed -n 1p)"
is "the monitor's own timestamp is what counts" "ok flags=0 backend: +OK 1 400" "$(printf '%s\n' "$OUT" | sed -n 2p)"
is "no backend login for the forged one" "$((before + 1))" "$(logins)"
run authz
is "the OTP mechanism on behalf of another user: refused" "fail AUTHZ" "$(printf '%s\n' "$OUT" | sed -n 1p)"

# ---- over-long, truncated, malformed ----
refused "a message over the channel's limit" too-long
refused "a header promising more than comes" truncated
refused "less than a header" runt
refused "a user name over 64 octets" user-long
refused "a NUL inside a user name" user-nul
refused "APOP without its separator" apop-unsplit
refused "a request carrying a descriptor" fd

# ---- too many tries ----
enrol bob 500
add_user bob bobpw
run tries bob 8
is "8 guesses sent at once: 3 answers (max_auth_failures), the last says close, then nothing" \
	"fail AUTH|fail AUTH|fail AUTH close|EOF" "$(printf '%s\n' "$OUT" | paste -sd'|')"
is "3 failures reported to the master" 3 "$(printf '%s\n' "$MASTER" | grep -c '^outcome fail$')"
is "3 failures counted in the key store" 3 "$(info bob failures)"
run flood
is "more than 32 requests on one connection: refused, and the end" "fail LIMIT close|EOF" \
	"$(printf '%s\n' "$OUT" | paste -sd'|')"

# ---- the OTP mechanism, honestly ----
resp="hex:$(printf '%s\n' "$OTP_PASS" | "$OTPCALC" -x 499 test | tr -d ' ')"
run sasl alice "$resp"
is "AUTH OTP: the challenge from the login transaction" "challenge otp-md5 499 test ext" \
	"$(printf '%s\n' "$OUT" | sed -n 1p)"
is "and the response logs in" "ok flags=1 backend: +OK 1 400" "$(printf '%s\n' "$OUT" | sed -n 2p)"
run sasl alice "$resp"
is "the same response again: refused" "challenge otp-md5 498 test ext|fail AUTH" \
	"$(printf '%s\n' "$OUT" | sed -n 1,2p | paste -sd'|')"

check "no secret or password in the monitor's log" sh -c '! grep -Eq "tanstaaf|alicepw|$2" "$1"' \
	sh "$B/mon.log" "$MASTER_PW"
check "no sanitizer report" sh -c '! grep -Eq "runtime error|AddressSanitizer" "$1"' sh "$B/mon.log"
done_testing
