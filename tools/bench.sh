#!/usr/bin/env bash
# Builds the benchmarks and runs them through tools/run_benchmarks.py, which prints GFLOP/s,
# percentages of the measured FMA peak and ratios to Eigen, OpenBLAS and PyTorch, and draws a plot.
# Extra arguments go to run_benchmarks.py (see its --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/packages.sh"
require_packages "${core_packages[@]}" libbenchmark-dev libeigen3-dev libopenblas-dev pkg-config \
    python3-matplotlib "${python_packages[@]}"

build="$root/build/bench"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMICROFIT_BUILD_BENCHMARKS=ON \
    -DMICROFIT_BUILD_TESTS=OFF -DMICROFIT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
/usr/bin/python3 "$root/tools/run_benchmarks.py" --build-dir "$build" --plot "$build/dense_bench.png" "$@"
