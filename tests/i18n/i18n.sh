#!/bin/sh
# i18n.sh - the messages in Japanese: the catalogue complete and current, each
# program's output under LANGUAGE=ja, the PAM prompt under a real ja_JP.UTF-8
# locale through libpam, and the C locale's output unchanged.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/i18n/catalogue.sh.inc"

K="$OTPKEY"
KDB="$T_TMP/keys.db"
NL='
'
P2="$PASS$NL$PASS$NL"

if ! unshare -m true 2>/dev/null; then
	ok "# SKIP no mount namespaces here (unshare -m failed)"
	done_testing
	exit 0
fi

# ---- the catalogue ----

msgfmt --check --statistics -o /dev/null "$OTP_SRC/po/ja.po" > "$T_TMP/stat" 2>&1
check "msgfmt --check is clean on ja.po" test $? -eq 0
check "every message translated, none fuzzy ($(cat "$T_TMP/stat"))" \
	grep -Eq '^[0-9]+ translated messages\.$' "$T_TMP/stat"
make -s -C "$OTP_SRC" SANITIZE="${OTP_SANITIZE:-0}" pot POT_OUT="$T_TMP/otp.pot" >"$T_TMP/make.out" 2>&1
check "the template can be made again (make pot)" test $? -eq 0
check "po/otp.pot is current: the sources give the same messages" \
	cmp -s "$T_TMP/otp.pot" "$OTP_SRC/po/otp.pot"
