# iamkeys — GNU Make build.  `make`, `make check`, `make demo`, `make bench`,
# `make asan` (ASan+UBSan build + suite), `make fuzz` (libFuzzer targets, clang).
VERSION    := 0.1.0
CC         ?= cc
BUILD      ?= build
PKGS       := libcurl libcrypto libxml-2.0 jansson
WARN       := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
              -Wformat=2 -Wwrite-strings -Wno-unused-parameter
CFLAGS     ?= -O2 -g
ifeq ($(WERROR),1)
WARN       += -Werror
endif
SAN_FLAGS  :=
ifeq ($(SANITIZE),1)
# Kept out of CFLAGS so that `make SANITIZE=1 CFLAGS=...` still instruments.
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
# IAMKEYS_TESTING=1 (the default: `make`, `make check`) compiles in the test knobs
# (IAMKEYS_TEST_NOW, _CLOCK_OFFSET, _CRASH_AFTER, _ECS_ENDPOINT); `make release`
# builds build-release/iamkeys without them, the binary to install.
IAMKEYS_TESTING ?= 1
ifeq ($(IAMKEYS_TESTING),1)
TEST_FLAGS := -DIAMKEYS_TESTING
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS := $(SAN_FLAGS) $(TEST_FLAGS) -std=c11 -D_GNU_SOURCE -DIAMKEYS_VERSION='"$(VERSION)"' -Isrc $(WARN) $(PKG_CFLAGS) $(CFLAGS)
PYTHON     := /usr/bin/python3

