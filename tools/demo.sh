#!/usr/bin/env bash
# Builds microfit and runs the demo: four ways to train a classifier on the Breast Cancer
# Wisconsin data, with weighted and unweighted validation figures side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/packages.sh"
require_packages "${core_packages[@]}"

build="$root/build/demo"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMICROFIT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target breast_cancer_demo -j "$(nproc)" >/dev/null
"$build/examples/breast_cancer_demo" "$root/data/breast_cancer.csv"