msgcmp "$OTP_SRC/po/ja.po" "$T_TMP/otp.pot" > "$T_TMP/msgcmp" 2>&1
check "ja.po has every message of the sources" test $? -eq 0
# Messages written without _(): a string literal with a word in it, given to
# an output call or chosen by ?:, on a line that does not translate it (the
# "otpkey: " prefix and the version lines are no messages).
grep -nE '(^|[^a-z_])(errmsg|usage_error|warnx?|printf|fputs|pam_info|pam_error|pam_prompt)\(("|[^"]*, ")[^"]*[a-z]{3}|[?:] "[^"]*[a-z]{3}[^"]*"' \
	"$OTP_SRC"/otpkey/*.c "$OTP_SRC"/otpcalc/*.c "$OTP_SRC/pam_otp/pam_otp.c" |
	grep -v '_(' | grep -vE ':[0-9]+:[[:space:]]*(/\*|\*|#)' |
	grep -vE 'pam_syslog|"otp(key|calc) %s\\n"|"otpkey: ' > "$T_TMP/unmarked"
check "no output call prints an unmarked message ($(head -c 300 "$T_TMP/unmarked"))" \
	test ! -s "$T_TMP/unmarked"

# ---- each program in Japanese ----

ja "$K" --help > "$T_TMP/help" 2>&1
check "otpkey --help is Japanese" grep -q '^使い方: otpkey' "$T_TMP/help"
check "otpkey --help fits 80 columns" width_ok "$T_TMP/help" 80
ja "$OTPCALC" --help > "$T_TMP/chelp" 2>&1
check "otpcalc --help is Japanese" grep -q '^使い方: otpcalc' "$T_TMP/chelp"
check "otpcalc --help fits 80 columns" width_ok "$T_TMP/chelp" 80
ja "$K" --db "$KDB" frob > /dev/null 2> "$T_TMP/err"
check "otpkey's usage errors are Japanese" \
	grep -q '^otpkey: 不明なコマンド frob (otpkey --help を参照)$' "$T_TMP/err"
ja "$K" --db "$KDB" info alice > /dev/null 2> "$T_TMP/err"
check "otpkey's libotp errors are Japanese too" grep -q '鍵データベースがありません' "$T_TMP/err"
printf '%s' "$P2" | ja "$K" --db "$KDB" init -s test -n 100 alice > "$T_TMP/out" 2>&1
check "otpkey init under ja prints the challenge byte for byte" \
	test "$(cat "$T_TMP/out")" = "otp-md5 99 test ext"
ja "$K" --db "$KDB" info alice > "$T_TMP/info" 2>&1
check "otpkey info: the challenge untranslated, then Japanese" \
	sh -c '[ "$(head -n 1 "$1")" = "otp-md5 99 test ext" ] && grep -q "^残り: 99$" "$1"' sh "$T_TMP/info"
printf '%s\n' "$PASS" | ja "$K" --db "$KDB" sheet -c 100 alice > "$T_TMP/sheet" 2>&1
check "the sheet's heading and footer are Japanese" \
	sh -c 'grep -q "^ワンタイムパスワード (RFC 2289)$" "$1" && grep -q "^使った行は消してください" "$1"' \
	sh "$T_TMP/sheet"
check "the Japanese sheet: 99 responses in at most 60 lines of 80 columns" \
	sh -c '[ "$(grep -c "" "$1")" -le 60 ] && [ "$(grep -cE "[0-9]+: [A-Z]+( [A-Z]+){5}" "$1")" -eq 50 ]' \
	sh "$T_TMP/sheet"
check "... the wide characters counted twice" width_ok "$T_TMP/sheet" 80
printf '%s\n' "$PASS" | "$OTPCALC" -n 99 99 test | sed 's/^[0-9]*: //' | sort > "$T_TMP/want"
grep -oE '[0-9]+: [A-Z]+( [A-Z]+){5}' "$T_TMP/sheet" | sed 's/^[0-9]*: //' | sort > "$T_TMP/got"
check "... and its responses are otpcalc's" cmp -s "$T_TMP/want" "$T_TMP/got"
printf 'short\n' | ja "$OTPCALC" 99 test > /dev/null 2> "$T_TMP/err"
check "otpcalc's errors are Japanese" grep -q '^otpcalc: パスフレーズが短すぎます (10 文字以上)$' "$T_TMP/err"
printf '%s\n' "$PASS" | ja "$OTPCALC" 5 test > "$T_TMP/out" 2> "$T_TMP/err"
check "otpcalc's warnings are Japanese, the response is not" \
	sh -c 'grep -q "^otpcalc: 警告: シーケンス番号 5 は 10 未満です" "$1" && grep -qE "^[A-Z]+( [A-Z]+){5}$" "$2"' \
	sh "$T_TMP/err" "$T_TMP/out"

# ---- C stays as it was ----

LC_ALL=C LANGUAGE=ja in_catalogue "$K" --help > "$T_TMP/chelp" 2>&1
check "LC_ALL=C: otpkey --help is English, LANGUAGE notwithstanding" \
	grep -q '^usage: otpkey \[--db PATH\] COMMAND' "$T_TMP/chelp"
printf '%s\n' "$PASS" | LC_ALL=C in_catalogue "$K" --db "$KDB" sheet -c 10 alice > "$T_TMP/csheet" 2>&1
check "LC_ALL=C: the sheet is the English one" grep -q '^Strike out each line once used' "$T_TMP/csheet"

# ---- pam_otp through the real libpam under ja_JP.UTF-8 ----

echo "auth required $MOD db=$KDB warn=200" > "$CONF/otp"
if ja_locale; then
	LOCPATH="$T_TMP/locale" LANG=ja_JP.UTF-8 LC_ALL= LANGUAGE= in_catalogue \
		"$DRIVE" "$CONF" otp alice "@$PASS" > "$T_TMP/pam" 2>&1
	check "a login with the Japanese prompt succeeds (PAM_SUCCESS)" test $? -eq 0
	check "the prompt: the challenge byte for byte, then Japanese" \
		grep -q '^PROMPT: otp-md5 99 test ext, 応答: $' "$T_TMP/pam"
	check "the low-key warning before it is Japanese" grep -q '^INFO: 警告: これを使うと、残りの' "$T_TMP/pam"
	printf '%s\n' "otp-md5 98 test ext, 応答: " > "$T_TMP/prompt"
	printf '%s\n' "$PASS" | "$OTPCALC" "$(cat "$T_TMP/prompt")" > "$T_TMP/resp" 2>&1
	check "otpcalc reads the challenge out of the Japanese prompt" \
		test "$(cat "$T_TMP/resp")" = "$(printf '%s\n' "$PASS" | "$OTPCALC" 98 test)"
else
	ok "# SKIP localedef cannot make ja_JP.UTF-8 here (package locales)"
	ok "# SKIP Japanese prompt"
	ok "# SKIP Japanese warning"
	ok "# SKIP otpcalc on the Japanese prompt"
fi
LC_ALL=C LANGUAGE=ja in_catalogue "$DRIVE" "$CONF" otp alice "@$PASS" > "$T_TMP/pam" 2>&1
check "in the C locale the prompt is the English one, exactly" \
	grep -q '^PROMPT: otp-md5 98 test ext, Response: $' "$T_TMP/pam"
check "... and the warning too" grep -q '^INFO: Warning: only 97 one-time passwords left' "$T_TMP/pam"

done_testing
