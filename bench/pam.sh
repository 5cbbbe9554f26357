#!/bin/sh
# pam.sh - durable logins per second through the real libpam (pam_start_confdir
# to pam_end for every login, in long-running processes: libpam opens the
# module at each pam_start; linked -z nodelete, pam_otp is mapped once per
# process, as in a daemon that runs many logins, and the driver keeps
# pam_permit and pam_oath loaded the same way, -k, so that none pays for
# being unloaded at every pam_end), beside what bounds them, all measured
# in this run on this disk:
#   - the raw pwrite+fdatasync rate: a durable login needs at least one sync;
#   - libpam alone (pam_permit, the same driver): with one client, a durable
#     login costs at least that plus one sync, one after the other;
#   - pam_oath (Debian's libpam-oath, HOTP users file), the peer, driven by
#     the same driver with HOTP codes;
#   - pam_otp: successes, failures and unknown users, with 1 and 100,000
#     enrolled users, with 1 and 8 concurrent clients (8 processes).
# A success row counts the logins it accepted per second; a row that accepted
# nothing where it should have gets no ratio.
# Usage: OTP_BUILD=build bench/pam.sh [SECONDS] [USERS]
set -eu

: "${OTP_BUILD:=build}"
OTP_BUILD=$(cd "$OTP_BUILD" && pwd -P)   # the PAM files name the module by absolute path
SECS=${1:-5}
USERS=${2:-100000}
CLIENTS=8
DRIVE=$OTP_BUILD/tests/tools/pamdrive
DBS=$OTP_BUILD/tests/tools/dbstress
OATH=/lib/$(cc -print-multiarch)/security/pam_oath.so
PERMIT=/lib/$(cc -print-multiarch)/security/pam_permit.so
for p in "$DRIVE" "$DBS" "$OTP_BUILD/otpkey" "$OTP_BUILD/pam_otp.so" "$OATH" "$PERMIT"; do
	[ -e "$p" ] || { echo "pam.sh: $p missing (make all $DRIVE $DBS; libpam-oath)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/otp-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"
PASS="bench pass phrase"
HEX=3132333435363738393031323334353637383930
mkdir -p "$tmp/pam.d" "$tmp/one" "$tmp/big" "$tmp/oath"
for d in one big; do
	# No lockout: the failure rows would otherwise lock the users out.
	echo "auth required $OTP_BUILD/pam_otp.so db=$tmp/$d/otpkeys.db max_failures=0" > "$tmp/pam.d/$d"
	printf '%s\n%s\n' "$PASS" "$PASS" |
		"$OTP_BUILD/otpkey" --db "$tmp/$d/otpkeys.db" init -n 9999 -s bench t >/dev/null
	"$OTP_BUILD/otpkey" --db "$tmp/$d/otpkeys.db" checkpoint
done
"$DBS" clone "$tmp/one/otpkeys.db" t u "$CLIENTS"
"$DBS" clone "$tmp/big/otpkeys.db" t u "$USERS"
# pam_oath rewrites its users file (under its own lock) at every login.
echo "auth required $OATH usersfile=$tmp/oath/users window=20" > "$tmp/pam.d/oath"
echo "auth required pam_permit.so" > "$tmp/pam.d/permit"
i=0
while [ $i -lt "$CLIENTS" ]; do
	echo "HOTP o${i}_0 - $HEX" >> "$tmp/oath/users"   # one user per client: its counters are the client's
	i=$((i + 1))
done
chmod 600 "$tmp/oath/users"

# rows SERVICE PREFIX NUSERS ANSWER CLIENTS [LIMIT [FIRST]]: "rate accepted
# accepted-rate seconds attempts" summed over the clients, for LIMIT (pamdrive
# -b; SECS), client k starting at user FIRST + k*NUSERS/CLIENTS; NUSERS "own":
# client k alone logs in as PREFIXk_0.
rows() {
	svc=$1 prefix=$2 n=$3 answer=$4 c=$5 k=0 limit=${6:-$SECS} first=${7:-0}
	case $svc in
	permit) keep=$PERMIT ;;
	oath) keep=$OATH ;;
	*) keep=$OTP_BUILD/pam_otp.so ;;     # already kept: -z nodelete
	esac
	while [ $k -lt "$c" ]; do
		if [ "$n" = own ]; then
			"$DRIVE" -k "$keep" -b "$limit" "$tmp/pam.d" "$svc" "${prefix}${k}_" 1 "$answer" > "$tmp/r.$k" &
		else
			"$DRIVE" -k "$keep" -b "$limit" "$tmp/pam.d" "$svc" "$prefix" "$n" "$answer" \
				$(((first + k * n / c) % n)) \
				> "$tmp/r.$k" &
		fi
		k=$((k + 1))
	done
	wait
	# A success row counts what it accepted.
	cat "$tmp"/r.* | awk '{ rate += $8; ok += $4; okrate += $4 / $6; s += $6; n += $2 }
		END { printf "%.1f %d %.1f %.3f %d\n", rate, ok, okrate, s, n }'
	rm -f "$tmp"/r.*
}

# slice NAME ROWS-ARGS...: one more slice of a row whose rate is the sum of its slices.
slice() {
	name=$1
	shift
	rows "$@" | awk '{ print $2, $4, $5 }' >> "$tmp/slices.$name"
}

# sliced NAME ok|all: "rate accepted" of the slices (accepted or attempted logins per second).
sliced() {
	awk -v w="$2" '{ ok += $1; s += $2; n += $3 }
		END { printf "%.1f %d\n", (w == "ok" ? ok : n) / s, ok }' "$tmp/slices.$1"
}

