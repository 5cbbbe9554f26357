#!/bin/sh
# pdf.sh - otpkey --pdf read back with poppler: one page of the paper asked
# for, every response present and in order, the fonts embedded, the token
# page's QR code decoded by zbar to the URI printed, Japanese with its font.
. "$OTP_SRC/tests/lib.sh"
. "$OTP_SRC/tests/i18n/catalogue.sh.inc"

K="$OTPKEY"
KDB="$T_TMP/keys.db"
NL='
'

for tool in pdfinfo pdftotext pdffonts pdftoppm zbarimg oathtool; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "ok 1 # SKIP $tool is not installed (make deps)"
		echo "1..1"
		exit 0
	fi
done

pages() { pdfinfo "$1" 2>/dev/null | sed -n 's/^Pages: *//p'; }
size() { pdfinfo "$1" 2>/dev/null | sed -n 's/^Page size: *//p'; }
# fonts_embedded PDF: at least one font, and every one embedded.
fonts_embedded() {
	pdffonts "$1" > "$T_TMP/fonts" 2>&1 || return 1
	[ "$(tail -n +3 "$T_TMP/fonts" | grep -c .)" -gt 0 ] &&
	[ "$(tail -n +3 "$T_TMP/fonts" | awk '{ if ($(NF-4) != "yes") print }' | grep -c .)" -eq 0 ]
}
# responses PDF: the "SEQ: SIX WORDS" lines pdftotext reads, in its order.
responses() { pdftotext "$1" - 2>/dev/null | grep -oE '[0-9]+: [A-Z]+( [A-Z]+){5}'; }

printf '%s\n%s\n' "$PASS" "$PASS" | "$K" --db "$KDB" init -s test -n 100 alice > /dev/null 2>&1
printf '%s\n' "$PASS" | "$OTPCALC" -n 99 99 test | sort -rn > "$T_TMP/want"

# ---- otpkey sheet --pdf ----

printf '%s\n' "$PASS" | "$K" --db "$KDB" sheet --pdf "$T_TMP/a.pdf" alice > "$T_TMP/out" 2>&1
check "sheet --pdf succeeds and says where it went" \
	grep -q "^alice: responses 99 down to 1 written to $T_TMP/a.pdf\$" "$T_TMP/out"
check "no response is printed on the terminal" test "$(grep -cE '[A-Z]+( [A-Z]+){5}' "$T_TMP/out")" -eq 0
check "the PDF is one page" test "$(pages "$T_TMP/a.pdf")" = 1
check "of A4 by default ($(size "$T_TMP/a.pdf"))" sh -c 'pdfinfo "$1" | grep -q "^Page size:.*(A4)"' sh "$T_TMP/a.pdf"
responses "$T_TMP/a.pdf" > "$T_TMP/got"
check "every response is in it, in the order asked for ($(grep -c . "$T_TMP/got") of 99)" \
	cmp -s "$T_TMP/want" "$T_TMP/got"
check "with the heading: user, host, algorithm, seed, date, range" sh -c '
	pdftotext "$1" - | tr -s " " > "$2"
	grep -q "^User: alice$" "$2" && grep -q "^Host: $(hostname)$" "$2" &&
	grep -q "^Algorithm: md5 Seed: test Printed: $(date +%Y-%m-%d)$" "$2" &&
	grep -q "^Responses 99 down to 1, in the order they will be asked for$" "$2"' \
	sh "$T_TMP/a.pdf" "$T_TMP/text"
check "and the instructions" grep -q 'Answer the challenge "otp-md5 N test" with line N' "$T_TMP/text"
check "every font embedded" fonts_embedded "$T_TMP/a.pdf"
check "the PDF is mode 0600" test "$(stat -c %a "$T_TMP/a.pdf")" = 600
printf '%s\n' "$PASS" | "$K" --db "$KDB" sheet -c 20 --paper letter --pdf "$T_TMP/l.pdf" alice >/dev/null 2>&1
check "--paper letter: one Letter page" sh -c '[ "$(pdfinfo "$1" | sed -n "s/^Pages: *//p")" = 1 ] &&
	pdfinfo "$1" | grep -q "^Page size:.*(letter)"' sh "$T_TMP/l.pdf"
responses "$T_TMP/l.pdf" > "$T_TMP/got"
head -n 20 "$T_TMP/want" > "$T_TMP/want20"
check "-c 20: the next 20 responses" cmp -s "$T_TMP/want20" "$T_TMP/got"
expect_status "an unknown paper is a usage error" '' 2 'unknown paper a3 \(a4 or letter\)' \
	"$K" --db "$KDB" sheet --paper a3 --pdf "$T_TMP/x.pdf" alice
expect_status "a wrong pass phrase writes no PDF" "wrong pass phrase$NL" 1 'pass phrase does not match' \
	"$K" --db "$KDB" sheet --pdf "$T_TMP/w.pdf" alice
check "... none at all" test ! -e "$T_TMP/w.pdf"

# ---- init --sheet --pdf with -o: the same responses twice ----

