#!/bin/sh
# keydb.sh - key database update cost with 1 user and with 100,000 users in the
# same file (each login is one open and one fetch/store: it should not grow),
# beside the disk's raw fdatasync rate, the ceiling for any durable update.
# Usage: OTP_BUILD=build bench/keydb.sh [UPDATES] [USERS]
set -eu

: "${OTP_BUILD:=build}"
DBS=$OTP_BUILD/tests/tools/dbstress
N=${1:-1000}
USERS=${2:-100000}
[ -x "$DBS" ] || { echo "keydb.sh: $DBS not built (make $DBS)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/otp-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"

echo "key database: $N durable updates each, in $tmp"
"$DBS" fill "$tmp/big.db" u "$USERS"
set -- $("$DBS" fsyncrate "$tmp" "$N");               sync_rate=$1 sync_us=$2
set -- $("$DBS" bench "$tmp/one.db" u0 "$N");         one_rate=$1 one_us=$2
set -- $("$DBS" bench "$tmp/big.db" "u$((USERS / 2))" "$N"); big_rate=$1 big_us=$2

printf '%-28s %12s %14s\n' "" "updates/s" "latency (us)"
printf '%-28s %12s %14s\n' "raw pwrite+fdatasync" "$sync_rate" "$sync_us"
printf '%-28s %12s %14s\n' "1 user" "$one_rate" "$one_us"
printf '%-28s %12s %14s\n' "$USERS users" "$big_rate" "$big_us"
awk -v a="$one_us" -v b="$big_us" -v s="$sync_us" 'BEGIN {
	printf "latency ratio %d users / 1 user: %.2f\n", '"$USERS"', b / a
	printf "update latency / fdatasync latency: %.1f (one fdatasync of the log per update; checkpoints every 64 KiB of log add the rest)\n", a / s
}'
