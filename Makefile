# wid: workload identity for nginx and OpenSSH.
#
#   make          build libraries, the wid CLI, ssh-wid-helper and the
#                 nginx module (installs missing Debian packages first)
#   make test     unit tests (plain and ASan+UBSan), then nginx and
#                 end-to-end tests through prove
#   make demo     build, then run nginx with wid on a demo trust domain
#   make docs     regenerate generated documentation
#
# Variants build out of tree: BUILD=build/asan SANITIZE=1 gives the
# sanitizer build used by `make test`.

SHELL := /bin/bash
.DEFAULT_GOAL := all

BUILD    ?= build
SANITIZE ?=

CC       ?= cc
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
INCS     := -Ilibcore -Ipolicy
CFLAGS   := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) $(HARDEN) $(INCS) \
            $(EXTRA_CFLAGS)
LDFLAGS  := -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS)
LDLIBS   := -lyaml -ljansson -lsodium -ltss2-mu -lssl -lcrypto

ifneq ($(SANITIZE),)
# _FORTIFY_SOURCE and ASan disagree; the sanitizer build checks more anyway.
HARDEN   := -fstack-protector-strong -fPIC
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
ifeq ($(SANITIZE),fuzz)
SANFLAGS += -fsanitize=fuzzer-no-link
endif
CFLAGS   := -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) $(HARDEN) $(INCS) \
            $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  += $(SANFLAGS)
endif

LIBDIR   := $(BUILD)/lib
BINDIR   := $(BUILD)/bin
OBJDIR   := $(BUILD)/obj

