# ffi/ffi.mk: the C side of tandem-ffi. Included by the root Makefile; paths are relative to the
# workspace root. Standalone: `make -f ffi/ffi.mk ffi-ctest TARGET_DIR=/tmp/ffi-target`.
#
#   make header                regenerate ffi/include/tandem.h with cbindgen (then commit it)
#   make ffi-ctest             build libtandem and run the C tests with -Werror and sanitizers:
#                              ffi/tests/c/test_ffi.c against the shared and the static library
#                              (ASan+UBSan), test_engine.c (ASan+UBSan) and
#                              test_engine_threads.c (TSan) against the shared library, on a
#                              ledger `tandem gen` writes for the default cluster; then
#                              ffi-install-test
#   make install PREFIX=DIR    build libtandem (FFI_PROFILE: release or debug) and install the
#                              header, both libraries and tandem.pc under DIR (DESTDIR honoured)
#   make ffi-install-test      install into ffi/tests/build/prefix and build and run a C program
#                              against it through pkg-config, shared and static; then
#                              ffi-examples against that prefix
#   make ffi-examples PREFIX=DIR
#                              build ffi/examples against the libtandem installed under DIR
#                              (with its pkg-config file) and check that they replay a ledger
#                              to `tandem replay`'s hashes

# This file, for the sub-make of ffi-ctest (the root Makefile includes it, or `make -f` names it).
FFI_MK := $(lastword $(MAKEFILE_LIST))

CARGO ?= cargo
# The cargo target directory; CARGO_TARGET_DIR is honoured when TARGET_DIR is not given.
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

FFI_CC ?= gcc
FFI_CXX ?= g++
FFI_WARNINGS := -std=c11 -Wall -Wextra -Wpedantic -Werror
FFI_SANITIZERS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FFI_LIB_DIR := $(TARGET_DIR)/debug
FFI_BUILD := ffi/tests/build
# The version tandem_version() must return: [workspace.package] version of the root Cargo.toml,
# which ffi/Cargo.toml inherits.
FFI_VERSION := $(shell awk -F'"' '/^\[/ { in_pkg = ($$0 == "[workspace.package]") } in_pkg && /^version *=/ { print $$2; exit }' Cargo.toml)
FFI_CFLAGS := $(FFI_WARNINGS) -g -I ffi/include -DTANDEM_EXPECTED_VERSION='"$(FFI_VERSION)"'
# The system libraries libtandem.a needs (the engine's hwloc and udev among them): what
# `cargo rustc -p tandem-ffi --lib --crate-type staticlib -- --print native-static-libs` prints.
FFI_STATIC_LIBS := -lhwloc -ludev -lgcc_s -lutil -lrt -lpthread -ldl -lm

# The file names of the shared library: the real file carries MAJOR.MINOR.PATCH (a pre-release
# or build suffix dropped), the soname (ffi/build.rs) only MAJOR.
FFI_VERSION_CORE := $(firstword $(subst -, ,$(subst +, ,$(FFI_VERSION))))
FFI_SONAME := libtandem.so.$(firstword $(subst ., ,$(FFI_VERSION_CORE)))
FFI_REALNAME := libtandem.so.$(FFI_VERSION_CORE)

# Mesa's Vulkan driver keeps allocations until exit: suppress those, and only those, in LSan.
# Where CI=true the C tests also run the GPU backend (lavapipe there) and require it to work.
FFI_RUN := LSAN_OPTIONS=suppressions=$(abspath ffi/tests/c/lsan.supp) \
	TANDEM_CTEST_GPU=$(if $(filter true,$(CI)),1,0)

# make install: the cargo profile to build (release or debug) and where its output lies.
FFI_PROFILE ?= release
FFI_PROFILE_FLAG := $(if $(filter release,$(FFI_PROFILE)),--release)
FFI_PROFILE_DIR := $(TARGET_DIR)/$(FFI_PROFILE)
# PREFIX is required; a relative one is taken from the workspace root. It is what tandem.pc
# names; DESTDIR (a staging root for packagers) only moves where the files are written.
FFI_PREFIX := $(if $(PREFIX),$(abspath $(PREFIX)))
FFI_DEST := $(DESTDIR)$(FFI_PREFIX)