LIB_SRCS   := $(wildcard src/core/*.c src/aws/*.c src/sinks/*.c src/engine/*.c src/cmd/*.c)
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_HELP  := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_HOBJS := $(UNIT_HELP:%.c=$(BUILD)/%.o)

.PHONY: all check unit asan demo bench bench-trace fuzz fuzz-smoke clean deps format format-check layers release
all: $(BUILD)/iamkeys

# Objects are rebuilt when IAMKEYS_TESTING changes (the stamp's name says its value).
TESTING_STAMP := $(BUILD)/.testing-$(IAMKEYS_TESTING)
$(TESTING_STAMP):
	@mkdir -p $(BUILD)
	@rm -f $(BUILD)/.testing-*
	@touch $@

$(BUILD)/%.o: %.c $(TESTING_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libiamkeys.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/iamkeys: $(BUILD)/src/main.o $(BUILD)/libiamkeys.a
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(UNIT_HOBJS) $(BUILD)/libiamkeys.a
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs cmocka) -lpthread

unit: $(UNIT_BINS)

# make check: the layer check, unit tests, emulator tests, CLI tests; ends with
# "N passed, N failed".
check: layers $(BUILD)/iamkeys $(UNIT_BINS) $(BUILD)/tests/release/test_release_knobs
	@$(BUILD)/tests/release/test_release_knobs >$(BUILD)/tests/release/log 2>&1 || \
	    { cat $(BUILD)/tests/release/log; echo "a release build obeys a test knob"; exit 1; }
	$(PYTHON) tests/run.py --build $(BUILD)

# make check-safety: the long rotation-safety runs (minutes): the whole crash and lost-reply
# matrix over every sink kind, command and clock skew (tests/cli/test_safety.py), and 20
# trials of 2 and 4 concurrent rotate --apply runs with the local lock, the DynamoDB lease
# and no lock (test_lock.py, test_rotate.py ConcurrentRunsTest).
.PHONY: check-safety
check-safety: $(BUILD)/iamkeys
	IAMKEYS_TEST_SAFETY=1 $(PYTHON) tests/run.py --build $(BUILD) --only cli \
	    -k test_safety -k ConcurrentRunsTest

# No function in src/ longer than 120 lines (scripts/check_function_length.py).
.PHONY: function-length
function-length:
	@$(PYTHON) scripts/check_function_length.py

# A lower layer never includes a higher one (docs/architecture.md).
layers:
	@scripts/check_layers.sh

# The installed binary: no test knobs (`make install` installs this one).
RELEASE_BUILD ?= build-release
release:
	$(MAKE) BUILD=$(RELEASE_BUILD) IAMKEYS_TESTING=0 SANITIZE= all

# The sources with test knobs, built as a release build is, in a unit test that
# proves they ignore the knobs (tests/release/test_release_knobs.c).
KNOB_SRCS := src/aws/clock.c src/aws/client.c src/aws/cred_http.c src/aws/cloudtrail.c
KNOB_OBJS := $(KNOB_SRCS:%.c=$(BUILD)/release-knobs/%.o)
$(BUILD)/release-knobs/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -DIAMKEYS_TESTING,$(ALL_CFLAGS)) -MMD -MP -c $< -o $@
$(BUILD)/tests/release/test_release_knobs: tests/release/test_release_knobs.c $(KNOB_OBJS) $(UNIT_HOBJS) $(BUILD)/libiamkeys.a
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -DIAMKEYS_TESTING,$(ALL_CFLAGS)) -Itests/unit -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs cmocka) -lpthread

asan:
	$(MAKE) BUILD=build-asan SANITIZE=1 CFLAGS="-O1 -g" check

demo: $(BUILD)/iamkeys
	@scripts/deps.sh --check || scripts/deps.sh
	$(PYTHON) scripts/demo.py --build $(BUILD)

bench: $(BUILD)/iamkeys
	$(PYTHON) bench/run.py --build $(BUILD)
	$(PYTHON) bench/trace.py --build $(BUILD)

# only the trace benchmark (about a minute: CloudTrail's 2 requests per second)
bench-trace: $(BUILD)/iamkeys
	$(PYTHON) bench/trace.py --build $(BUILD)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
	    LDFLAGS="-fsanitize=address,undefined" build-fuzz/libiamkeys.a
	@mkdir -p build-fuzz/fuzz
	for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  clang -std=c11 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
	    $$f build-fuzz/libiamkeys.a $(PKG_LIBS) -o build-fuzz/fuzz/$$n || exit 1; done

# Every fuzz target built and run for FUZZ_RUNS inputs (CI runs this); one line
# per target and "N passed, N failed" last.
FUZZ_RUNS ?= 20000
fuzz-smoke: fuzz
	@pass=0; fail=0; for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  if build-fuzz/fuzz/$$n -runs=$(FUZZ_RUNS) -rss_limit_mb=1024 >build-fuzz/fuzz/$$n.log 2>&1; \
	  then pass=$$((pass + 1)); echo "fuzz $$n: $(FUZZ_RUNS) runs, ok"; \
	  else fail=$$((fail + 1)); tail -n 40 build-fuzz/fuzz/$$n.log; echo "fuzz $$n: FAILED"; fi; done; \
	  echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# ---- install, documentation, completions, package --------------------------
# GNU conventions: make install PREFIX=/usr DESTDIR=/tmp/root; every directory
# can be overridden (BINDIR, MANDIR, ...). The man pages, the completions and
# the README's generated blocks come from the option tables in the code
# (`iamkeys --dump-options`, scripts/gendoc.py): never edit them by hand.
PREFIX         ?= /usr/local
prefix         ?= $(PREFIX)
exec_prefix    ?= $(prefix)
BINDIR         ?= $(exec_prefix)/bin
DATAROOTDIR    ?= $(prefix)/share
MANDIR         ?= $(DATAROOTDIR)/man
DOCDIR         ?= $(DATAROOTDIR)/doc/iamkeys
BASHCOMPDIR    ?= $(DATAROOTDIR)/bash-completion/completions
ZSHCOMPDIR     ?= $(DATAROOTDIR)/zsh/site-functions
FISHCOMPDIR    ?= $(DATAROOTDIR)/fish/vendor_completions.d
SYSTEMDUNITDIR ?= $(prefix)/lib/systemd/system
INSTALL        ?= install
INSTALL_PROGRAM ?= $(INSTALL) -m 0755
INSTALL_DATA   ?= $(INSTALL) -m 0644
# the man pages' date: SOURCE_DATE_EPOCH (reproducible builds), else the last commit
DOC_DATE       ?= $(shell date -u -d @$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || date +%s)} +%Y-%m-%d)
UNITS          := iamkeys-audit.service iamkeys-audit.timer iamkeys-rotate.service iamkeys-rotate.timer
EXAMPLES       := rotate.conf environment cron.d-iamkeys
GENDOC         := $(PYTHON) scripts/gendoc.py --binary $(BUILD)/iamkeys

.PHONY: man completions readme install uninstall install-built uninstall-built package package-check
man: $(BUILD)/man/.stamp
completions: $(BUILD)/completions/.stamp

$(BUILD)/man/.stamp: $(BUILD)/iamkeys scripts/gendoc.py $(wildcard docs/man/*.txt)
	rm -rf $(BUILD)/man
	$(GENDOC) --date $(DOC_DATE) man $(BUILD)/man
	@touch $@

$(BUILD)/completions/.stamp: $(BUILD)/iamkeys scripts/gendoc.py
	$(GENDOC) completions $(BUILD)/completions
	@touch $@

# Rewrites the generated blocks of README.md (tests/cli/test_docs.py checks them).
readme: $(BUILD)/iamkeys
	$(GENDOC) readme README.md

# install and uninstall work on the release build (no test knobs), built here.
install:
	$(MAKE) BUILD=$(RELEASE_BUILD) IAMKEYS_TESTING=0 SANITIZE= install-built
uninstall:
	$(MAKE) BUILD=$(RELEASE_BUILD) IAMKEYS_TESTING=0 SANITIZE= uninstall-built

install-built: all man completions
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
	    $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL_PROGRAM) $(BUILD)/iamkeys $(DESTDIR)$(BINDIR)/iamkeys
	$(INSTALL_DATA) $(BUILD)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL_DATA) $(BUILD)/completions/iamkeys.bash $(DESTDIR)$(BASHCOMPDIR)/iamkeys
	$(INSTALL_DATA) $(BUILD)/completions/_iamkeys $(DESTDIR)$(ZSHCOMPDIR)/_iamkeys
	$(INSTALL_DATA) $(BUILD)/completions/iamkeys.fish $(DESTDIR)$(FISHCOMPDIR)/iamkeys.fish
	for u in $(UNITS); do sed 's|@BINDIR@|$(BINDIR)|g' dist/systemd/$$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u \
	    && chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done
	$(INSTALL_DATA) $(EXAMPLES:%=dist/examples/%) $(DESTDIR)$(DOCDIR)/examples/

# Removes exactly the files install puts there, and the directories that are
# iamkeys' own (DOCDIR); shared directories such as BINDIR stay.
uninstall-built: man
	rm -f $(DESTDIR)$(BINDIR)/iamkeys
	for f in $(BUILD)/man/*.1; do rm -f "$(DESTDIR)$(MANDIR)/man1/$${f##*/}"; done
	rm -f $(DESTDIR)$(BASHCOMPDIR)/iamkeys $(DESTDIR)$(ZSHCOMPDIR)/_iamkeys \
	    $(DESTDIR)$(FISHCOMPDIR)/iamkeys.fish
	rm -f $(UNITS:%=$(DESTDIR)$(SYSTEMDUNITDIR)/%)
	rm -f $(EXAMPLES:%=$(DESTDIR)$(DOCDIR)/examples/%)
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

