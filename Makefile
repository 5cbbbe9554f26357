# Makefile - the OTP suite: libotp, otpcalc, otpkey, pam_otp, apop-proxy.
#
#   make                 build everything into build/
#   make check           install missing Debian packages, build, run every test
#   make check SANITIZE=1  the same tests, built with ASan+UBSan into build-san/
#   make demo            the main job end to end on throw-away state
#   make bench           the benchmarks in bench/, printing their numbers
#   make install         PREFIX=/usr/local DESTDIR= (staged installs honoured)
#   make pot             po/otp.pot from the sources, and po/*.po merged with it

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
# The message catalogues; compiled into the programs and the module.
LOCALEDIR ?= $(PREFIX)/share/locale
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
PAMDIR    ?= /lib/$(MULTIARCH)/security
# systemd reads units from /usr/local/lib/systemd/system too; Debian's own
# packages use /lib/systemd/system.
UNITDIR   ?= $(PREFIX)/lib/systemd/system
# The key database path compiled into every program and the module.
OTP_DB    ?= /var/lib/otp/otpkeys.db

CC        ?= cc
WERROR    ?= 1
SANITIZE  ?= 0

ifeq ($(SANITIZE),1)
B         := build-san
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT       := -O1
else
B         := build
SANFLAGS  :=
OPT       := -O2
endif

WARN      := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN      += -Werror
endif
HARDEN_C  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection \
             -fcf-protection -fPIC
HARDEN_LD := -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack

CFLAGS    ?= -g $(OPT)
# libpq's header (Debian's libpq-dev), for the PostgreSQL store.
PQ_CFLAGS := -I/usr/include/postgresql
# CPPFLAGS, CFLAGS and LDFLAGS from the environment come last, so that a
# distribution's flags (dpkg-buildflags) reach every compiler and linker line.
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN_C) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS) \
              -Ilibotp -I$(B) $(PQ_CFLAGS) -DOTP_DEFAULT_DB='"$(OTP_DB)"'
ALL_LDFLAGS := $(HARDEN_LD) $(SANFLAGS) $(LDFLAGS)
# -fPIE beside -pie, as dpkg-buildflags used to give them: blhc checks for both.
PIE_LDFLAGS := -fPIE -pie $(ALL_LDFLAGS)

LIBS_CRYPTO := -lcrypto
# The stores: GDBM for one host, PostgreSQL for many (libpq is loaded with
# dlopen by libotp/pg_load.c when a postgresql:// store is opened).
LIBS_STORE  := -lgdbm
# The PDF sheets: pango's text on cairo's PDF surface.  Their headers are
# system headers here, so that our warnings judge our code only.
PANGO_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags pangocairo cairo-pdf 2>/dev/null))
PANGO_LIBS   := $(shell pkg-config --libs pangocairo cairo-pdf 2>/dev/null)

# Debian packages: to build, to test, and to run the demo.
DEPS_BUILD := build-essential libssl-dev libgdbm-dev libpq-dev libpam0g-dev libqrencode-dev libpng-dev \
              libbsd-dev pkg-config libcairo2-dev libpango1.0-dev gettext
DEPS_TEST  := libcmocka-dev pamtester libpam-wrapper valgrind strace python3 groff-base \
              dovecot-pop3d fetchmail mpop curl openssl devscripts \
              oathtool zbar-tools debhelper lintian blhc \
              poppler-utils fonts-ipafont-gothic fonts-dejavu-core locales \
              openssh-server openssh-client login util-linux sudo lftp fail2ban \
              postgresql-15 postgresql-client-15 cyrus-clients libsasl2-modules-otp
# Debian's two FTP daemons conflict (both provide ftp-server): the tests run
# whichever is not installed unpacked under PKGDIR (scripts/deps.sh --unpack).
DEPS_UNPACK := vsftpd proftpd-core
PKGDIR     := build/pkg
# make demo: a private sshd and the ssh client.
DEPS_DEMO  := openssh-server openssh-client util-linux python3
# make bench: the peers measured beside pam_otp and apop-proxy.
DEPS_BENCH := libpam-oath nginx libnginx-mod-mail
# make fuzz: clang with its libFuzzer and sanitizer runtimes.
DEPS_FUZZ  := clang libclang-rt-14-dev

