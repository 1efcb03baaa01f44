# ffi/ffi.mk: the C side of tandem-ffi. Included by the root Makefile; paths are relative to the
# workspace root. Standalone: `make -f ffi/ffi.mk ffi-ctest TARGET_DIR=/tmp/ffi-target`.
#
#   make header     regenerate ffi/include/tandem.h with cbindgen (then commit it)
#   make ffi-ctest  build libtandem and run the C tests with -Werror and sanitizers:
#                   ffi/tests/c/test_ffi.c against the shared and the static library (ASan+UBSan),
#                   test_engine.c (ASan+UBSan) and test_engine_threads.c (TSan) against the
#                   shared library, on a ledger `tandem gen` writes for the default cluster

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
# The system libraries libtandem.a needs (the engine's hwloc and udev among them): what
# `cargo rustc -p tandem-ffi --lib --crate-type staticlib -- --print native-static-libs` prints.
FFI_STATIC_LIBS := -lhwloc -ludev -lgcc_s -lutil -lrt -lpthread -ldl -lm

# Mesa's Vulkan driver keeps allocations until exit: suppress those, and only those, in LSan.
# Where CI=true the C tests also run the GPU backend (lavapipe there) and require it to work.
FFI_RUN := LSAN_OPTIONS=suppressions=$(abspath ffi/tests/c/lsan.supp) \
	TANDEM_CTEST_GPU=$(if $(filter true,$(CI)),1,0)

# The engine tests' ledger: 40 slots of the default cluster (32-slot epochs: one boundary
# crossed), small enough for lavapipe on two cores; the report holds the sequential runtime's
# hashes of every slot, which the engine's must equal.
FFI_GENESIS := engine/genesis/default.toml
FFI_LEDGER := $(FFI_BUILD)/engine.ledger
FFI_REPORT := $(FFI_BUILD)/engine.json
# Each engine open surveys the machine with hwloc, whose PCI plugin (libpciaccess) keeps what it
# allocates in globals of a library hwloc unloads after the survey: LSan then reports it as
# leaked from an unknown module, which no suppression can name. The engine test does not need
# PCI locality: keep that plugin out.
FFI_ENGINE_RUN := $(FFI_RUN) HWLOC_PLUGINS_BLACKLIST=hwloc_pci
# ThreadSanitizer for test_engine_threads; tsan.supp says what it leaves to the Rust side. GCC
# 12's TSan cannot place its shadow memory under the wider address randomization of recent
# kernels (vm.mmap_rnd_bits = 32): turn randomization off for the run where the machine allows.
FFI_TSAN_RUN := TSAN_OPTIONS="halt_on_error=1 suppressions=$(abspath ffi/tests/c/tsan.supp)" \
	$(shell setarch $$(uname -m) -R true 2>/dev/null && echo setarch $$(uname -m) -R)

.PHONY: header ffi-ctest

header:
	TANDEM_BLESS_HEADER=1 $(CARGO) test -p tandem-ffi --test header --target-dir $(TARGET_DIR)

ffi-ctest:
	@test -n "$(FFI_VERSION)" || { echo "ffi.mk: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
	$(CARGO) build -p tandem-ffi -p tandem-cli --target-dir $(TARGET_DIR)
	@mkdir -p $(FFI_BUILD)
	$(FFI_CC) $(FFI_CFLAGS) $(FFI_SANITIZERS) ffi/tests/c/test_ffi.c -o $(FFI_BUILD)/test_ffi_shared \
		-L $(FFI_LIB_DIR) -ltandem -Wl,-rpath,$(abspath $(FFI_LIB_DIR))
	$(FFI_CC) $(FFI_CFLAGS) $(FFI_SANITIZERS) ffi/tests/c/test_ffi.c -o $(FFI_BUILD)/test_ffi_static \
		$(FFI_LIB_DIR)/libtandem.a $(FFI_STATIC_LIBS)
	$(FFI_RUN) $(FFI_BUILD)/test_ffi_shared
	$(FFI_RUN) $(FFI_BUILD)/test_ffi_static
	$(FFI_CC) $(FFI_CFLAGS) $(FFI_SANITIZERS) ffi/tests/c/test_engine.c -o $(FFI_BUILD)/test_engine \
		-L $(FFI_LIB_DIR) -ltandem -Wl,-rpath,$(abspath $(FFI_LIB_DIR))
	$(FFI_CC) $(FFI_CFLAGS) -pthread -fsanitize=thread ffi/tests/c/test_engine_threads.c \
		-o $(FFI_BUILD)/test_engine_threads -L $(FFI_LIB_DIR) -ltandem -Wl,-rpath,$(abspath $(FFI_LIB_DIR))
	$(TARGET_DIR)/debug/tandem gen --genesis $(FFI_GENESIS) --slots 40 --transfers 20 \
		--out $(FFI_LEDGER) --json $(FFI_REPORT) >/dev/null
	rm -rf $(FFI_BUILD)/engine-scratch $(FFI_BUILD)/threads-scratch
	$(FFI_ENGINE_RUN) $(FFI_BUILD)/test_engine $(FFI_GENESIS) $(FFI_LEDGER) \
		$(FFI_BUILD)/engine-scratch $(FFI_REPORT)
	$(FFI_TSAN_RUN) $(FFI_BUILD)/test_engine_threads $(FFI_GENESIS) $(FFI_LEDGER) \
		$(FFI_BUILD)/threads-scratch $(FFI_REPORT)
