#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian/Ubuntu), then builds and
# tests with GCC and with Clang (warnings as errors, every header on its own,
# compile-fail and package-consumer tests) and under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the concurrency tests under ThreadSanitizer.
# Ends with one line: "dpkit: N passed, 0 failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/install-packages.sh
dpkit_install_packages cmake ninja-build g++ clang catch2 libfmt-dev libeigen3-dev libbenchmark-dev

passed=0
# ThreadSanitizer needs a low-entropy address space on some kernels: run it with
# address randomization off when the system allows that.
no_aslr=()
if setarch "$(uname -m)" -R true 2>/dev/null; then no_aslr=(setarch "$(uname -m)" -R); fi

for preset in gcc clang asan tsan; do
  echo "== ${preset}: configure, build, test"
  log="$(mktemp)"
  runner=()
  [ "${preset}" = tsan ] && runner=("${no_aslr[@]}")
  if ! "${runner[@]}" cmake --workflow --preset "${preset}" >"${log}" 2>&1; then
    tail -n 200 "${log}"
    echo "dpkit: the ${preset} build or tests failed"
    exit 1
  fi
  summary="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "${log}" | tail -n 1)"
  echo "   ${summary}"
  total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"${summary}")"
  passed=$((passed + total))
  rm -f "${log}"
done
echo "dpkit: ${passed} passed, 0 failed"