LIB_SRC  := $(wildcard libotp/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB      := $(B)/libotp.a

OTPKEY_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard otpkey/*.c))
PAM_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(wildcard pam_otp/*.c))
PAM_MOD  := $(B)/pam_otp.so
PROXY_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard apop-proxy/*.c))

PROGS    := $(B)/otpcalc $(if $(OTPKEY_OBJ),$(B)/otpkey) $(if $(PAM_OBJ),$(PAM_MOD)) \
            $(if $(PROXY_OBJ),$(B)/apop-proxy)
OTPCALC_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard otpcalc/*.c))

# Message catalogues: po/LANG.po, compiled into build/locale like an installed tree.
TEXTDOMAIN := otp
LINGUAS  := $(patsubst po/%.po,%,$(wildcard po/*.po))
MO       := $(LINGUAS:%=$(B)/locale/%/LC_MESSAGES/$(TEXTDOMAIN).mo)
# What xgettext reads: the programs' marked strings, and libotp's messages
# (every string of these files but those listed in po/not-messages.pot).
POT_SRC  := $(sort $(wildcard otpkey/*.c otpcalc/*.c)) pam_otp/pam_otp.c
POT_LIB  := libotp/err.c libotp/import.c libotp/oath_import.c

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Helper programs the script tests drive (crash writers, PAM drivers, ...).
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/tools/%)
SCRIPT_TESTS := $(sort $(wildcard tests/*/*.sh))

.PHONY: all deps bench-deps demo-deps check test bench demo install uninstall clean pot FORCE

all: $(LIB) $(PROGS) $(MO)

deps:
	@scripts/deps.sh $(DEPS_BUILD) $(DEPS_TEST) --unpack $(PKGDIR) $(DEPS_UNPACK)

bench-deps:
	@scripts/deps.sh $(DEPS_BUILD) $(DEPS_BENCH)

demo-deps:
	@scripts/deps.sh $(DEPS_BUILD) $(DEPS_DEMO)

$(B)/obj/%.o: %.c libotp/otp.h libotp/internal.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The paths compiled in: rewritten only when they change, so that a
# "make install PREFIX=..." rebuilds what looks for its catalogues there.
$(B)/otp_paths.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define OTP_LOCALEDIR "%s"\n' '$(LOCALEDIR)' > $@.new
	@cmp -s $@.new $@ && rm -f $@.new || mv -f $@.new $@

$(B)/obj/otpkey/main.o $(OTPCALC_OBJ) $(B)/obj/pam_otp/pam_otp.o: $(B)/otp_paths.h
$(B)/obj/otpkey/pdf.o: ALL_CFLAGS += $(PANGO_CFLAGS)

$(B)/locale/%/LC_MESSAGES/$(TEXTDOMAIN).mo: po/%.po
	@mkdir -p $(dir $@)
	msgfmt --check -o $@ $<

XGETTEXT_OPTS := --from-code=UTF-8 --add-location=file --sort-output --package-name=otp \
                 --package-version=0.1 \
                 --msgid-bugs-address=maintainers@users.noreply.r-seed-000943c6.example

# make pot: the template from the sources (file names, no line numbers,
# sorted, so that it changes only when a message does), then every po/*.po
# merged with it; tests/i18n checks both are current (POT_OUT=FILE: the
# template only, into FILE).
POT_OUT ?= po/otp.pot
pot:
	@mkdir -p $(B)/po
	xgettext $(XGETTEXT_OPTS) --keyword=_ --keyword=N_ --add-comments=TRANSLATORS: \
	  -o $(B)/po/otp.pot $(POT_SRC)
	xgettext $(XGETTEXT_OPTS) --extract-all --exclude-file=po/not-messages.pot \
	  --join-existing -o $(B)/po/otp.pot $(POT_LIB)
	sed '/^"POT-Creation-Date:/d' $(B)/po/otp.pot > $(POT_OUT)
	if [ "$(POT_OUT)" = po/otp.pot ]; then for l in $(LINGUAS); do \
	  msgmerge --quiet --update --backup=none --no-fuzzy-matching --add-location=file \
	    --sort-output po/$$l.po po/otp.pot || exit 1; done; fi

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/otpcalc: $(OTPCALC_OBJ) $(LIB)
	$(CC) $(PIE_LDFLAGS) $^ $(LIBS_CRYPTO) -lbsd -o $@