# ffi-install-test: a fresh prefix, and what is built against it.
FFI_TEST_PREFIX := $(abspath $(FFI_BUILD)/prefix)
FFI_TEST_PKG_CONFIG := PKG_CONFIG_PATH=$(FFI_TEST_PREFIX)/lib/pkgconfig pkg-config
FFI_TEST_CFLAGS := $(FFI_WARNINGS) -g -DTANDEM_EXPECTED_VERSION='"$(FFI_VERSION)"'
# Where ffi-examples builds the examples, its ledger and its stores.
FFI_EXAMPLES_BUILD := $(FFI_BUILD)/examples


# The engine tests' ledger: 40 slots of the default cluster (32-slot epochs: one boundary
# crossed), small enough for lavapipe on two cores; the report holds the sequential runtime's
# hashes of every slot, which the engine's must equal.
FFI_GENESIS := engine/genesis/default.toml
FFI_LEDGER := $(FFI_BUILD)/engine.ledger
FFI_REPORT := $(FFI_BUILD)/engine.json
# The first engine open surveys the machine with hwloc, whose PCI plugin (libpciaccess) keeps what
# it allocates in globals of a library hwloc unloads after the survey: LSan then reports it as
# leaked from an unknown module, which no suppression can name. The engine test does not need
# PCI locality: keep that plugin out.
FFI_ENGINE_RUN := $(FFI_RUN) HWLOC_PLUGINS_BLACKLIST=hwloc_pci
# ThreadSanitizer for test_engine_threads; tsan.supp says what it leaves to the Rust side. GCC
# 12's TSan cannot place its shadow memory under the wider address randomization of recent
# kernels (vm.mmap_rnd_bits = 32): turn randomization off for the run where the machine allows.
FFI_TSAN_RUN := TSAN_OPTIONS="halt_on_error=1 suppressions=$(abspath ffi/tests/c/tsan.supp)" \
	$(shell setarch $$(uname -m) -R true 2>/dev/null && echo setarch $$(uname -m) -R)

.PHONY: header ffi-ctest install ffi-install-test ffi-examples

header:
	TANDEM_BLESS_HEADER=1 $(CARGO) test -p tandem-ffi --test header --target-dir $(TARGET_DIR)

