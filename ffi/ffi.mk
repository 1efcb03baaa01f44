# ffi/ffi.mk: the C side of tandem-ffi. Included by the root Makefile; paths are relative to the
# workspace root. Standalone: `make -f ffi/ffi.mk ffi-ctest TARGET_DIR=/tmp/ffi-target`.
#
#   make header                regenerate ffi/include/tandem.h with cbindgen (then commit it)
#   make ffi-ctest             build libtandem and run ffi/tests/c/test_ffi.c against the shared
#                              and the static library, with -Werror and sanitizers
#   make install PREFIX=DIR    build libtandem (FFI_PROFILE: release or debug) and install the
#                              header, both libraries and tandem.pc under DIR (DESTDIR honoured)

CARGO ?= cargo
# The cargo target directory; CARGO_TARGET_DIR is honoured when TARGET_DIR is not given.
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

FFI_CC ?= gcc
FFI_WARNINGS := -std=c11 -Wall -Wextra -Wpedantic -Werror
FFI_SANITIZERS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FFI_LIB_DIR := $(TARGET_DIR)/debug
FFI_BUILD := ffi/tests/build
# The version tandem_version() must return: [workspace.package] version of the root Cargo.toml,
# which ffi/Cargo.toml inherits.
FFI_VERSION := $(shell awk -F'"' '/^\[/ { in_pkg = ($$0 == "[workspace.package]") } in_pkg && /^version *=/ { print $$2; exit }' Cargo.toml)
FFI_CFLAGS := $(FFI_WARNINGS) -g -I ffi/include -DTANDEM_EXPECTED_VERSION='"$(FFI_VERSION)"'

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

.PHONY: header ffi-ctest install

header:
	TANDEM_BLESS_HEADER=1 $(CARGO) test -p tandem-ffi --test header --target-dir $(TARGET_DIR)

ffi-ctest:
	@test -n "$(FFI_VERSION)" || { echo "ffi.mk: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
	$(CARGO) build -p tandem-ffi --target-dir $(TARGET_DIR)
	@mkdir -p $(FFI_BUILD)/lib
# The executable records the soname (ffi/build.rs); this directory gives the build tree's library
# that name.
	ln -sfn $(abspath $(FFI_LIB_DIR))/libtandem.so $(FFI_BUILD)/lib/$(FFI_SONAME)
	$(FFI_CC) $(FFI_CFLAGS) $(FFI_SANITIZERS) ffi/tests/c/test_ffi.c -o $(FFI_BUILD)/test_ffi_shared \
		-L $(FFI_LIB_DIR) -ltandem -Wl,-rpath,$(abspath $(FFI_BUILD)/lib)
	$(FFI_CC) $(FFI_CFLAGS) $(FFI_SANITIZERS) ffi/tests/c/test_ffi.c -o $(FFI_BUILD)/test_ffi_static \
		$(FFI_LIB_DIR)/libtandem.a -lpthread -ldl -lm
	$(FFI_RUN) $(FFI_BUILD)/test_ffi_shared
	$(FFI_RUN) $(FFI_BUILD)/test_ffi_static

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