$(B)/otpkey: $(OTPKEY_OBJ) $(LIB)
	$(CC) $(PIE_LDFLAGS) $^ $(LIBS_STORE) $(LIBS_CRYPTO) -lbsd -lqrencode -lpng $(PANGO_LIBS) -o $@

$(B)/apop-proxy: $(PROXY_OBJ) $(LIB)
	$(CC) $(PIE_LDFLAGS) $^ -lssl $(LIBS_STORE) $(LIBS_CRYPTO) -o $@

# -z nodelete: a process that runs many logins (a mail or web front, a
# daemon's worker) maps the module and its libraries once, not at every
# pam_end; unmapping them cost more than the login itself (TLB flushes
# on every CPU).
$(PAM_MOD): $(PAM_OBJ) $(LIB) pam_otp/pam_otp.map
	$(CC) -shared $(ALL_LDFLAGS) -Wl,-z,defs -Wl,-z,nodelete -Wl,--version-script=pam_otp/pam_otp.map \
	  $(PAM_OBJ) $(LIB) -lpam $(LIBS_STORE) $(LIBS_CRYPTO) -o $@

$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PIE_LDFLAGS) $< $(LIB) -lcmocka $(LIBS_STORE) $(LIBS_CRYPTO) -o $@

# The power-loss test's LD_PRELOAD shim (tests/shim/powercut.c).
SHIM     := $(B)/tests/powercut.so

$(SHIM): tests/shim/powercut.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) $< -ldl -o $@

# The monitor's stand-in master runs apop-proxy's own objects, all but its main().
PROXY_CORE_OBJ := $(filter-out $(B)/obj/apop-proxy/main.o,$(PROXY_OBJ))
$(B)/tests/tools/monstand: tests/tools/monstand.c $(PROXY_CORE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iapop-proxy $(PIE_LDFLAGS) $< $(PROXY_CORE_OBJ) $(LIB) -lssl $(LIBS_STORE) $(LIBS_CRYPTO) -o $@

$(B)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PIE_LDFLAGS) $< $(LIB) -lpam -lpam_misc $(LIBS_STORE) $(LIBS_CRYPTO) -lpthread -o $@

# The script tests find what they test through OTP_BUILD (the build dir)
# and OTP_SRC (the source tree); each keeps its state under a mktemp dir.
# The tests use Debian's programs (the packages deps.sh installs), before
# anything else a PATH may put first (a python3 shim that starts slowly).
DEBIAN_PATH := /usr/sbin:/usr/bin:/sbin:/bin:$(PATH)

test: all $(UNIT_BIN) $(TOOL_BIN) $(SHIM)
	@mkdir -p $(B)/tests
	@PATH=$(DEBIAN_PATH) OTP_BUILD=$(abspath $(B)) OTP_SRC=$(CURDIR) OTP_SANITIZE=$(SANITIZE) \
	  OTP_PKGDIR=$(abspath $(PKGDIR)) TEST_LOGDIR=$(abspath $(B))/tests OTP_LOCALEDIR=$(LOCALEDIR) \
	  $(if $(filter 1,$(SANITIZE)),LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0) \
	  tests/run-tests.sh $(UNIT_BIN) $(SCRIPT_TESTS)

