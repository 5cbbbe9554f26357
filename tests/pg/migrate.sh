#!/bin/sh
# migrate.sh - otpkey migrate: a GDBM store with OPIE- and S/Key-imported users,
# a console key with an APOP secret and token users (pam_oath, google-
# authenticator with scratch codes), used a little, moved to PostgreSQL: the
# same list and info, the same fake challenges for unknown names, the users log
# in on both hosts with the next responses and codes and nothing used before
# works; then back into the GDBM file (-f) and into a new one.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/pg/env.sh.inc"
pg_skip_unless_ready
for tool in oathtool base32; do
	command -v "$tool" >/dev/null 2>&1 || { echo "ok 1 # SKIP $tool is not installed (make deps)"; echo "1..1"; exit 0; }
done

pg_init || { notok "the private PostgreSQL cluster starts"; done_testing; exit 1; }
pg_service a "$HOST_A"
pg_service b "$HOST_B"
pg_service g "$DB"

hex_at() { printf '%s\n' "$PASS" | "$OTPCALC" -a "$1" -x "$2" "$3" 2>/dev/null | tr -d ' '; }
resp() { printf '%s\n' "$PASS" | "$OTPCALC" "$@" 2>/dev/null; }
now() { date +%s; }
settle() { while [ $(( $(now) % 30 )) -ge 20 ]; do sleep 1; done; }
totp() { oathtool --totp -N "@$(( $(now) + ${2:-0} ))" "$1"; }
infos() { # STORE: every user's info, in name order
	for u in alice gina olga oscar sam tina; do "$OTPKEY" --db "$1" info "$u" 2>&1; done
}

# ---- the GDBM store, as an OPIE and S/Key site moving over would have it ----
printf '%s %04d %-16s %s  %s\n' \
	olga 499 ke1234 "$(hex_at md5 499 ke1234)" "Nov 26,2026 10:00:00" \
	oscar 100 os7 "$(hex_at md5 100 os7)" "Nov 26,2026 10:00:00" > "$T_TMP/opiekeys"
mkdir -p "$T_TMP/skey"
printf 'sam\nsha1\n50\nsa1\n%s\n' "$(hex_at sha1 50 sa1)" > "$T_TMP/skey/sam"
"$OTPKEY" --db "$DB" import --opie "$T_TMP/opiekeys" >/dev/null &&
	"$OTPKEY" --db "$DB" import --skey "$T_TMP/skey" >/dev/null
check "OPIE and S/Key users imported into GDBM" test $? -eq 0
pg_enrol "$DB" alice 100 test
printf 'tanstaaf tanstaaf\ntanstaaf tanstaaf\n' | "$OTPKEY" --db "$DB" apop alice
hex=$(openssl rand -hex 20)
printf 'HOTP/T30 tina - %s\n' "$hex" > "$T_TMP/users.oath"
"$OTPKEY" --db "$DB" import --pam-oath "$T_TMP/users.oath" >/dev/null
gsec=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
ghex=$(printf '%s' "$gsec" | base32 -d | od -An -tx1 | tr -d ' \n')
printf '%s\n" TOTP_AUTH\n11111111\n22222222\n33333333\n' "$gsec" > "$T_TMP/ga"
"$OTPKEY" --db "$DB" import --google-authenticator "$T_TMP/ga" gina >/dev/null
check "a console key with an APOP secret and two token users beside them" \
	test "$("$OTPKEY" --db "$DB" list | grep -c .)" -eq 6

used_olga=$(resp 'otp-md5 498 ke1234')
drive g olga "$used_olga"
check "olga logs in on the GDBM host" test $? -eq $PAM_SUCCESS
settle
used_tina=$(totp "$hex")
drive g tina "$used_tina"
check "tina logs in with a TOTP code on the GDBM host" test $? -eq $PAM_SUCCESS
drive g gina 11111111
check "gina uses a scratch code" test $? -eq $PAM_SUCCESS
drive g mallory x
fake_g=$(prompt)
"$OTPKEY" --db "$DB" list > "$T_TMP/list.gdbm"
infos "$DB" > "$T_TMP/info.gdbm"

# ---- GDBM -> PostgreSQL ----
expect_out "migrate reports what moved" "" "migrated 6 users and the host secret from $DB to $ADMIN_URI" \
	"$OTPKEY" --db "$DB" migrate "$ADMIN_URI"
grant_login otp_login
"$OTPKEY" --db "$ADMIN_URI" list > "$T_TMP/list.pg"
check "PostgreSQL lists the same users and keys" cmp -s "$T_TMP/list.gdbm" "$T_TMP/list.pg"
infos "$ADMIN_URI" > "$T_TMP/info.pg"
check "and otpkey info says the same of each (counts, failures, tokens, scratch codes, APOP)" \
	cmp -s "$T_TMP/info.gdbm" "$T_TMP/info.pg"
