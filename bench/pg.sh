#!/bin/sh
# pg.sh - successful pam_otp logins per second through the real libpam against
# the PostgreSQL store, with 1 and with 8 concurrent clients, beside a baseline
# measured in the same run on the same private server: as many new-connection,
# single-row update-and-return transactions (pgbench -C with a custom script),
# over the same socket with the same authentication.  Then where a login's time
# goes: its round trips, statements and server time (pg_stat_statements), the
# CPU of the client and of the server per login and per baseline transaction,
# and what a connection alone costs.
# Usage: OTP_BUILD=build OTP_SRC=. bench/pg.sh [SECONDS]
set -u

: "${OTP_BUILD:=build}"
: "${OTP_SRC:=.}"
SECS=${1:-5}
OTP_BUILD=$(cd "$OTP_BUILD" && pwd) OTP_SRC=$(cd "$OTP_SRC" && pwd)
export OTP_BUILD OTP_SRC
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/pg/env.sh.inc"
for p in "$DRIVE" "$OTPKEY" "$MOD" "$PGBIN/pgbench"; do
	[ -e "$p" ] || { echo "pg.sh: $p missing (make all $DRIVE; make deps)" >&2; exit 1; }
done
PASS="bench pass phrase"
CLIENTS=8

pg_init > /dev/null || { echo "pg.sh: the private cluster did not start" >&2; exit 1; }
cat >> "$PGDATA/postgresql.conf" <<EOF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
EOF
pg_stop && pg_start || exit 1
"$OTPKEY" --db "$ADMIN_URI" create > /dev/null && grant_login otp_login
psql_su postgres -c "CREATE EXTENSION pg_stat_statements" > /dev/null
i=0
while [ $i -lt $CLIENTS ]; do
	printf '%s\n%s\n' "$PASS" "$PASS" | "$OTPKEY" --db "$ADMIN_URI" init -n 9999 -s "bench$i" "c${i}u0" > /dev/null
	i=$((i + 1))
done
# The baseline's rows, one per client, and its one statement.
psql_su otp_admin -c "CREATE SCHEMA bench" -c "CREATE TABLE bench.t (id integer PRIMARY KEY, n bigint)" \
	-c "INSERT INTO bench.t SELECT i, 0 FROM generate_series(1, $CLIENTS) i" \
	-c "GRANT USAGE ON SCHEMA bench TO otp_login" -c "GRANT SELECT, UPDATE ON bench.t TO otp_login"
echo 'UPDATE bench.t SET n = n + 1 WHERE id = :client_id + 1 RETURNING n;' > "$T_TMP/update.sql"
echo 'SELECT 1;' > "$T_TMP/connect.sql"
pg_service a "$HOST_A" max_failures=0

# pgbench CLIENTS SCRIPT: new-connection transactions per second.
pgbench() {
	"$PGBIN/pgbench" -n -C -c "$1" -j "$1" -T "$SECS" -f "$2" \
		-h "$PGSOCK" -p "$PGPORT" -U otp_login otp 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
# logins CLIENTS: successful logins per second, CLIENTS pamdrive processes at once, a user each.
logins() {
	i=0 pids=""
	while [ $i -lt "$1" ]; do
		"$DRIVE" -b "$SECS" "$CONF" a "c${i}u" 1 "@$PASS" > "$T_TMP/b$i" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do wait "$p"; done
	i=0
	while [ $i -lt "$1" ]; do cat "$T_TMP/b$i"; i=$((i + 1)); done |
		awk '{ ok += $4; if ($6 > s) s = $6 } END { printf "%.1f\n", ok / s }'
}
stats_reset() { psql_su postgres -c "SELECT pg_stat_statements_reset()" > /dev/null; }
# stats: statements per login and server time per login (ms), over the logins of the last run.
stats() { # LOGINS
	psql_su postgres -c "SELECT round(sum(calls)::numeric / $1, 1), round((sum(total_exec_time + total_plan_time) / $1)::numeric, 3)
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'otp')
		AND query NOT LIKE '%pg_stat_statements%'" | tr '|' ' '
}