"$K" --db "$KDB" init --sheet -s rand -o "$T_TMP/s.txt" --pdf "$T_TMP/s.pdf" bob > "$T_TMP/out" 2>&1
check "init --sheet -o FILE --pdf FILE succeeds" test $? -eq 0
check "the text sheet and the PDF are both 0600" \
	test "$(stat -c %a "$T_TMP/s.txt")$(stat -c %a "$T_TMP/s.pdf")" = 600600
grep -oE '[0-9]+: [A-Z]+( [A-Z]+){5}' "$T_TMP/s.txt" | sort -rn > "$T_TMP/want"
responses "$T_TMP/s.pdf" > "$T_TMP/got"
check "the PDF holds the text sheet's 100 responses, in order" \
	sh -c '[ "$(grep -c . "$1")" -eq 100 ] && cmp -s "$1" "$2"' sh "$T_TMP/want" "$T_TMP/got"
check "the PDF of 100 is one page" test "$(pages "$T_TMP/s.pdf")" = 1
expect_status "init --pdf without --sheet is a usage error" '' 2 '\-\-pdf and \-\-paper go with \-\-sheet' \
	"$K" --db "$KDB" init --pdf "$T_TMP/n.pdf" carol

# ---- the token enrolment page ----

rm -f "$T_TMP/fifo"; mkfifo "$T_TMP/fifo"
timeout 60 "$K" --db "$KDB" init --totp --pdf "$T_TMP/t.pdf" carol < "$T_TMP/fifo" > "$T_TMP/enrol" 2>&1 &
pid=$!
exec 3>"$T_TMP/fifo"
i=0
while ! grep -aqs '^Current code' "$T_TMP/enrol" && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
uri=$(grep -a '^otpauth://' "$T_TMP/enrol")
secret=$(printf '%s' "$uri" | sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p')
check "the PDF is there before the code is asked for" test -s "$T_TMP/t.pdf"
printf '%s\n' "$secret" | "$OTPCALC" --totp >&3
exec 3>&-
wait $pid
check "init --totp --pdf stores the token" test $? -eq 0
check "the token page is one page, fonts embedded" \
	sh -c '[ "$(pdfinfo "$1" | sed -n "s/^Pages: *//p")" = 1 ]' sh "$T_TMP/t.pdf"
check "... fonts embedded" fonts_embedded "$T_TMP/t.pdf"
pdftoppm -r 150 -png -singlefile "$T_TMP/t.pdf" "$T_TMP/t" 2>/dev/null
check "zbarimg decodes the page's QR code to exactly the printed URI" \
	test "$(zbarimg -q --raw "$T_TMP/t.png" 2>/dev/null)" = "$uri"
check "the URI is printed on the page" \
	sh -c 'pdftotext "$1" - | tr -d " \n" | grep -qF "$2"' sh "$T_TMP/t.pdf" "$uri"
sed -n '/^Emergency scratch codes/,$p' "$T_TMP/enrol" | grep -oE '^ +[0-9]{8}$' | tr -d ' ' > "$T_TMP/want"
pdftotext "$T_TMP/t.pdf" - | grep -oE '^[0-9]{8}$' > "$T_TMP/got"
check "the scratch codes on the page are the ones stored ($(grep -c . "$T_TMP/want"))" \
	sh -c '[ "$(grep -c . "$1")" -eq 5 ] && cmp -s "$1" "$2"' sh "$T_TMP/want" "$T_TMP/got"
check "the token PDF is mode 0600" test "$(stat -c %a "$T_TMP/t.pdf")" = 600

# ---- Japanese ----

if unshare -m true 2>/dev/null; then
	printf '%s\n' "$PASS" | ja "$K" --db "$KDB" sheet --pdf "$T_TMP/ja.pdf" alice > "$T_TMP/out" 2>&1
	check "a Japanese sheet is one page" test "$(pages "$T_TMP/ja.pdf")" = 1
	pdftotext "$T_TMP/ja.pdf" "$T_TMP/ja.txt"
	check "its heading and footer read back in Japanese" \
		sh -c 'grep -q "^ワンタイムパスワード" "$1" && grep -q "^ユーザー: alice$" "$1" &&
		grep -q "使った行は消してください" "$1"' sh "$T_TMP/ja.txt"
	responses "$T_TMP/ja.pdf" > "$T_TMP/got"
	printf '%s\n' "$PASS" | "$OTPCALC" -n 99 99 test | sort -rn > "$T_TMP/want"
	check "its responses are all there, in order" cmp -s "$T_TMP/want" "$T_TMP/got"
	check "a Japanese font is embedded ($(tail -n +3 "$T_TMP/fonts" | awk '{print $1}' | tr '\n' ' '))" \
		sh -c 'pdffonts "$1" > "$2" && fonts_ok=$(tail -n +3 "$2" | grep -ciE "ipa|noto.*cjk|takao|vl.?gothic") &&
		[ "$fonts_ok" -gt 0 ]' sh "$T_TMP/ja.pdf" "$T_TMP/fonts"
	check "... every font embedded" fonts_embedded "$T_TMP/ja.pdf"
else
	ok "# SKIP no mount namespaces here: no Japanese PDF"
fi

done_testing