echo "pam_otp through libpam, ${SECS}s per row (the single-client pam_otp rows in turns of 1s)," \
	"$CLIENTS clients where so marked, in $tmp"
# The disk's rate wanders: measured three times through the run, the median used.
set -- $("$DBS" fsyncrate "$tmp" 3000); d1=$1
set -- $(rows permit u 1 x 1);                             p1=$3 p1ok=$2
# The single-client pam_otp rows in turn, one second each, SECS times over, so
# that the disk's drift through the run touches them alike.  One user's sheet
# holds 9999 responses: its success row stops short of them.
r=0
while [ $r -lt "$SECS" ]; do
	slice s1 one u 1 "@$PASS" 1 1:$((9000 / SECS))
	slice f1 one u 1 "WRONG WORD WRONG WORD" 1 1
	slice sN big u "$USERS" "@$PASS" 1 1 $((r * USERS / SECS))
	slice fN big u "$USERS" "WRONG WORD WRONG WORD" 1 1 $((r * USERS / SECS))
	slice fu big nobody "$USERS" "WRONG WORD WRONG WORD" 1 1 $((r * USERS / SECS))
	r=$((r + 1))
done
set -- $(sliced s1 ok);                                    s1=$1 s1ok=$2
set -- $(sliced sN ok);                                    sN=$1 sNok=$2
set -- $(sliced f1 all);                                   f1=$1
set -- $(sliced fN all);                                   fN=$1
set -- $(sliced fu all);                                   fu=$1
set -- $("$DBS" fsyncrate "$tmp" 3000); d2=$1
set -- $(rows big u "$USERS" "@$PASS" "$CLIENTS");         s8=$3 s8ok=$2 s8all=$1
set -- $(rows oath o own "%$HEX" 1);                       o1=$3 o1ok=$2 o1all=$1
set -- $(rows oath o own "%$HEX" "$CLIENTS");              o8=$3 o8ok=$2 o8all=$1
set -- $("$DBS" fsyncrate "$tmp" 3000); d3=$1
sync_rate=$(printf '%s\n' "$d1" "$d2" "$d3" | sort -n | sed -n 2p)
# What a durable login cannot beat here, one client: libpam's own work, then one fdatasync.
ceiling=$(awk -v p="$p1" -v d="$sync_rate" 'BEGIN { printf "%.1f", (p > 0 && d > 0) ? 1 / (1 / p + 1 / d) : 0 }')

printf '%-44s %12s\n' "" "per second"
printf '%-44s %12s   (median of %s, %s, %s)\n' "raw pwrite+fdatasync (one stream)" "$sync_rate" "$d1" "$d2" "$d3"
printf '%-44s %12s   (%s accepted)\n' "libpam alone (pam_permit), 1 client" "$p1" "$p1ok"
printf '%-44s %12s\n' "  so a durable login's ceiling, 1 client" "$ceiling"
printf '%-44s %12s   (%s accepted)\n' "pam_otp success, 1 user" "$s1" "$s1ok"
printf '%-44s %12s   (%s accepted)\n' "pam_otp success, $USERS users" "$sN" "$sNok"
printf '%-44s %12s\n' "pam_otp failure, 1 user" "$f1"
printf '%-44s %12s\n' "pam_otp failure, $USERS users" "$fN"
printf '%-44s %12s\n' "pam_otp unknown users" "$fu"
printf '%-44s %12s   (%s accepted)\n' "pam_otp success, $USERS users, $CLIENTS clients" "$s8" "$s8ok"
printf '%-44s %12s   (%s accepted)\n' "pam_oath success, 1 user" "$o1" "$o1ok"
printf '%-44s %12s   (%s accepted)\n' "pam_oath success, $CLIENTS users, $CLIENTS clients" "$o8" "$o8ok"
echo "(success rows: accepted logins per second; attempts per second with $CLIENTS clients:" \
	"pam_otp $s8all, pam_oath $o8all; pam_oath 1 client: $o1all)"
awk -v s1="$s1" -v sN="$sN" -v f1="$f1" -v fN="$fN" -v fu="$fu" -v s8="$s8" -v o1="$o1" -v o8="$o8" \
    -v d="$sync_rate" -v s1ok="$s1ok" -v sNok="$sNok" -v s8ok="$s8ok" -v o1ok="$o1ok" -v o8ok="$o8ok" \
    -v users="$USERS" -v c="$CLIENTS" -v ceil="$ceiling" '
function ratio(what, a, b, okay) {
	if (!okay) { printf "%-58s  none (a row accepted nothing)\n", what; return }
	printf "%-58s %6.2f\n", what, a / b
}
BEGIN {
	ratio("success / raw fdatasync rate (goal >= 0.8)", s1, d, s1ok > 0)
	ratio("success / ceiling (libpam alone, then one fdatasync)", s1, ceil, s1ok > 0 && ceil > 0)
	ratio("success / pam_oath success (goal > 1)", s1, o1, s1ok > 0 && o1ok > 0)
	ratio("success, " users " users / 1 user (flat: 1)", sN, s1, s1ok > 0 && sNok > 0)
	ratio("failure / success, 1 user (goal 0.9-1.1)", f1, s1, s1ok > 0)
	ratio("failure / success, " users " users (goal 0.9-1.1)", fN, sN, sNok > 0)
	ratio("unknown users / success (goal 0.9-1.1)", fu, sN, sNok > 0)
	ratio(c " clients / raw fdatasync rate (goal > 1)", s8, d, s8ok > 0)
	ratio(c " clients / pam_oath with " c " clients", s8, o8, s8ok > 0 && o8ok > 0)
}'