ffi-ctest:
	@test -n "$(FFI_VERSION)" || { echo "ffi.mk: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
	$(CARGO) build -p tandem-ffi -p tandem-cli --target-dir $(TARGET_DIR)
	@mkdir -p $(FFI_BUILD)/lib
# The executable records the soname (ffi/build.rs); this directory gives the build tree's library
# that name.
	ln -sfn $(abspath $(FFI_LIB_DIR))/libtandem.so $(FFI_BUILD)/lib/$(FFI_SONAME)
	$(FFI_CC) $(FFI_CFLAGS) $(FFI_SANITIZERS) ffi/tests/c/test_ffi.c -o $(FFI_BUILD)/test_ffi_shared \
		-L $(FFI_LIB_DIR) -ltandem -Wl,-rpath,$(abspath $(FFI_BUILD)/lib)
	$(FFI_CC) $(FFI_CFLAGS) $(FFI_SANITIZERS) ffi/tests/c/test_ffi.c -o $(FFI_BUILD)/test_ffi_static \
		$(FFI_LIB_DIR)/libtandem.a $(FFI_STATIC_LIBS)
	$(FFI_RUN) $(FFI_BUILD)/test_ffi_shared
	$(FFI_RUN) $(FFI_BUILD)/test_ffi_static
	$(FFI_CC) $(FFI_CFLAGS) $(FFI_SANITIZERS) ffi/tests/c/test_engine.c -o $(FFI_BUILD)/test_engine \
		-L $(FFI_LIB_DIR) -ltandem -Wl,-rpath,$(abspath $(FFI_BUILD)/lib)
	$(FFI_CC) $(FFI_CFLAGS) -pthread -fsanitize=thread ffi/tests/c/test_engine_threads.c \
		-o $(FFI_BUILD)/test_engine_threads -L $(FFI_LIB_DIR) -ltandem -Wl,-rpath,$(abspath $(FFI_BUILD)/lib)
	$(TARGET_DIR)/debug/tandem gen --genesis $(FFI_GENESIS) --slots 40 --transfers 20 \
		--out $(FFI_LEDGER) --json $(FFI_REPORT) >/dev/null
	rm -rf $(FFI_BUILD)/engine-scratch $(FFI_BUILD)/threads-scratch
	$(FFI_ENGINE_RUN) $(FFI_BUILD)/test_engine $(FFI_GENESIS) $(FFI_LEDGER) \
		$(FFI_BUILD)/engine-scratch $(FFI_REPORT)
	@if [ -z "$(findstring setarch,$(FFI_TSAN_RUN))" ] \
	  && [ "$$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then \
	  echo "ffi-ctest: GCC's ThreadSanitizer cannot run with vm.mmap_rnd_bits =" \
	    "$$(cat /proc/sys/vm/mmap_rnd_bits), and setarch -R (randomization off) is refused here:" \
	    "run  sudo sysctl vm.mmap_rnd_bits=28  first" >&2; exit 1; fi
	$(FFI_TSAN_RUN) $(FFI_BUILD)/test_engine_threads $(FFI_GENESIS) $(FFI_LEDGER) \
		$(FFI_BUILD)/threads-scratch $(FFI_REPORT)
	@$(MAKE) --no-print-directory -f $(FFI_MK) ffi-install-test

install:
	@test -n "$(PREFIX)" || { echo "ffi.mk: make install needs PREFIX, e.g. make install PREFIX=/usr/local" >&2; exit 1; }
	@test -n "$(FFI_VERSION)" || { echo "ffi.mk: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
	@case "$(FFI_PROFILE)" in release|debug) ;; \
	  *) echo "ffi.mk: FFI_PROFILE is release or debug, not '$(FFI_PROFILE)'" >&2; exit 1;; esac
	$(CARGO) build -p tandem-ffi $(FFI_PROFILE_FLAG) --target-dir $(TARGET_DIR)
	sed -e 's|@PREFIX@|$(FFI_PREFIX)|g' -e 's|@VERSION@|$(FFI_VERSION)|g' ffi/tandem.pc.in \
		> $(FFI_PROFILE_DIR)/tandem.pc
	install -d $(FFI_DEST)/include $(FFI_DEST)/lib/pkgconfig
	install -m 644 ffi/include/tandem.h $(FFI_DEST)/include/tandem.h
	install -m 755 $(FFI_PROFILE_DIR)/libtandem.so $(FFI_DEST)/lib/$(FFI_REALNAME)
	ln -sfn $(FFI_REALNAME) $(FFI_DEST)/lib/$(FFI_SONAME)
	ln -sfn $(FFI_SONAME) $(FFI_DEST)/lib/libtandem.so
	install -m 644 $(FFI_PROFILE_DIR)/libtandem.a $(FFI_DEST)/lib/libtandem.a
	install -m 644 $(FFI_PROFILE_DIR)/tandem.pc $(FFI_DEST)/lib/pkgconfig/tandem.pc
	@echo "ffi.mk: installed libtandem $(FFI_VERSION) ($(FFI_PROFILE)) under $(FFI_DEST)"

ffi-install-test:
	rm -rf $(FFI_TEST_PREFIX) $(FFI_BUILD)/install $(FFI_BUILD)/examples
	@$(MAKE) --no-print-directory -f $(FFI_MK) install FFI_PROFILE=debug PREFIX=$(FFI_TEST_PREFIX) DESTDIR=
	@mkdir -p $(FFI_BUILD)/install
# The layout: the symlink chain to the real file, and the soname inside it.
	@test "$$(readlink $(FFI_TEST_PREFIX)/lib/libtandem.so)" = $(FFI_SONAME) \
	  && test "$$(readlink $(FFI_TEST_PREFIX)/lib/$(FFI_SONAME))" = $(FFI_REALNAME) \
	  || { echo "ffi-install-test: libtandem.so -> $(FFI_SONAME) -> $(FFI_REALNAME) is not installed" >&2; exit 1; }
	@soname=$$(LC_ALL=C readelf -d $(FFI_TEST_PREFIX)/lib/$(FFI_REALNAME) | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p'); \
	  test "$$soname" = $(FFI_SONAME) \
	  || { echo "ffi-install-test: the soname of $(FFI_REALNAME) is '$$soname', not $(FFI_SONAME)" >&2; exit 1; }
	@version=$$($(FFI_TEST_PKG_CONFIG) --modversion tandem); test "$$version" = "$(FFI_VERSION)" \
	  || { echo "ffi-install-test: pkg-config says tandem $$version, Cargo.toml $(FFI_VERSION)" >&2; exit 1; }
# Every native library rustc says a static link needs must come out of tandem.pc, so a dependency
# that brings one (tandem-engine: hwloc, udev) fails here until ffi/tandem.pc.in names it.
	@out=$$($(CARGO) rustc -q -p tandem-ffi --target-dir $(TARGET_DIR) --crate-type staticlib \
	    -- --print native-static-libs 2>&1) || { echo "$$out" >&2; exit 1; }; \
	  needed=$$(echo "$$out" | sed -n 's/.*native-static-libs: //p'); \
	  test -n "$$needed" || { echo "ffi-install-test: rustc printed no native-static-libs" >&2; exit 1; }; \
	  given=" $$($(FFI_TEST_PKG_CONFIG) --static --libs tandem) "; \
	  for lib in $$needed; do case "$$given" in *" $$lib "*) ;; \
	    *) echo "ffi-install-test: a static link needs $$lib (rustc: $$needed);" \
	         "add it to Libs.private or Requires.private in ffi/tandem.pc.in" >&2; exit 1;; esac; done
