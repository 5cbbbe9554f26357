#!/bin/sh
# otpcalc.sh - shows that "otpcalc -n 1000 9999" costs about one response at 9999, not 1000 of them.
# Usage: OTP_BUILD=build bench/otpcalc.sh   (run by "make bench")
# Counts instructions with callgrind when valgrind is installed (repeatable),
# else takes the best of several timed runs.
set -eu

: "${OTP_BUILD:?OTP_BUILD must name the build directory}"
C="$OTP_BUILD/otpcalc"
SEQ=9999
COUNT=1000
RUNS=5

tmp=$(mktemp -d "${TMPDIR:-/tmp}/otp-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
printf 'A_Valid_Pass_Phrase\n' > "$tmp/pass"

# cost ARGS...: the cost of one otpcalc run (instructions, or nanoseconds).
if command -v valgrind >/dev/null 2>&1; then
	unit=instructions
	cost() {
		timeout 120 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
			"$C" --passphrase-file "$tmp/pass" "$@" </dev/null >/dev/null 2>"$tmp/vg" ||
			{ cat "$tmp/vg" >&2; exit 1; }
		sed -n 's/^==[0-9]*== Collected : *\([0-9]*\).*/\1/p' "$tmp/vg"
	}
else
	unit=ns
	cost() {
		best=
		for _ in $(seq "$RUNS"); do
			t0=$(date +%s%N)
			timeout 120 "$C" --passphrase-file "$tmp/pass" "$@" </dev/null >/dev/null \
				2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
			t1=$(date +%s%N)
			t=$((t1 - t0))
			if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
		done
		echo "$best"
	}
fi

base=$(cost 0 AValidSeed)
one=$(cost "$SEQ" AValidSeed)
many=$(cost -n "$COUNT" "$SEQ" AValidSeed)
if [ -z "$base" ] || [ -z "$one" ] || [ -z "$many" ] || [ "$one" -le "$base" ]; then
	echo "bench: could not measure otpcalc (got '$base' '$one' '$many')" >&2
	exit 1
fi

awk -v unit="$unit" -v seq="$SEQ" -v count="$COUNT" -v base="$base" -v one="$one" -v many="$many" 'BEGIN {
	printf "otpcalc, md5, cost in %s:\n", unit
	printf "  %-34s %14d\n", "start-up (one response at 0)", base
	printf "  %-34s %14d\n", "one response at " seq, one
	printf "  %-34s %14d\n", "-n " count " " seq " (" count " responses)", many
	# What count separate runs for seq-count+1 .. seq would cost, from the same numbers.
	naive = count * base + (one - base) / seq * count * (seq - (count - 1) / 2)
	printf "  ratio -n %d / one response: %.3f  (%d separate runs: about %.0f)\n",
	       count, many / one, count, naive / one
	printf "  extra cost per additional response: %.0f %s\n", (many - one) / (count - 1), unit
}'