CORE_SRCS   := $(wildcard libcore/*.c)
POLICY_SRCS := $(wildcard policy/*.c)
CLI_SRCS    := $(wildcard cli/*.c)
HELPER_SRCS := $(wildcard ssh_wid_helper/*.c)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_SUPPORT_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))

obj = $(patsubst %.c,$(OBJDIR)/%.o,$(1))

LIBCORE   := $(LIBDIR)/libwidcore.a
LIBPOLICY := $(LIBDIR)/libwidpolicy.a
LIBS      := $(LIBPOLICY) $(LIBCORE)
WID       := $(BINDIR)/wid
HELPER    := $(BINDIR)/ssh-wid-helper
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# nginx module, built the Debian way against /usr/share/nginx/src.
NGX_SRC      := /usr/share/nginx/src
NGX_TREE     := $(BUILD)/nginx-src
NGX_BUILDDIR := $(BUILD)/nginx
MODULE       := $(NGX_BUILDDIR)/ngx_http_wid_module.so
MODULE_SRCS  := $(wildcard ngx_wid_module/*.c ngx_wid_module/*.h)
# Everything the module compiles against (listed as its deps at configure).
MODULE_DEPS  := $(wildcard libcore/*.h libcore/reasons/*.def policy/*.h)
NGX_CC_OPT   := -g -O2 -fstack-protector-strong -Wformat \
                -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2
NGX_LD_OPT   := -Wl,-z,relro -Wl,-z,now -fPIC

.PHONY: all deps libs cli helper module unit unit-run unit-asan prove \
        test docs docs-check clean fuzz fuzz-build fuzz-smoke \
        fuzz-helper-objs

all: deps
	@$(MAKE) --no-print-directory libs cli helper module

deps:
	@./mk/deps.sh

libs: $(LIBS)
cli: $(WID)
helper: $(HELPER)
module: $(MODULE)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCORE): $(call obj,$(CORE_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBPOLICY): $(call obj,$(POLICY_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(WID): $(call obj,$(CLI_SRCS)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(call obj,$(CLI_SRCS)) $(LIBS) $(LDLIBS)

# HELPER_STATIC=1 links the helper's libraries statically (libc stays
# shared): sshd starts `principals` twice per login, and loading and
# relocating libcrypto at every start is most of its run time.  The price:
# an OpenSSL, libsodium, jansson or libyaml security update reaches the
# helper only when it is rebuilt (docs/ssh.md, Performance).  Remove
# build/bin/ssh-wid-helper when switching.  `make bench-ssh` measures both.
#
# Dynamic: libcrypto first.  The loader resolves libcrypto's ~3,000
# BIND_NOW references to itself at every start, each searched in load
# order; with libcrypto ahead of libyaml, libjansson and libsodium that is
# about 460,000 fewer instructions per `principals` run (bench/NOTES.md).
# The libraries define no symbol in common, so the order changes nothing
# else.
HELPER_DYN_LIBS      := -lcrypto -lsodium -ljansson -lyaml
HELPER_STATIC_LDLIBS := -Wl,-Bstatic -lyaml -ljansson -lsodium -lcrypto \
                        -Wl,-Bdynamic -lpthread -ldl
ifneq ($(HELPER_STATIC),)
HELPER_LDLIBS := $(HELPER_STATIC_LDLIBS)
else
HELPER_LDLIBS := $(HELPER_DYN_LIBS) -ltss2-mu -lssl
endif

$(HELPER): $(call obj,$(HELPER_SRCS)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(call obj,$(HELPER_SRCS)) $(LIBS) $(HELPER_LDLIBS)

# Reconfigure nginx when the addon file or the module's file list changes.
$(BUILD)/module-files.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo "$(MODULE_SRCS) $(MODULE_DEPS)" | cmp -s - $@ \
	    || echo "$(MODULE_SRCS) $(MODULE_DEPS)" > $@

$(NGX_BUILDDIR)/Makefile: config $(BUILD)/module-files.stamp
	@test -d $(NGX_SRC) || { echo "missing $(NGX_SRC): run make deps"; exit 1; }
	rm -rf $(NGX_TREE) && mkdir -p $(NGX_TREE) $(NGX_BUILDDIR)
	cp -a $(NGX_SRC)/. $(NGX_TREE)/
	cd $(NGX_TREE) && . ./conf_flags && \
	    WID_LIBDIR=$(abspath $(LIBDIR)) ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-cc-opt="$(NGX_CC_OPT)" --with-ld-opt="$(NGX_LD_OPT)" \
	    --add-dynamic-module=$(CURDIR) \
	    --builddir=$(abspath $(NGX_BUILDDIR)) > $(abspath $(NGX_BUILDDIR))/configure.log

# The module links our static libraries: relink whenever they change.
$(MODULE): $(NGX_BUILDDIR)/Makefile $(MODULE_SRCS) $(LIBS) $(MODULE_DEPS)
	rm -f $@
	$(MAKE) --no-print-directory -f $(abspath $(NGX_BUILDDIR))/Makefile \
	    -C $(NGX_TREE) modules

# Unit tests: one cmocka binary per tests/unit/test_*.c.
$(BUILD)/tests/%: $(OBJDIR)/tests/unit/%.o $(call obj,$(UNIT_SUPPORT_SRCS)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(call obj,$(UNIT_SUPPORT_SRCS)) $(LIBS) \
	    $(LDLIBS) -lcmocka

# SSH helper unit tests also link the helper's objects (all but main.c).
HELPER_LIB_OBJS := $(call obj,$(filter-out ssh_wid_helper/main.c,$(HELPER_SRCS)))
$(BUILD)/tests/test_ssh%: $(OBJDIR)/tests/unit/test_ssh%.o \
        $(call obj,$(UNIT_SUPPORT_SRCS)) $(HELPER_LIB_OBJS) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(call obj,$(UNIT_SUPPORT_SRCS)) \
	    $(HELPER_LIB_OBJS) $(LIBS) $(LDLIBS) -lcmocka

# The allocation trap (tests/unit/test_policy_noalloc.c) sees every call
# the static libraries make to the allocator through these wrappers.
WRAP_ALLOC := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
              -Wl,--wrap=reallocarray,--wrap=free,--wrap=strdup \
              -Wl,--wrap=strndup,--wrap=posix_memalign,--wrap=aligned_alloc
$(BUILD)/tests/test_policy_noalloc: private LDFLAGS += $(WRAP_ALLOC)
# tests/unit/test_bundle_nomem.c fails one calloc on demand.
$(BUILD)/tests/test_bundle_nomem: private LDFLAGS += -Wl,--wrap=calloc

unit: $(UNIT_BINS) $(WID)

unit-run: unit
	@WID_BIN=$(abspath $(WID)) ./mk/run-unit.sh $(UNIT_BINS)

unit-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 unit-run

prove: all
	prove -r t/ tests/e2e/

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit-run
	@$(MAKE) --no-print-directory unit-asan
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory docs-check
	@$(MAKE) --no-print-directory prove
	@$(MAKE) --no-print-directory test-nginx-asan

# libFuzzer targets (clang, ASan+UBSan): tests/fuzz/fuzz_<name>.c with a
# seed corpus in tests/fuzz/corpus/<name>/.  `make fuzz FUZZ_SECONDS=N`
# runs each for N seconds; `make test` runs each briefly (fuzz-smoke).
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BUILD   := build/fuzz
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60
# Smoke: every seed replayed, then this many seconds of fuzzing per target
# (20 targets at 5 s each took over two minutes of `make test`).
FUZZ_SMOKE_SECONDS ?= 2

$(FUZZ_BUILD)/fuzz/%: tests/fuzz/%.c FORCE
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) SANITIZE=fuzz CC=clang libs
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 $(INCS) -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -o $@ $< $(FUZZ_BUILD)/lib/libwidpolicy.a \
	    $(FUZZ_BUILD)/lib/libwidcore.a $(LDLIBS)

# SSH helper targets also link the helper's objects (all but main.c),
# built with the same compiler and sanitizers as the libraries.
$(FUZZ_BUILD)/fuzz/fuzz_ssh%: tests/fuzz/fuzz_ssh%.c FORCE
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) SANITIZE=fuzz CC=clang \
	    libs fuzz-helper-objs
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 $(INCS) -Issh_wid_helper \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ $< $(patsubst $(OBJDIR)/%,$(FUZZ_BUILD)/obj/%,$(HELPER_LIB_OBJS)) \
	    $(FUZZ_BUILD)/lib/libwidpolicy.a $(FUZZ_BUILD)/lib/libwidcore.a $(LDLIBS)

fuzz-helper-objs: $(HELPER_LIB_OBJS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@./mk/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-smoke: fuzz-build
	@./mk/run-fuzz.sh --smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_BINS)

docs: $(WID)
	$(WID) reasons --markdown > docs/reason-codes.md

docs-check: $(WID)
	@$(WID) reasons --markdown | diff -u docs/reason-codes.md - \
	    || { echo "docs/reason-codes.md is stale: run make docs"; exit 1; }

clean:
	rm -rf build

# Phony, so that .SECONDARY below cannot make it an intermediate file
# that "need not be remade": then nothing depending on FORCE is rebuilt.
.PHONY: FORCE
FORCE:

# Keep objects of unit tests between runs.  Listed, not a bare
# .SECONDARY: that would make every target intermediate, and a missing
# intermediate (the nginx build directory's Makefile, the module file
# stamp) is never remade: new module sources would not be built.
.SECONDARY: $(call obj,$(UNIT_SRCS) $(UNIT_SUPPORT_SRCS))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- policy decision benchmark (policy engine) ----
# `make bench-policy`: ns per decision on a generated 100-rule policy;
# fails when a decision takes more than 1 microsecond.
BENCH_POLICY := $(BUILD)/bench/bench_policy

.PHONY: bench-policy
bench-policy: $(BENCH_POLICY)
	$(BENCH_POLICY)

$(BENCH_POLICY): $(OBJDIR)/bench/bench_policy.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

# Journal benchmark (bench/bench_journal.c): appends/s with fsync=interval
# and `wid journal query` over one million receipts.
.PHONY: bench-journal
$(BUILD)/bench/bench_journal: bench/bench_journal.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

bench-journal: $(BUILD)/bench/bench_journal $(WID)
	$(BUILD)/bench/bench_journal $(BUILD)/bench-journal-data $(WID) \
	    $(or $(N),1000000)

# --- identity benchmark (bench/bench_identity.c), part of `make bench` ---
BENCH_ID_BIN := $(BUILD)/bench/bench_identity
BENCH_ID_DIR := $(BUILD)/bench/identity

$(BENCH_ID_BIN): $(call obj,bench/bench_identity.c) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)

.PHONY: bench-identity bench-identity-data bench-identity-callgrind

bench-identity: bench-identity-data
	$(BENCH_ID_BIN) $(BENCH_ID_DIR) 2

# Instructions per verification under callgrind (stable on a loaded box).
bench-identity-callgrind: bench-identity-data
	bench/identity-callgrind.sh $(BENCH_ID_BIN) $(BENCH_ID_DIR)

bench-identity-data: $(BENCH_ID_BIN)
	@rm -rf $(BENCH_ID_DIR) && mkdir -p $(BENCH_ID_DIR)
	@/usr/bin/python3 tests/tools/mint-jwt suite $(BENCH_ID_DIR)/jwt >/dev/null
	@tests/tools/widpki td $(BENCH_ID_DIR)/pki bench.org --intermediates 1 >/dev/null
	@tests/tools/widpki leaf $(BENCH_ID_DIR)/pki bench.org $(BENCH_ID_DIR)/svid \
	    --id spiffe://bench.org/web >/dev/null

# --- SSH helper benchmark (bench/bench_ssh.c), part of `make bench` ---
# Issuance through the serve daemon (target >= 1,000 certificates/s on one
# core) and the median wall time of one `principals` run (target <= 5 ms).
BENCH_SSH_BIN := $(BUILD)/bench/bench_ssh
BENCH_SSH_DIR := $(BUILD)/bench/ssh

$(BENCH_SSH_BIN): $(call obj,bench/bench_ssh.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LDLIBS)

# Baselines for one principals run: a program that does nothing, loading
# the helper's libraries; and the helper linked as HELPER_STATIC=1 links
# it, from the same objects.
BENCH_SSH_TRIVIAL := $(BUILD)/bench/ssh_trivial
BENCH_SSH_STATIC  := $(BUILD)/bench/ssh-wid-helper-static

$(BENCH_SSH_TRIVIAL): bench/ssh_trivial.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--no-as-needed $(HELPER_DYN_LIBS)

$(BENCH_SSH_STATIC): $(call obj,$(HELPER_SRCS)) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(call obj,$(HELPER_SRCS)) $(LIBS) \
	    $(HELPER_STATIC_LDLIBS)

.PHONY: bench-ssh

bench-ssh: $(BENCH_SSH_BIN) $(HELPER) $(WID) $(BENCH_SSH_TRIVIAL) $(BENCH_SSH_STATIC)
	@rm -rf $(BENCH_SSH_DIR) && mkdir -p $(BENCH_SSH_DIR)/journal
	@/usr/bin/python3 tests/tools/mint-jwt suite $(BENCH_SSH_DIR)/jwt >/dev/null
	@$(WID) keygen --out $(BENCH_SSH_DIR)/ca >/dev/null
	@$(WID) keygen --out $(BENCH_SSH_DIR)/rcpt >/dev/null
	@$(HELPER) pubkey --ca-key $(BENCH_SSH_DIR)/ca.key > $(BENCH_SSH_DIR)/ca_ssh.pub
	@ssh-keygen -q -t ed25519 -N '' -f $(BENCH_SSH_DIR)/id
	@ssh-keygen -q -k -f $(BENCH_SSH_DIR)/empty.krl /dev/null
	$(BENCH_SSH_BIN) $(abspath $(BENCH_SSH_DIR)) $(abspath $(HELPER)) \
	    $(or $(N),3000) $(abspath $(BENCH_SSH_TRIVIAL)) $(abspath $(BENCH_SSH_STATIC))

# ---- make demo (mk/demo.sh) ----
# The README's first command: builds (make deps, make) and runs stock
# nginx with the module against a demo trust domain; leaves what it made
# in build/demo/.  Exits non-zero when any step misbehaves.
.PHONY: demo
demo:
	@WID_BUILD=$(abspath $(BUILD)) ./mk/demo.sh

# ---- benchmarks (issue 9): `make bench` -------------------------------
# The load generator and token minter are built with the project's flags;
# the driver starts stock nginx with and without the module, runs every
# scenario whose prerequisites exist and writes bench/RESULTS.md and
# bench/results.json.  BENCH_ARGS passes options to the driver (e.g.
# BENCH_ARGS="--quick").

BENCH_BINDIR := $(BUILD)/bench
BENCH_TOOLS  := $(BENCH_BINDIR)/loadgen $(BENCH_BINDIR)/jwtmint \
                $(BENCH_BINDIR)/alloc-trace.so

.PHONY: bench bench-tools

bench-tools: $(BENCH_TOOLS)

$(BENCH_BINDIR)/loadgen: $(OBJDIR)/bench/loadgen.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -ljansson -lssl -lcrypto -lpthread -lm

$(BENCH_BINDIR)/jwtmint: $(OBJDIR)/bench/jwtmint.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -ljansson -lssl -lcrypto

# LD_PRELOAD tracer for `bench/nginx-callgrind.sh --alloc` (a tool, not
# shipped).
$(BENCH_BINDIR)/alloc-trace.so: bench/alloc-trace.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $<

bench: all
	@$(MAKE) --no-print-directory bench-tools
	perl bench/run.pl $(BENCH_ARGS)

# ---- hardening (issue 10): valgrind, the module under ASan+UBSan, soak ----
#
#   make valgrind          unit tests and a representative set of wid CLI
#                          runs under valgrind memcheck (mk/valgrind.sh)
#   make test-nginx-asan   prove -r t/ with the module and the libraries
#                          built with ASan+UBSan, loaded into the stock
#                          /usr/sbin/nginx with libasan preloaded
#   make soak              bench/soak.pl: load, bundle rewrites, reloads and
#                          SIGKILLed workers for SOAK_SECONDS (default 180)

.PHONY: valgrind test-nginx-asan nginx-asan soak

valgrind: unit
	@./mk/valgrind.sh $(BUILD) $(UNIT_BINS)

ASAN_LIBBUILD := build/asan
ASAN_NGX_TREE := build/asan-nginx-src
ASAN_NGX_DIR  := build/asan-nginx
ASAN_MODULE   := $(ASAN_NGX_DIR)/ngx_http_wid_module.so
ASAN_NGX_CC   := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                 -fno-sanitize-recover=all -fPIC
ASAN_NGX_LD   := -fsanitize=address,undefined -fPIC

$(ASAN_NGX_DIR).stamp: FORCE
	@mkdir -p $(dir $@)
	@echo "$(MODULE_SRCS) $(MODULE_DEPS)" | cmp -s - $@ \
	    || echo "$(MODULE_SRCS) $(MODULE_DEPS)" > $@

$(ASAN_NGX_DIR)/Makefile: config $(ASAN_NGX_DIR).stamp
	@test -d $(NGX_SRC) || { echo "missing $(NGX_SRC): run make deps"; exit 1; }
	rm -rf $(ASAN_NGX_TREE) && mkdir -p $(ASAN_NGX_TREE) $(ASAN_NGX_DIR)
	cp -a $(NGX_SRC)/. $(ASAN_NGX_TREE)/
	cd $(ASAN_NGX_TREE) && . ./conf_flags && \
	    WID_LIBDIR=$(abspath $(ASAN_LIBBUILD)/lib) ./configure \
	    "$${NGX_CONF_FLAGS[@]}" --with-cc-opt="$(ASAN_NGX_CC)" \
	    --with-ld-opt="$(ASAN_NGX_LD)" --add-dynamic-module=$(CURDIR) \
	    --builddir=$(abspath $(ASAN_NGX_DIR)) \
	    > $(abspath $(ASAN_NGX_DIR))/configure.log

# The sanitizer libraries and CLI first (the module links them).
nginx-asan: deps
	@$(MAKE) --no-print-directory BUILD=$(ASAN_LIBBUILD) SANITIZE=1 libs cli
	@$(MAKE) --no-print-directory $(ASAN_NGX_DIR)/Makefile
	rm -f $(ASAN_MODULE)
	$(MAKE) --no-print-directory -f $(abspath $(ASAN_NGX_DIR))/Makefile \
	    -C $(ASAN_NGX_TREE) modules

test-nginx-asan: nginx-asan
	@./mk/nginx-asan.sh $(abspath $(ASAN_MODULE)) \
	    $(abspath $(ASAN_LIBBUILD)/bin/wid)

SOAK_SECONDS ?= 180

soak: all
	@$(MAKE) --no-print-directory bench-tools
	SOAK_SECONDS=$(SOAK_SECONDS) perl bench/soak.pl
