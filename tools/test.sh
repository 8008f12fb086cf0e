#!/usr/bin/env bash
# Builds and runs the whole test suite, one stage per build configuration, and prints one
# closing line with the number of tests passed and failed over all stages.
#
# Usage: tools/test.sh [STAGE...]
#
# Stages (default: all, in this order):
#   host       host compiler, default flags, warnings as errors
#   scalar     the scalar SIMD path (as on Cortex-M), on the host
#   aarch64    AArch64 with NEON, tests under qemu-aarch64
#   armv7      armv7-a with NEON and VFPv4, tests under qemu-arm
#   cortex-m4  Cortex-M4F firmware, tests under qemu-system-arm (MPS2 AN386)
#   compile    builds only: AVX2 with FMA (with the benchmarks), AVX-512 and Cortex-M7
#   sanitize   AddressSanitizer and UndefinedBehaviorSanitizer over the host suite
#   fuzz       libFuzzer targets, 60 seconds each
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

# Configures and builds one stage without running its tests: build_only STAGE [CMAKE_ARGUMENT...]
build_only() {
    local stage=$1
    shift
    local build="$root/build/test-$stage"
    echo "=== stage $stage (build only)"
    if cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >"$build.configure.log" 2>&1 &&
        cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1; then
        echo "stage $stage: built"
        passed=$((passed + 1))
    else
        tail -n 60 "$build.configure.log" "$build.build.log" 2>/dev/null
        echo "stage $stage: building failed"
        failed=$((failed + 1))
        failed_stages+=("$stage")
    fi
}

stage_host() {
    require_packages "${core_packages[@]}" "${python_packages[@]}"
    configure_and_test host -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror"
}

stage_scalar() {
    require_packages "${core_packages[@]}"
    configure_and_test scalar -DMICROFIT_FORCE_SCALAR=ON -DMICROFIT_BUILD_EXAMPLES=OFF -DMICROFIT_TEST_NESTED_PROJECTS=OFF
}

stage_aarch64() {
    require_packages "${core_packages[@]}" "${linux_cross_packages[@]}" "${python_packages[@]}"
    configure_and_test aarch64 -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/aarch64-linux-gnu.cmake"
}

stage_armv7() {
    require_packages "${core_packages[@]}" "${linux_cross_packages[@]}" "${python_packages[@]}"
    configure_and_test armv7 -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/arm-linux-gnueabihf.cmake" \
        -DMICROFIT_TEST_NESTED_PROJECTS=OFF
}

stage_cortex-m4() {
    require_packages "${core_packages[@]}" "${firmware_packages[@]}"
    configure_and_test cortex-m4 -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/cortex-m4.cmake" -DCMAKE_BUILD_TYPE=MinSizeRel \
        -DMICROFIT_PORT=mps2-an386
}

stage_compile() {
    require_packages "${core_packages[@]}" "${firmware_packages[@]}" libbenchmark-dev libeigen3-dev libopenblas-dev pkg-config
    build_only avx2 -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/x86-64-avx2.cmake" -DMICROFIT_BUILD_TESTS=OFF \
        -DMICROFIT_BUILD_BENCHMARKS=ON
    build_only avx512 -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/x86-64-avx512.cmake" -DMICROFIT_BUILD_TESTS=OFF
    build_only cortex-m7 -DCMAKE_TOOLCHAIN_FILE="$root/toolchains/cortex-m7.cmake" -DCMAKE_BUILD_TYPE=MinSizeRel
}

stage_sanitize() {
    require_packages "${core_packages[@]}" "${python_packages[@]}"
    configure_and_test sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DMICROFIT_EXP_SWEEP_STRIDE=7 \
        -DMICROFIT_TEST_NESTED_PROJECTS=OFF
}

stage_fuzz() {
    require_packages "${core_packages[@]}" "${clang_packages[@]}"
    configure_and_test fuzz -DCMAKE_CXX_COMPILER=clang++ -DMICROFIT_BUILD_FUZZERS=ON -DMICROFIT_BUILD_TESTS=OFF \
        -DMICROFIT_BUILD_EXAMPLES=OFF -DMICROFIT_FUZZ_SECONDS=60
}

all_stages=(host scalar aarch64 armv7 cortex-m4 compile sanitize fuzz)

mkdir -p "$root/build"
stages=("$@")
[ "${#stages[@]}" -eq 0 ] && stages=("${all_stages[@]}")
for stage in "${stages[@]}"; do
    if ! declare -F "stage_$stage" >/dev/null; then
        echo "unknown stage '$stage'; stages: ${all_stages[*]}" >&2
        exit 2
    fi
    "stage_$stage"
done

if [ "${#failed_stages[@]}" -gt 0 ]; then echo "failed stages: ${failed_stages[*]}"; fi
echo "microfit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "${#failed_stages[@]}" -eq 0 ]
