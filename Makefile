# tandem: the two commands a fresh Debian machine with Rust needs.
#
#   make run    build (release) and run the main job on its built-in default workload
#   make test   the whole test suite: fmt, clippy, cargo tests, the C ABI tests
#   make install PREFIX=DIR   libtandem (the C ABI: header, shared and static library, tandem.pc)
#               under DIR; see ffi/README.md
#
# They install the missing system packages first (apt-get when root; otherwise they stop and
# print the exact command to run).

CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

# hwlocality needs hwloc and udev; wgpu finds Mesa's software Vulkan driver (lavapipe) where no
# GPU exists; the C ABI tests need gcc (and g++ for the C++ example) with their sanitizer runtimes;
# the examples test reads `tandem replay --json` with python3.
DEB_PACKAGES := libhwloc-dev libudev-dev pkg-config mesa-vulkan-drivers libvulkan1 gcc g++ python3

.PHONY: run store-demo test deps bench fail-points

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  if [ $$p = pkg-config ] && command -v pkg-config >/dev/null 2>&1; then continue; fi; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "make: missing system packages:$$missing" >&2; \
	    echo "make: run:  sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
	    exit 1; \
	  fi; \
	fi
	@for pair in fmt:rustfmt clippy:clippy; do \
	  sub=$${pair%%:*}; component=$${pair##*:}; \
	  if ! $(CARGO) $$sub --version >/dev/null 2>&1; then \
	    if command -v rustup >/dev/null 2>&1; then rustup component add $$component; \
	    else echo "make: the Rust component $$component is missing: rustup component add $$component" >&2; exit 1; fi; \
	  fi; \
	done

# The main job on its built-in default workload: a ledger generated once for the default
# cluster (engine/genesis/default.toml, cached under target/tandem-run/), run through the
# asynchronous engine: the VED ahead of the UED on their own cores.
run: deps
	$(CARGO) build --release -p tandem-cli --target-dir $(TARGET_DIR)
	$(TARGET_DIR)/release/tandem run

# The account store on its own: generated accounts, slots of changes and remaps, reopen, verify.
store-demo: deps
	$(CARGO) run --release -p tandem-cli -- store demo --replace

test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace --no-fail-fast
	$(MAKE) --no-print-directory fail-points
	$(MAKE) --no-print-directory ffi-ctest

# The tests that hold a stage at a fail point (engine feature `fail-points`, off in every
# other build): orders of events between stages that timing alone makes rare.
fail-points: deps
	$(CARGO) clippy -p tandem-engine --features fail-points --lib --test pipeline_fail_points \
		-- -D warnings
	$(CARGO) test -p tandem-engine --features fail-points --test pipeline_fail_points

# ffi/ffi.mk has the recipe; building libtandem needs the system packages too.
install: deps

# The criterion benches (minutes); figures go to the README and hwprofiles/.
bench: deps
	$(CARGO) bench -p tandem-bench

include ffi/ffi.mk