# The Debian package, built from a copy of the tracked files in PKGDIR (so the
# tree stays clean): $(BUILD)/iamkeys_$(VERSION)_<arch>.deb, then lintian. package-check
# also installs it on this machine (root), checks it and purges it.
DEB_ARCH   := $(shell dpkg --print-architecture 2>/dev/null)
DEB        := $(BUILD)/iamkeys_$(VERSION)_$(DEB_ARCH).deb
PKGDIR     ?= build-pkg
package:
	rm -rf $(PKGDIR) && mkdir -p $(PKGDIR)/iamkeys-$(VERSION) $(BUILD)
	git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t $(PKGDIR)/iamkeys-$(VERSION)
	cd $(PKGDIR)/iamkeys-$(VERSION) && dpkg-buildpackage -us -uc -b
	mv $(PKGDIR)/iamkeys_$(VERSION)_$(DEB_ARCH).deb $(DEB)
	lintian --fail-on error $(DEB)
	@echo "package: $(DEB)"

package-check: package
	scripts/package-check.sh $(DEB) $(VERSION)
# ---- end of install, documentation, completions, package -------------------

deps:
	scripts/deps.sh

FORMAT_FILES = $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]')

format:
	clang-format -i $(FORMAT_FILES)

# fails when a C file in src/ or tests/ differs from what `make format` writes
format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES) && \
	  echo "format-check: every C file in src/ and tests/ is as clang-format writes it"

clean:
	rm -rf build build-asan build-fuzz build-pkg build-release

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
