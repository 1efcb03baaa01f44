#!/usr/bin/env bash
# ffi/tests/examples.sh: the examples of ffi/examples, built the way a user builds them against an
# installed libtandem, must replay a ledger to exactly the hashes of `tandem replay`.
#
#   ffi/tests/examples.sh TANDEM_CLI PREFIX BUILD_DIR
#
# PREFIX is an installed libtandem: PREFIX/include/tandem.h, PREFIX/lib/libtandem.so and
# PREFIX/lib/pkgconfig/tandem.pc. The script compiles replay.c, replay.cpp and minimal.c with the
# flags `pkg-config --cflags --libs tandem` gives (and -Werror), generates a 40-slot ledger of the
# default genesis with TANDEM_CLI (it crosses the epoch boundary at slot 32), replays it with
# `tandem replay --json`, runs the three programs on fresh stores and fails with a diff unless
# every hash agrees. Everything it writes goes under BUILD_DIR. Run by `make ffi-examples`.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 TANDEM_CLI PREFIX BUILD_DIR" >&2
    exit 2
fi
cli=$1
prefix=$2
build=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
genesis=$root/engine/genesis/default.toml
examples=$root/ffi/examples

fail() {
    echo "examples: $*" >&2
    exit 1
}

# ffi/README.md and the root README.md show minimal.c verbatim: the first ```c block of their
# "Embedding the engine" section.
readme_minimal() {
    awk '/^#+ Embedding the engine/ { section = 1 }
         section && /^```c$/ { inside = 1; next }
         inside && /^```$/ { exit }
         inside { print }' "$1"
}
for readme in ffi/README.md README.md; do
    diff -u --label ffi/examples/minimal.c --label "$readme (Embedding the engine)" \
        "$examples/minimal.c" <(readme_minimal "$root/$readme") >&2 ||
        fail "$readme no longer shows ffi/examples/minimal.c verbatim: copy it there again"
done

for f in include/tandem.h lib/libtandem.so lib/pkgconfig/tandem.pc; do
    [ -f "$prefix/$f" ] || fail "$prefix/$f is missing: PREFIX must be an installed libtandem"
done
prefix=$(cd "$prefix" && pwd)
[ -x "$cli" ] || fail "$cli is not an executable tandem CLI"
mkdir -p "$build"

# The slots' hashes as `tandem replay --json` writes them: "slot ved_hash ued_hash" per line.
# python3 where it exists, else jq.
json_hashes() {
    if command -v python3 >/dev/null; then
        python3 -c 'import json, sys
for s in json.load(open(sys.argv[1]))["slots"]:
    print(s["slot"], s["ved_hash"], s["ued_hash"])' "$1"
    elif command -v jq >/dev/null; then
        jq -r '.slots[] | "\(.slot) \(.ved_hash) \(.ued_hash)"' "$1"
    else
        fail "reading $1 needs python3 or jq (apt-get install python3)"
    fi
}

# Build as a user would: only what pkg-config says, from the installed prefix.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pkg-config --exists tandem || fail "pkg-config finds no tandem in $PKG_CONFIG_PATH"
read -r -a tandem_flags <<<"$(pkg-config --cflags --libs tandem)"
# The examples are also the C and C++ programs of the ABI's test: built with ASan and UBSan.
warnings=(-Wall -Wextra -Wpedantic -Werror
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
cc=${CC:-gcc}
cxx=${CXX:-g++}
"$cc" -std=c11 "${warnings[@]}" "$examples/replay.c" "${tandem_flags[@]}" -o "$build/replay-c"
"$cxx" -std=c++17 "${warnings[@]}" "$examples/replay.cpp" "${tandem_flags[@]}" \
    -o "$build/replay-cpp"
"$cc" -std=c11 "${warnings[@]}" "$examples/minimal.c" "${tandem_flags[@]}" -o "$build/minimal"

ledger=$build/examples.ledger
"$cli" gen --genesis "$genesis" --slots 40 --transfers 20 --out "$ledger" >"$build/gen.txt"
"$cli" replay --genesis "$genesis" --ledger "$ledger" --json "$build/replay.json" \
    >"$build/replay.txt"
json_hashes "$build/replay.json" >"$build/expected.txt"
slots=$(wc -l <"$build/expected.txt")
[ "$slots" -eq 40 ] || fail "tandem replay gave $slots slots, expected 40 (across slot 32)"

export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# As for the C tests (ffi/tests/c/): Mesa's exit-time allocations are suppressed for LSan, and
# hwloc's PCI plugin, whose allocations LSan reports from an unloaded library, is left out.
export LSAN_OPTIONS=suppressions=$root/ffi/tests/c/lsan.supp
export HWLOC_PLUGINS_BLACKLIST=hwloc_pci

# Runs example NAME (the rest: its command line); its stdout goes to BUILD/NAME.out, its stderr
# to BUILD/NAME.err, which is shown when it fails.
run() {
    local name=$1
    shift
    if ! "$@" >"$build/$name.out" 2>"$build/$name.err"; then
        echo "examples: $name failed; its stderr ($build/$name.err):" >&2
        cat "$build/$name.err" >&2
        exit 1
    fi
}

# Each on a fresh store. The C example on the CPU backend, the C++ one on the default (auto):
# every backend gives the same hashes.
rm -rf "$build/store-c" "$build/store-cpp" "$build/store-minimal"
run replay-c "$build/replay-c" "$genesis" "$ledger" "$build/store-c" --backend cpu
run replay-cpp "$build/replay-cpp" "$genesis" "$ledger" "$build/store-cpp"
run minimal "$build/minimal" "$genesis" "$build/store-minimal" "$ledger"

for name in replay-c replay-cpp; do
    diff -u --label "tandem replay" --label "$name" "$build/expected.txt" "$build/$name.out" >&2 ||
        fail "$name differs from tandem replay (above: - tandem replay, + $name)"
done
read -r last_slot last_ved _ <<<"$(tail -n 1 "$build/expected.txt")"
want="slot $last_slot VED hash $last_ved"
got=$(cat "$build/minimal.out")
[ "$got" = "$want" ] || fail "minimal printed \"$got\", expected \"$want\""

echo "examples: C and C++ replay equal tandem replay over $slots slots"