drive a mallory x
check "an unknown name's fake challenge is the one the GDBM host showed ($fake_g)" test "$(prompt)" = "$fake_g"
drive b mallory x
check "on host B too" test "$(prompt)" = "$fake_g"

drive a olga "$used_olga"
check "olga's response used on GDBM is refused on PostgreSQL" test $? -eq $PAM_AUTH_ERR
drive b olga "$(resp 'otp-md5 497 ke1234')"
check "her next one from the old calculator logs in on host B" test $? -eq $PAM_SUCCESS
drive a oscar "$(resp 'otp-md5 99 os7')"
check "oscar (OPIE) logs in on host A" test $? -eq $PAM_SUCCESS
drive b sam "$(resp -a sha1 'otp-sha1 49 sa1')"
check "sam (S/Key, sha1) logs in on host B" test $? -eq $PAM_SUCCESS
drive a alice "$(resp 'otp-md5 99 test')"
check "alice's console key logs in on host A" test $? -eq $PAM_SUCCESS
drive b tina "$used_tina"
check "tina's TOTP code used on GDBM is refused" test $? -eq $PAM_AUTH_ERR
drive a tina "$(totp "$hex" 30)"
check "her next code logs in" test $? -eq $PAM_SUCCESS
drive b gina 11111111
check "gina's used scratch code is refused" test $? -eq $PAM_AUTH_ERR
drive b gina 22222222
check "an unused one logs in" test $? -eq $PAM_SUCCESS
drive a gina "$(totp "$ghex")"
check "and so does her authenticator's code" test $? -eq $PAM_SUCCESS

# ---- refused without -f ----
expect_fail "migrate again: every user is there already, nothing copied" "" \
	"6 users are already in .* \\(([a-z]+ ){5}\\.\\.\\.\\); nothing copied \\(use -f" \
	"$OTPKEY" --db "$DB" migrate "$ADMIN_URI"
check "and the PostgreSQL store is as it was" test "$(pg_first olga)" = "otp-md5 496 ke1234 ext"
expect_status "migrate to the store itself is a usage error" "" 2 "DEST is the store it would copy from" \
	"$OTPKEY" --db "$DB" migrate "$DB"
expect_status "migrate to a relative path is a usage error" "" 2 "absolute path or a postgresql:// URI" \
	"$OTPKEY" --db "$DB" migrate relative.db

# ---- and back: into the old GDBM file (-f), and into a new one ----
expect_fail "back into the GDBM file without -f: refused" "" "nothing copied \\(use -f" \
	"$OTPKEY" --db "$ADMIN_URI" migrate "$DB"
expect_out "back into it with -f" "" "migrated 6 users and the host secret from $ADMIN_URI to $DB" \
	"$OTPKEY" --db "$ADMIN_URI" migrate -f "$DB"
drive g olga "$(resp 'otp-md5 497 ke1234')"
check "the GDBM host now knows what PostgreSQL accepted: olga's 497 is refused" test $? -eq $PAM_AUTH_ERR
drive g olga "$(resp 'otp-md5 496 ke1234')"
check "and her 496 logs in" test $? -eq $PAM_SUCCESS
NEW="$T_TMP/new/otpkeys.db"
expect_out "into a new GDBM file" "" "migrated 6 users and the host secret from $ADMIN_URI to $NEW" \
	"$OTPKEY" --db "$ADMIN_URI" migrate "$NEW"
check "made in a new 0700 directory, mode 0600" \
	test "$(stat -c %a "$T_TMP/new") $(stat -c %a "$NEW")" = "700 600"
pg_service new "$NEW"
# Fake challenges follow the sampled users' state: compare while both hold the same.
drive a mallory x
fake_p=$(prompt)
drive new mallory x
check "mallory's fake challenge there is the one PostgreSQL shows ($fake_p)" test "$(prompt)" = "$fake_p"
drive new gina 33333333
check "the last scratch code works there" test $? -eq $PAM_SUCCESS
drive new sam "$(resp -a sha1 'otp-sha1 48 sa1')"
check "and sam's next line" test $? -eq $PAM_SUCCESS

# ---- otpkey create makes an empty GDBM store as it does the schema ----
expect_out "otpkey create: an empty GDBM store" "" "$T_TMP/empty/otpkeys.db: created, empty" \
	"$OTPKEY" --db "$T_TMP/empty/otpkeys.db" create
check "which pam_otp reads (an unknown name: refused, no error)" sh -c "
	echo 'auth required $MOD db=$T_TMP/empty/otpkeys.db' > '$CONF/empty'
	timeout 60 '$DRIVE' '$CONF' empty nobody x >/dev/null 2>&1; test \$? -eq $PAM_AUTH_ERR"

done_testing
