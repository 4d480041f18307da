#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the packages, then
#  1. builds (warnings are errors) and runs every suite,
#  2. checks formatting,
#  3. builds and runs every suite again under AddressSanitizer + UBSan,
#  4. builds the libFuzzer targets with clang and runs each for a bounded time.
# Ends with one line "crust-tests: N passed, M failed"; exits non-zero on any
# failure. CRUST_FUZZ_SECONDS (default 30) sets the time per fuzz target.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${CRUST_FUZZ_SECONDS:-30}
passed=0
failed=0
failures=()

note_ok() { passed=$((passed + $1)); }
note_fail() { failed=$((failed + $1)); failures+=("$2"); }

# Runs a ctest preset and adds its counts to the totals.
run_ctest() {
  local preset=$1 log
  log=$(mktemp)
  ctest --preset "$preset" 2>&1 | tee "$log"
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    note_fail 1 "ctest $preset produced no summary"
  else
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    bad=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    note_ok $((total - bad))
    [ "$bad" -eq 0 ] || note_fail "$bad" "ctest $preset: $bad failed"
  fi
  rm -f "$log"
}

step() { printf '\n=== %s ===\n' "$*"; }

step "installing packages"
scripts/install-deps.sh || { echo "package installation failed" >&2; exit 1; }

step "release build"
if cmake --preset release && cmake --build --preset release; then
  step "release tests"
  run_ctest release
  step "formatting"
  if cmake --build --preset release --target check-format; then
    note_ok 1
  else
    note_fail 1 "formatting"
  fi
else
  note_fail 1 "release build"
fi

step "ASan + UBSan build"
if cmake --preset asan && cmake --build --preset asan; then
  step "ASan + UBSan tests"
  run_ctest asan
else
  note_fail 1 "asan build"
fi

step "fuzz targets (${fuzz_seconds}s each)"
if cmake --preset fuzz && cmake --build --preset fuzz; then
  for fuzzer in build/fuzz/tests/fuzz/*_fuzz; do
    [ -x "$fuzzer" ] || continue
    name=$(basename "$fuzzer" _fuzz)
    work=$(mktemp -d)
    mkdir -p "$work/corpus"
    [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/corpus/"
    if timeout $((fuzz_seconds + 60)) "$fuzzer" -max_total_time="$fuzz_seconds" \
         -rss_limit_mb=2048 -artifact_prefix="$work/" "$work/corpus" \
         >"$work/log" 2>&1; then
      echo "fuzz $name: ok, $(grep -oE '^#[0-9]+' "$work/log" | tail -1 | tr -d '#') inputs in ${fuzz_seconds}s"
      note_ok 1
    else
      tail -40 "$work/log"
      note_fail 1 "fuzz $name"
    fi
    rm -rf "$work"
  done
else
  note_fail 1 "fuzz build"
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "crust-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
