#!/bin/sh
# demo.sh - the main job end to end on throw-away state: enrol a user with a
# random-secret paper sheet, log in through the real libpam with its first
# line, and watch the replay fail.  Touches nothing outside a temporary dir.
set -eu

: "${OTP_BUILD:?run me through make demo}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/otp-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 700 "$tmp"
db="$tmp/otp/otpkeys.db"
mkdir -p "$tmp/pam.d"
echo "auth required $OTP_BUILD/pam_otp.so db=$db" > "$tmp/pam.d/otp-demo"
echo "auth required pam_deny.so" > "$tmp/pam.d/other"
wrapper=$(ls /usr/lib/*/libpam_wrapper.so | head -n 1)

step() { printf '\n=== %s\n' "$*"; }
login() {
	echo "$1" | LD_PRELOAD=$wrapper PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$tmp/pam.d" \
		timeout 30 pamtester otp-demo demo authenticate 2>&1 | grep -v '^PWRAP'
	echo
}

step "otpkey init --sheet: a random secret nobody sees; the sheet is all the user gets"
"$OTP_BUILD/otpkey" --db "$db" init --sheet -c 10 demo | tee "$tmp/sheet"
first=$(sed -n 's/^ *[0-9][0-9]*: //p' "$tmp/sheet" | head -n 1)

step "pam_otp through the real libpam (pamtester), answering with the sheet's first line"
echo "(the user types: $first)"
login "$first"

step "the same line again: a replay"
login "$first" || true

step "otpkey info demo: the next challenge and the state on disk"
"$OTP_BUILD/otpkey" --db "$db" info demo

step "done: the key database and PAM service lived in a temporary directory, now removed"