# Shared: the program must record the soname and find it through LD_LIBRARY_PATH.
	$(FFI_CC) $(FFI_TEST_CFLAGS) ffi/tests/c/test_install.c -o $(FFI_BUILD)/install/test_install_shared \
		$$($(FFI_TEST_PKG_CONFIG) --cflags --libs tandem)
	@LC_ALL=C readelf -d $(FFI_BUILD)/install/test_install_shared | grep -q "Shared library: \[$(FFI_SONAME)\]" \
	  || { echo "ffi-install-test: test_install_shared does not need $(FFI_SONAME)" >&2; exit 1; }
	LD_LIBRARY_PATH=$(FFI_TEST_PREFIX)/lib $(FFI_BUILD)/install/test_install_shared
# Static: tandem.pc's -ltandem made static, the rest (Libs.private, Requires.private) as given;
# the program must not need the shared libtandem.
	$(FFI_CC) $(FFI_TEST_CFLAGS) ffi/tests/c/test_install.c -o $(FFI_BUILD)/install/test_install_static \
		$$($(FFI_TEST_PKG_CONFIG) --static --cflags --libs tandem \
		   | sed 's/-ltandem\b/-Wl,-Bstatic -ltandem -Wl,-Bdynamic/')
	@! LC_ALL=C readelf -d $(FFI_BUILD)/install/test_install_static | grep -q "Shared library: \[libtandem" \
	  || { echo "ffi-install-test: test_install_static still needs the shared libtandem" >&2; exit 1; }
	$(FFI_BUILD)/install/test_install_static
	@echo "ffi-install-test: libtandem $(FFI_VERSION) installs, and links shared and static through pkg-config"
	@$(MAKE) --no-print-directory -f $(FFI_MK) ffi-examples PREFIX=$(FFI_TEST_PREFIX)

ffi-examples:
	@test -n "$(PREFIX)" || { echo "ffi.mk: ffi-examples needs PREFIX=DIR, a prefix libtandem is installed under" >&2; exit 1; }
	$(CARGO) build -p tandem-cli --target-dir $(TARGET_DIR)
	ffi/tests/examples.sh $(TARGET_DIR)/debug/tandem $(FFI_PREFIX) $(FFI_EXAMPLES_BUILD)
