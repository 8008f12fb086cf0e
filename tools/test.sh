#!/usr/bin/env bash
# Builds and runs the whole test suite, one stage per build configuration, and prints one
# closing line with the number of tests passed and failed over all stages.
#
# Usage: tools/test.sh [STAGE...]   (default: every stage; stages: host, scalar)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/packages.sh"
jobs=$(nproc)

passed=0
failed=0
failed_stages=()

# Runs ctest in a build directory and adds its counts to the totals.
run_ctest() {
    local stage=$1 build=$2
    local log="$build/ctest.log"
    ctest --test-dir "$build" --output-on-failure -j "$jobs" >"$log" 2>&1
    local status=$?
    cat "$log"
    local line
    line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "stage $stage: ctest printed no summary (exit status $status)"
        failed=$((failed + 1))
        failed_stages+=("$stage")
        return
    fi
    local stage_failed stage_total
    stage_failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    stage_total=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/')
    passed=$((passed + stage_total - stage_failed))
    failed=$((failed + stage_failed))
    if [ "$status" -ne 0 ] || [ "$stage_failed" -ne 0 ]; then failed_stages+=("$stage"); fi
}

# Configures, builds and tests one stage: configure_and_test STAGE [CMAKE_ARGUMENT...]
configure_and_test() {
    local stage=$1
    shift
    local build="$root/build/test-$stage"
    echo "=== stage $stage"
    if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >"$build.configure.log" 2>&1; then
        cat "$build.configure.log"
        echo "stage $stage: configuring failed"
        failed=$((failed + 1))
        failed_stages+=("$stage")
        return
    fi
    if ! cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1; then
        tail -n 60 "$build.build.log"
        echo "stage $stage: building failed (full log: $build.build.log)"
        failed=$((failed + 1))
        failed_stages+=("$stage")
        return
    fi
    run_ctest "$stage" "$build"
}

stage_host() {
    require_packages "${core_packages[@]}"
    configure_and_test host -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror"
}

stage_scalar() {
    require_packages "${core_packages[@]}"
    configure_and_test scalar -DMICROFIT_FORCE_SCALAR=ON -DMICROFIT_BUILD_EXAMPLES=OFF
}

mkdir -p "$root/build"
stages=("$@")
[ "${#stages[@]}" -eq 0 ] && stages=(host scalar)
for stage in "${stages[@]}"; do
    if ! declare -F "stage_$stage" >/dev/null; then
        echo "unknown stage '$stage'; stages: host scalar" >&2
        exit 2
    fi
    "stage_$stage"
done

if [ "${#failed_stages[@]}" -gt 0 ]; then echo "failed stages: ${failed_stages[*]}"; fi
echo "microfit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "${#failed_stages[@]}" -eq 0 ]
