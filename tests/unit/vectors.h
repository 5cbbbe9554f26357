/* vectors.h - RFC 2289 Appendix C and RFC 2243 appendix reference values. */
#ifndef OTP_TEST_VECTORS_H
#define OTP_TEST_VECTORS_H

struct rfc2289_vector {
	const char *alg, *pass, *seed;
	unsigned count;
	const char *hex, *words;
};

/* RFC 2289 Appendix C, all 27 rows, exactly as printed there. */
static const struct rfc2289_vector rfc2289_vectors[] = {
	{ "md4", "This is a test.", "TeSt", 0, "D185 4218 EBBB 0B51", "ROME MUG FRED SCAN LIVE LACE" },
	{ "md4", "This is a test.", "TeSt", 1, "6347 3EF0 1CD0 B444", "CARD SAD MINI RYE COL KIN" },
	{ "md4", "This is a test.", "TeSt", 99, "C5E6 1277 6E6C 237A", "NOTE OUT IBIS SINK NAVE MODE" },
	{ "md4", "AbCdEfGhIjK", "alpha1", 0, "5007 6F47 EB1A DE4E", "AWAY SEN ROOK SALT LICE MAP" },
	{ "md4", "AbCdEfGhIjK", "alpha1", 1, "65D2 0D19 49B5 F7AB", "CHEW GRIM WU HANG BUCK SAID" },
	{ "md4", "AbCdEfGhIjK", "alpha1", 99, "D150 C82C CE6F 62D1", "ROIL FREE COG HUNK WAIT COCA" },
	{ "md4", "OTP's are good", "correct", 0, "849C 79D4 F6F5 5388", "FOOL STEM DONE TOOL BECK NILE" },
	{ "md4", "OTP's are good", "correct", 1, "8C09 92FB 2508 47B1", "GIST AMOS MOOT AIDS FOOD SEEM" },
	{ "md4", "OTP's are good", "correct", 99, "3F3B F4B4 145F D74B", "TAG SLOW NOV MIN WOOL KENO" },
	{ "md5", "This is a test.", "TeSt", 0, "9E87 6134 D904 99DD", "INCH SEA ANNE LONG AHEM TOUR" },
	{ "md5", "This is a test.", "TeSt", 1, "7965 E054 36F5 029F", "EASE OIL FUM CURE AWRY AVIS" },
	{ "md5", "This is a test.", "TeSt", 99, "50FE 1962 C496 5880", "BAIL TUFT BITS GANG CHEF THY" },
	{ "md5", "AbCdEfGhIjK", "alpha1", 0, "8706 6DD9 644B F206", "FULL PEW DOWN ONCE MORT ARC" },
	{ "md5", "AbCdEfGhIjK", "alpha1", 1, "7CD3 4C10 40AD D14B", "FACT HOOF AT FIST SITE KENT" },
	{ "md5", "AbCdEfGhIjK", "alpha1", 99, "5AA3 7A81 F212 146C", "BODE HOP JAKE STOW JUT RAP" },
	{ "md5", "OTP's are good", "correct", 0, "F205 7539 43DE 4CF9", "ULAN NEW ARMY FUSE SUIT EYED" },
	{ "md5", "OTP's are good", "correct", 1, "DDCD AC95 6F23 4937", "SKIM CULT LOB SLAM POE HOWL" },
	{ "md5", "OTP's are good", "correct", 99, "B203 E28F A525 BE47", "LONG IVY JULY AJAR BOND LEE" },
	{ "sha1", "This is a test.", "TeSt", 0, "BB9E 6AE1 979D 8FF4", "MILT VARY MAST OK SEES WENT" },
	{ "sha1", "This is a test.", "TeSt", 1, "63D9 3663 9734 385B", "CART OTTO HIVE ODE VAT NUT" },
	{ "sha1", "This is a test.", "TeSt", 99, "87FE C776 8B73 CCF9", "GAFF WAIT SKID GIG SKY EYED" },
	{ "sha1", "AbCdEfGhIjK", "alpha1", 0, "AD85 F658 EBE3 83C9", "LEST OR HEEL SCOT ROB SUIT" },
	{ "sha1", "AbCdEfGhIjK", "alpha1", 1, "D07C E229 B5CF 119B", "RITE TAKE GELD COST TUNE RECK" },
	{ "sha1", "AbCdEfGhIjK", "alpha1", 99, "27BC 7103 5AAF 3DC6", "MAY STAR TIN LYON VEDA STAN" },
	{ "sha1", "OTP's are good", "correct", 0, "D51F 3E99 BF8E 6F0B", "RUST WELT KICK FELL TAIL FRAU" },
	{ "sha1", "OTP's are good", "correct", 1, "82AE B52D 9437 74E4", "FLIT DOSE ALSO MEW DRUM DEFY" },
	{ "sha1", "OTP's are good", "correct", 99, "4F29 6A74 FE15 67EC", "AURA ALOE HURL WING BERG WAIT" },
};

/* RFC 2243 appendix: challenge "otp-md5 499 ke1234 ext", pass "This is a test." */
#define RFC2243_PASS      "This is a test."
#define RFC2243_HEX       "5bf0 75d9 959d 036f"
#define RFC2243_WORDS     "BOND FOGY DRAB NE RISE MART"
#define RFC2243_EXT_HEX   "hex:5Bf0 75d9 959d 036f"
#define RFC2243_EXT_WORD  "word:BOND FOGY DRAB NE RISE MART"
#define RFC2243_INIT_HEX  "init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712 dcb4 aa53 16c1"
#define RFC2243_INIT_WORD "init-word:BOND FOGY DRAB NE RISE MART:md5 499 ke1235:  RED HERD NOW BEAN PA BURG"
#define RFC2243_NEW_HEX   "3712 dcb4 aa53 16c1"

#endif
