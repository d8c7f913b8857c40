#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian/Ubuntu), then, for each
# of the presets gcc (Release -O3), clang, asan (AddressSanitizer +
# UndefinedBehaviorSanitizer) and tsan (ThreadSanitizer, concurrency tests),
# configures, builds and tests, printing each step's progress and elapsed
# seconds. Full logs are kept (under build/logs/) only when a step fails.
# Ends with two lines: how many distinct tests ran in how many builds, then
# "dpkit: N passed, 0 failed" (N counts test runs; CI reads this line).
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/install-packages.sh
dpkit_install_packages cmake ninja-build g++ clang catch2 libfmt-dev libeigen3-dev libbenchmark-dev libboost-dev libcli11-dev libxml2-utils librsvg2-bin openmpi-bin libopenmpi-dev

presets=(gcc clang asan tsan)
logs=build/logs
rm -rf "${logs}"
mkdir -p "${logs}"

# ThreadSanitizer needs a low-entropy address space on some kernels: run its
# tests with address randomization off when the system allows that.
no_aslr=()
if setarch "$(uname -m)" -R true 2>/dev/null; then no_aslr=(setarch "$(uname -m)" -R); fi

# Ninja's "[k/n] Building CXX object tests/CMakeFiles/t.dir/random/x.cpp.o" -> "[k/n] random/x.cpp".
show_build() {
    local line
    while IFS= read -r line; do
        if [[ "${line}" =~ ^(\[[0-9]+/[0-9]+\])\ (Building|Linking)\ CXX\ (object|executable)\ (.*)$ ]]; then
            local what="${BASH_REMATCH[4]}"
            what="${what#*CMakeFiles/*.dir/}"
            what="${what%.o}"
            [ "${BASH_REMATCH[2]}" = Linking ] && what="link ${what}"
            printf '   %4ds %s %s\n' "$((SECONDS - step_start))" "${BASH_REMATCH[1]}" "${what}"
        fi
    done
}
# CTest's " 3/27 Test  #3: test_mechanisms ....   Passed    4.21 sec" lines, as they come.
show_tests() {
    local line
    while IFS= read -r line; do
        if [[ "${line}" =~ ^\ *[0-9]+/[0-9]+\ Test\ +#[0-9]+: ]]; then
            printf '   %4ds %s\n' "$((SECONDS - step_start))" "${line#"${line%%[![:space:]]*}"}"
        fi
    done
}
show_nothing() { cat >/dev/null; }

# run_step PRESET STEP SHOW COMMAND...: runs COMMAND with its output in a log,
# shown through SHOW; on failure prints the log's tail and keeps the log.
run_step() {
    local preset="$1" step="$2" show="$3"
    shift 3
    local log="${logs}/${preset}-${step}.log"
    step_start=${SECONDS}
    echo "   ${step}..."
    if ! "$@" 2>&1 | tee "${log}" | "${show}"; then
        echo "---- last 200 lines of ${log}"
        tail -n 200 "${log}"
        echo "----"
        if [ "${step}" = test ]; then
            local summary
            summary="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "${log}" | tail -n 1 || true)"
            if [ -n "${summary}" ]; then
                local failed total
                failed="$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"${summary}")"
                total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"${summary}")"
                echo "dpkit: the ${preset} tests failed (full log: ${log})"
                echo "dpkit: $((runs + total - failed)) passed, ${failed} failed"
                exit 1
            fi
        fi
        echo "dpkit: the ${preset} ${step} step failed (full log: ${log})"
        exit 1
    fi
    echo "   ${step}: $((SECONDS - step_start)) s"
}

runs=0
declare -A distinct=()
per_preset=()
for preset in "${presets[@]}"; do
    preset_start=${SECONDS}
    echo "== ${preset}"
    runner=()
    [ "${preset}" = tsan ] && runner=("${no_aslr[@]}")
    run_step "${preset}" configure show_nothing cmake --preset "${preset}"
    run_step "${preset}" build show_build cmake --build --preset "${preset}"
    run_step "${preset}" test show_tests "${runner[@]}" ctest --preset "${preset}"
    log="${logs}/${preset}-test.log"
    total="$(grep -E '^[0-9]+% tests passed, 0 tests failed out of [0-9]+' "${log}" | tail -n 1 | sed -E 's/.* out of ([0-9]+).*/\1/')"
    while IFS= read -r name; do distinct["${name}"]=1; done < <(
        sed -nE 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) .*/\1/p' "${log}")
    runs=$((runs + total))
    per_preset+=("${preset} ${total}")
    rm -f "${logs}/${preset}-"*.log
    plural=s
    [ "${total}" = 1 ] && plural=
    echo "== ${preset}: ${total} test${plural} passed in $((SECONDS - preset_start)) s"
done
rmdir "${logs}" 2>/dev/null || true
summary="$(IFS=,; echo "${per_preset[*]}")"
echo "dpkit: ${runs} test runs of ${#distinct[@]} distinct tests in ${#presets[@]} builds (${summary//,/, }) in ${SECONDS} s"
echo "dpkit: ${runs} passed, 0 failed"