# CPU of this shell's children (user + system, ms) and of the server's ended backends (ms).
# (times runs in this shell, not in a subshell, whose children would be none of these.)
kids() { times > "$T_TMP/times"; }
kids_ms() { sed -n 2p "$T_TMP/times" | tr 'ms' '  ' | awk '{ printf "%d\n", ($1 * 60 + $2 + $3 * 60 + $4) * 1000 }'; }
server_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($16 + $17) * 1000 / hz }' "/proc/$PG_PID/stat"; }

echo "pam_otp on PostgreSQL through libpq: ${SECS}s per row, the socket and peer authentication, in $T_TMP"
kids; c0=$(kids_ms) s0=$(server_ms)
base1=$(pgbench 1 "$T_TMP/update.sql")
kids; c1=$(kids_ms) s1=$(server_ms)
nb=$(awk -v t="$base1" -v s="$SECS" 'BEGIN { printf "%d", t * s }')
stats_reset
kids; c2=$(kids_ms) s2=$(server_ms)
pam1=$(logins 1)
kids; c3=$(kids_ms) s3=$(server_ms)
n1=$(cat "$T_TMP/b0" | awk '{ print $4 }')
set -- $(stats "$n1"); stmts=$1 srv=$2
base8=$(pgbench $CLIENTS "$T_TMP/update.sql")
pam8=$(logins $CLIENTS)
conn1=$(pgbench 1 "$T_TMP/connect.sql")

# Round trips of one login: libpq's sends (MSG_NOSIGNAL) over 50 logins, under strace.
rtt="n/a"
if command -v strace > /dev/null 2>&1; then
	strace -f -e trace=sendto -o "$T_TMP/strace" "$DRIVE" -b 1 "$CONF" a c0u 1 "@$PASS" > "$T_TMP/st" 2>&1
	sl=$(awk '{ print $4 }' "$T_TMP/st")
	rtt=$(grep -c 'MSG_NOSIGNAL' "$T_TMP/strace" | awk -v n="$sl" '{ printf "%.1f", $1 / n }')
fi

printf '%-52s %10s %10s\n' "" "1 client" "$CLIENTS clients"
printf '%-52s %10s %10s\n' "pgbench -C: connect, UPDATE ... RETURNING, disconnect /s" "$base1" "$base8"
printf '%-52s %10s %10s\n' "pam_otp successful logins /s" "$pam1" "$pam8"
awk -v p1="$pam1" -v b1="$base1" -v p8="$pam8" -v b8="$base8" 'BEGIN {
	printf "%-52s %10.2f %10.2f\n", "ratio (goal >= 0.7)", p1 / b1, p8 / b8 }'
echo
echo "where a login's time goes (1 client):"
awk -v c="$conn1" 'BEGIN { printf "  a new connection alone (pgbench -C, SELECT 1): %.2f ms\n", 1000 / c }'
awk -v b="$base1" 'BEGIN { printf "  the baseline transaction, connection included:  %.2f ms\n", 1000 / b }'
awk -v p="$pam1" 'BEGIN { printf "  one pam_otp login (begin + finish):             %.2f ms\n", 1000 / p }'
echo "  libpq sends per login (the startup packet, then one per round trip): $rtt"
echo "  statements per login on the server: $stmts; their plan + execute time: $srv ms"
awk -v c="$((c1 - c0))" -v s="$((s1 - s0))" -v n="$nb" 'BEGIN {
	printf "  CPU per baseline transaction: client %.2f ms, server (its backend) %.2f ms\n", c / n, s / n }'
awk -v c="$((c3 - c2))" -v s="$((s3 - s2))" -v n="$n1" 'BEGIN {
	printf "  CPU per login: client %.2f ms (libpam, the module, libpq, hashing), server %.2f ms\n", c / n, s / n }'