# Benchmarks print numbers and are not run by the tests.
bench: bench-deps all $(TOOL_BIN)
	@for b in $(sort $(wildcard bench/*.sh)); do \
	  PATH=$(DEBIAN_PATH) OTP_BUILD=$(abspath $(B)) OTP_SRC=$(CURDIR) $$b || exit 1; \
	done

check: deps
	@$(MAKE) --no-print-directory test

demo: demo-deps all
	@OTP_BUILD=$(abspath $(B)) OTP_SRC=$(CURDIR) scripts/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(B)/otpcalc $(DESTDIR)$(BINDIR)/otpcalc
	install -m 644 otpcalc/otpcalc.1 $(DESTDIR)$(MANDIR)/man1/otpcalc.1
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(B)/otpkey $(DESTDIR)$(SBINDIR)/otpkey
	install -m 644 otpkey/otpkey.8 $(DESTDIR)$(MANDIR)/man8/otpkey.8
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(MANDIR)/man5
	install -m 644 $(PAM_MOD) $(DESTDIR)$(PAMDIR)/pam_otp.so
	install -m 644 pam_otp/pam_otp.8 $(DESTDIR)$(MANDIR)/man8/pam_otp.8
	install -m 644 libotp/otpkeys.5 $(DESTDIR)$(MANDIR)/man5/otpkeys.5
	install -m 755 $(B)/apop-proxy $(DESTDIR)$(SBINDIR)/apop-proxy
	install -m 644 apop-proxy/apop-proxy.8 $(DESTDIR)$(MANDIR)/man8/apop-proxy.8
	install -m 644 apop-proxy/apop-proxy.conf.5 $(DESTDIR)$(MANDIR)/man5/apop-proxy.conf.5
	for l in $(LINGUAS); do \
	  install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES && \
	  install -m 644 $(B)/locale/$$l/LC_MESSAGES/$(TEXTDOMAIN).mo \
	    $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/$(TEXTDOMAIN).mo || exit 1; done
	install -d $(DESTDIR)$(UNITDIR)
	sed 's,/usr/local/sbin/,$(SBINDIR)/,g' contrib/systemd/apop-proxy.service \
	  > $(DESTDIR)$(UNITDIR)/apop-proxy.service
	chmod 644 $(DESTDIR)$(UNITDIR)/apop-proxy.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/otpcalc $(DESTDIR)$(MANDIR)/man1/otpcalc.1
	rm -f $(DESTDIR)$(SBINDIR)/otpkey $(DESTDIR)$(MANDIR)/man8/otpkey.8
	rm -f $(DESTDIR)$(PAMDIR)/pam_otp.so $(DESTDIR)$(MANDIR)/man8/pam_otp.8
	rm -f $(DESTDIR)$(MANDIR)/man5/otpkeys.5
	rm -f $(DESTDIR)$(SBINDIR)/apop-proxy $(DESTDIR)$(MANDIR)/man8/apop-proxy.8
	rm -f $(DESTDIR)$(MANDIR)/man5/apop-proxy.conf.5 $(DESTDIR)$(UNITDIR)/apop-proxy.service
	for l in $(LINGUAS); do rm -f $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/$(TEXTDOMAIN).mo; done

# ---- Fuzzing (fuzz/) ------------------------------------------------------
# Every fuzz/fuzz_NAME.c is a libFuzzer harness, built with clang into
# build-fuzz/ against libotp compiled with the same sanitizers.  A harness
# that needs sources beyond libotp names them in FUZZ_EXTRA_fuzz_NAME (their
# directories are added to its include path); its
# inputs are capped by FUZZ_MAXLEN_fuzz_NAME (default 1024); seeds live in
# fuzz/corpus/fuzz_NAME/, a dictionary, if any, in fuzz/fuzz_NAME.dict.
#   make fuzz        each harness for FUZZ_SECONDS (default 60)
#   make fuzz-smoke  the saved corpus as regression inputs, then each harness
#                    for FUZZ_SMOKE_SECONDS (default 25): what CI runs
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_SMOKE_SECONDS ?= 25
FB            := build-fuzz
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) -Ilibotp -Ifuzz $(PQ_CFLAGS) \
                 -DOTP_DEFAULT_DB='"/nonexistent/otpkeys.db"'
FUZZ_NAMES    := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BIN      := $(FUZZ_NAMES:%=$(FB)/%)
FUZZ_LIB      := $(FB)/libotp.a
FUZZ_LIBS     := $(LIBS_STORE) $(LIBS_CRYPTO)

FUZZ_EXTRA_fuzz_pam_options := pam_otp/options.c
FUZZ_EXTRA_fuzz_pop3 := apop-proxy/pop3_parse.c
FUZZ_EXTRA_fuzz_apop_config := apop-proxy/config.c
FUZZ_EXTRA_fuzz_sasl := apop-proxy/sasl.c
FUZZ_MAXLEN_fuzz_challenge  := 128
FUZZ_MAXLEN_fuzz_response   := 600
FUZZ_MAXLEN_fuzz_record     := 300
FUZZ_MAXLEN_fuzz_import     := 512
FUZZ_MAXLEN_fuzz_oath       := 2100
FUZZ_MAXLEN_fuzz_pam_options := 512
FUZZ_MAXLEN_fuzz_pop3 := 2048
FUZZ_MAXLEN_fuzz_apop_config := 4096
FUZZ_MAXLEN_fuzz_sasl := 1100

.PHONY: fuzz fuzz-deps fuzz-build fuzz-smoke

$(FB)/obj/%.o: %.c libotp/otp.h libotp/internal.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(LIB_SRC:%.c=$(FB)/obj/%.o)
	rm -f $@
	$(AR) rcs $@ $^

define FUZZ_RULE
$(FB)/$(1): fuzz/$(1).c fuzz/fuzz.h $(FUZZ_LIB) $(patsubst %.c,$(FB)/obj/%.o,$(FUZZ_EXTRA_$(1)))
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) $(addprefix -I,$(sort $(dir $(FUZZ_EXTRA_$(1))))) -fsanitize=fuzzer $$< \
	  $(patsubst %.c,$(FB)/obj/%.o,$(FUZZ_EXTRA_$(1))) $(FUZZ_LIB) $(FUZZ_LIBS) -o $$@
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(f))))

fuzz-deps:
	@scripts/deps.sh $(DEPS_FUZZ)

fuzz-build: $(FUZZ_BIN)

# run_fuzz NAME SECONDS: new inputs go to build-fuzz/corpus/NAME, crashes to
# build-fuzz/crash/; the committed corpus is read, never written.
run_fuzz = mkdir -p $(FB)/corpus/$(1) $(FB)/crash && \
	$(FB)/$(1) -max_len=$(or $(FUZZ_MAXLEN_$(1)),1024) -max_total_time=$(2) \
	  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	  -artifact_prefix=$(FB)/crash/$(1)- \
	  $(if $(wildcard fuzz/$(1).dict),-dict=fuzz/$(1).dict) \
	  $(FB)/corpus/$(1) fuzz/corpus/$(1)

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-build
	@set -e; $(foreach f,$(FUZZ_NAMES),echo "== $(f): $(FUZZ_SECONDS) s"; \
	  $(call run_fuzz,$(f),$(FUZZ_SECONDS)) > $(FB)/$(f).log 2>&1 || \
	    { tail -n 40 $(FB)/$(f).log; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' $(FB)/$(f).log;)

fuzz-smoke: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-build
	@set -e; $(foreach f,$(FUZZ_NAMES),echo "== $(f): corpus, then $(FUZZ_SMOKE_SECONDS) s"; \
	  mkdir -p fuzz/corpus/$(f) $(FB)/crash; \
	  $(FB)/$(f) -runs=0 -artifact_prefix=$(FB)/crash/$(f)- fuzz/corpus/$(f) \
	    > $(FB)/$(f).regress.log 2>&1 || \
	    { tail -n 30 $(FB)/$(f).regress.log; exit 1; }; \
	  $(call run_fuzz,$(f),$(FUZZ_SMOKE_SECONDS)) > $(FB)/$(f).smoke.log 2>&1 || \
	    { tail -n 40 $(FB)/$(f).smoke.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units' $(FB)/$(f).smoke.log;)

-include $(wildcard $(FB)/obj/*/*.d)

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(OTPKEY_OBJ:.o=.d) $(PAM_OBJ:.o=.d) $(PROXY_OBJ:.o=.d) $(OTPCALC_OBJ:.o=.d)
