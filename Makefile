# Makefile - the OTP suite: libotp, otpcalc, otpkey, pam_otp, apop-proxy.
#
#   make                 build everything into build/
#   make check           install missing Debian packages, build, run every test
#   make check SANITIZE=1  the same tests, built with ASan+UBSan into build-san/
#   make demo            the main job end to end on throw-away state
#   make install         PREFIX=/usr/local DESTDIR= (staged installs honoured)

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
PAMDIR    ?= /lib/$(MULTIARCH)/security
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
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN_C) $(SANFLAGS) $(CFLAGS) \
              -Ilibotp -DOTP_DEFAULT_DB='"$(OTP_DB)"'
ALL_LDFLAGS := $(HARDEN_LD) $(SANFLAGS) $(LDFLAGS)
PIE_LDFLAGS := -pie $(ALL_LDFLAGS)

LIBS_CRYPTO := -lcrypto
LIBS_GDBM   := -lgdbm

# Debian packages: to build, to test, and to run the demo.
DEPS_BUILD := build-essential libssl-dev libgdbm-dev libpam0g-dev libqrencode-dev
DEPS_TEST  := libcmocka-dev pamtester libpam-wrapper valgrind

LIB_SRC  := $(wildcard libotp/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
LIB      := $(B)/libotp.a

PROGS    := $(B)/otpcalc
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
CLI_TESTS := $(wildcard tests/cli/*.sh)

.PHONY: all deps check check-sanitize test demo install uninstall clean

all: $(LIB) $(PROGS)

deps:
	@scripts/deps.sh $(DEPS_BUILD) $(DEPS_TEST)

$(B)/%.o: %.c libotp/otp.h libotp/internal.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(B)/otpcalc: $(B)/otpcalc/otpcalc.o $(LIB)
	$(CC) $(PIE_LDFLAGS) $^ $(LIBS_CRYPTO) -o $@

$(B)/tests/%: tests/unit/%.c tests/unit/vectors.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PIE_LDFLAGS) $< $(LIB) -lcmocka $(LIBS_CRYPTO) $(LIBS_GDBM) -o $@

# The tests find the programs under test through OTP_BUILD.
test: all $(UNIT_BIN)
	@OTP_BUILD=$(abspath $(B)) TEST_LOGDIR=$(abspath $(B))/tests \
	  tests/run-tests.sh $(UNIT_BIN) $(CLI_TESTS)

check: deps
	@$(MAKE) --no-print-directory test

check-sanitize: deps
	@$(MAKE) --no-print-directory test SANITIZE=1

demo: deps all
	@OTP_BUILD=$(abspath $(B)) scripts/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(B)/otpcalc $(DESTDIR)$(BINDIR)/otpcalc
	install -m 644 otpcalc/otpcalc.1 $(DESTDIR)$(MANDIR)/man1/otpcalc.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/otpcalc $(DESTDIR)$(MANDIR)/man1/otpcalc.1

clean:
	rm -rf build build-san
