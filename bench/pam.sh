#!/bin/sh
# pam.sh - pam_otp authentications per second through the real libpam, in one
# process (pam_start_confdir), successful and failed, with 1 and with 100,000
# enrolled users, beside the disk's raw fdatasync rate measured in the same
# run: a durable login can go no faster than the syncs it needs.
# Usage: OTP_BUILD=build bench/pam.sh [SECONDS] [USERS]
set -eu

: "${OTP_BUILD:=build}"
SECS=${1:-5}
USERS=${2:-100000}
DRIVE=$OTP_BUILD/tests/tools/pamdrive
DBS=$OTP_BUILD/tests/tools/dbstress
for p in "$DRIVE" "$DBS" "$OTP_BUILD/otpkey" "$OTP_BUILD/pam_otp.so"; do
	[ -e "$p" ] || { echo "pam.sh: $p not built (make all $DRIVE $DBS)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/otp-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"
PASS="bench pass phrase"
mkdir -p "$tmp/pam.d" "$tmp/one" "$tmp/big"
for d in one big; do
	# No lockout: the failure runs would otherwise lock the users out.
	echo "auth required $OTP_BUILD/pam_otp.so db=$tmp/$d/otpkeys.db max_failures=0" > "$tmp/pam.d/$d"
	printf '%s\n%s\n' "$PASS" "$PASS" |
		"$OTP_BUILD/otpkey" --db "$tmp/$d/otpkeys.db" init -n 9999 -s bench t >/dev/null
done
"$DBS" clone "$tmp/one/otpkeys.db" t u 1
"$DBS" clone "$tmp/big/otpkeys.db" t u "$USERS"

echo "pam_otp through libpam, ${SECS}s per row, in $tmp"
set -- $("$DBS" fsyncrate "$tmp" 2000); sync_rate=$1
run() { "$DRIVE" -b "$SECS" "$tmp/pam.d" "$1" u "$2" "$3" | awk '{print $8, $4}'; }
set -- $(run one 1 "@$PASS");                    s1=$1 s1ok=$2
set -- $(run big "$USERS" "@$PASS");             sN=$1 sNok=$2
set -- $(run one 1 "WRONG WORD WRONG WORD");     f1=$1
set -- $(run big "$USERS" "WRONG WORD WRONG WORD"); fN=$1
# Unknown users must cost what enrolled users' failures cost (no enumeration by timing).
fu=$("$DRIVE" -b "$SECS" "$tmp/pam.d" big nobody 1000 "WRONG WORD WRONG WORD" | awk '{print $8}')

printf '%-34s %14s\n' "" "per second"
printf '%-34s %14s\n' "raw pwrite+fdatasync (disk limit)" "$sync_rate"
printf '%-34s %14s   (%s accepted)\n' "success, 1 user" "$s1" "$s1ok"
printf '%-34s %14s   (%s accepted)\n' "success, $USERS users" "$sN" "$sNok"
printf '%-34s %14s\n' "failure, 1 user" "$f1"
printf '%-34s %14s\n' "failure, $USERS users" "$fN"
printf '%-34s %14s\n' "failure, unknown users" "$fu"
awk -v s1="$s1" -v sN="$sN" -v f1="$f1" -v fN="$fN" -v fu="$fu" -v d="$sync_rate" 'BEGIN {
	printf "ratio %s users / 1 user: success %.2f, failure %.2f\n", '"$USERS"', sN / s1, fN / f1
	printf "ratio unknown-user failures / enrolled-user failures: %.2f (1.0: no timing oracle)\n", fu / fN
	printf "success rate / fdatasync rate: %.3f (each login: two durable updates, three syncs each)\n", s1 / d
}'
