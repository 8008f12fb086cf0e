#!/usr/bin/env python3
"""Run microfit's benchmarks, print GFLOP/s, percentage of peak and ratios to the peers, and plot.

The dense-product benchmark (bench/dense_bench.cpp) measures the machine's FMA peak in the same
binary, then times microfit's three dense-layer products and the same forward work done by
Eigen 3.4 (fixed-size and dynamic), OpenBLAS sgemm on one thread and two plain loops. This script
runs it with --benchmark_format=json, pinned to one CPU with taskset when that is installed,
prints one table per product, checks the performance goals and writes a PNG plot when matplotlib
is installed. Ratios are microfit / peer, so a ratio above 1 means microfit is faster.

Uses only the standard library and, optionally, matplotlib. Build the benchmarks first:

    cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DMICROFIT_BUILD_BENCHMARKS=ON
    cmake --build build/bench --target dense_bench
    /usr/bin/python3 tools/run_benchmarks.py --build-dir build/bench
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME_PATTERN = re.compile(r"^(?P<product>\w+)/(?P<impl>\w+)/batch:(?P<batch>\d+)/in:(?P<inputs>\d+)/out:(?P<outputs>\d+)$")
PRODUCTS = ("forward", "backward_input", "backward_weights")
PEERS = ("eigen_fixed", "eigen_dynamic", "openblas", "loop_bkj", "loop_bjk")
SQUARE_SIZES = (16, 32, 64, 128, 256)
AVX512_FLAGS = ("avx512f", "avx512dq", "avx512bw", "avx512vl")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build" / "bench",
                        help="CMake build directory that contains bench/dense_bench (default: build/bench)")
    parser.add_argument("--cpu", default="1", help="CPU list passed to taskset -c (default: 1); empty disables pinning")
    parser.add_argument("--filter", default="", help="--benchmark_filter regular expression (default: all)")
    parser.add_argument("--min-time", type=float, default=0.2,
                        help="minimum seconds per benchmark and repetition (default: 0.2)")
    parser.add_argument("--repetitions", type=int, default=3,
                        help="repetitions per benchmark; the table uses the median (default: 3)")
    parser.add_argument("--plot", type=Path, default=Path("dense_bench.png"),
                        help="PNG file to write (default: dense_bench.png); skipped without matplotlib")
    parser.add_argument("--json-dir", type=Path, default=None,
                        help="directory to keep the raw JSON output of each binary (default: not kept)")
    parser.add_argument("--skip-avx512", action="store_true", help="do not run dense_bench_avx512 even if it is built")
    return parser.parse_args()


def cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def run_binary(binary: Path, args: argparse.Namespace) -> dict:
    """Runs one Google Benchmark binary and returns its parsed JSON output."""
    # Interleaving spreads each benchmark's repetitions over the whole run, so that a burst of load
    # from other processes on a shared machine hits one repetition and not all of them.
    command = [str(binary), "--benchmark_format=json", f"--benchmark_min_time={args.min_time}",
               f"--benchmark_repetitions={args.repetitions}", "--benchmark_report_aggregates_only=true",
               "--benchmark_enable_random_interleaving=true"]
    if args.filter:
        command.append(f"--benchmark_filter={args.filter}")
    if args.cpu and shutil.which("taskset"):
        command = ["taskset", "-c", args.cpu] + command
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    print(f"running: {' '.join(command)}", file=sys.stderr)
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if completed.returncode != 0:
        sys.exit(f"{binary.name} failed with exit status {completed.returncode}:\n{completed.stderr}")
    return json.loads(completed.stdout)


def collect(output: dict) -> dict:
    """Maps each benchmark name to its GFLOP/s: the median over repetitions, or the single run."""
    results = {}
    for entry in output["benchmarks"]:
        if "GFLOP/s" not in entry:
            continue
        if entry.get("run_type") == "aggregate" and entry.get("aggregate_name") != "median":
            continue
        results[entry.get("run_name", entry["name"])] = entry["GFLOP/s"]
    return results


def shape_key(batch: int, inputs: int, outputs: int) -> tuple:
    return (batch, inputs, outputs)


def organize(results: dict) -> dict:
    """Returns {product: {shape: {implementation: GFLOP/s}}} for the named products."""
    table = {}
    for name, gflops in results.items():
        match = NAME_PATTERN.match(name)
        if not match:
            continue
        shape = shape_key(int(match["batch"]), int(match["inputs"]), int(match["outputs"]))
        table.setdefault(match["product"], {}).setdefault(shape, {})[match["impl"]] = gflops
    return table


def format_shape(shape: tuple) -> str:
    batch, inputs, outputs = shape
    if batch == inputs == outputs:
        return f"square {batch}"
    return f"{batch} x ({inputs},{outputs})"


def shape_order(shape: tuple) -> tuple:
    batch, inputs, outputs = shape
    return (0 if batch == inputs == outputs else 1, inputs * outputs, inputs, outputs, batch)


def print_tables(title: str, table: dict, peak: float) -> None:
    print(f"\n== {title}: FMA peak {peak:.1f} GFLOP/s (measured in the same run)")
    for product in PRODUCTS:
        shapes = table.get(product)
        if not shapes:
            continue
        peers = [peer for peer in PEERS if any(peer in row for row in shapes.values())]
        header = f"{product:<18} {'microfit':>9} {'% peak':>7}" + "".join(f" {'/' + peer:>15}" for peer in peers)
        print("\n" + header)
        print("-" * len(header))
        for shape in sorted(shapes, key=shape_order):
            row = shapes[shape]
            ours = row.get("microfit")
            if ours is None:
                continue
            line = f"{format_shape(shape):<18} {ours:>9.1f} {100.0 * ours / peak:>6.1f}%"
            for peer in peers:
                line += f" {ours / row[peer]:>14.2f}x" if row.get(peer) else f" {'-':>15}"
            print(line)
    print("\nColumns: GFLOP/s of microfit, its percentage of the FMA peak, and microfit / peer.")


def check_goals(table: dict, peak: float) -> None:
    """Prints each performance goal with the measured value and whether it is met."""
    forward = table.get("forward", {})
    goals = []

    def add(description: str, value, target: float, unit: str) -> None:
        if value is None:
            goals.append(f"  n/a  {description}: not measured")
            return
        status = "met " if value >= target else "MISS"
        goals.append(f"  {status} {description}: {value:.2f}{unit} (goal {target:g}{unit})")

    def ratio(shape: tuple, peer: str):
        row = forward.get(shape, {})
        return row["microfit"] / row[peer] if row.get("microfit") and row.get(peer) else None

    def percent(shape: tuple):
        row = forward.get(shape, {})
        return 100.0 * row["microfit"] / peak if row.get("microfit") else None

    for size in (32, 64):
        shape = shape_key(size, size, size)
        add(f"forward square {size} % of peak", percent(shape), 70, "%")
        add(f"forward square {size} vs Eigen fixed-size", ratio(shape, "eigen_fixed"), 1.5, "x")
    for size in (128, 256):
        shape = shape_key(size, size, size)
        add(f"forward square {size} % of peak", percent(shape), 80, "%")
        add(f"forward square {size} vs OpenBLAS", ratio(shape, "openblas"), 1.0, "x")
    add("forward batch 1 x (64,64) % of peak", percent(shape_key(1, 64, 64)), 50, "%")
    print("\nGoals (forward product):")
    print("\n".join(goals))


def training_step_rows(build_dir: Path, args: argparse.Namespace) -> None:
    """Hook for the training-step row: microfit's whole step against PyTorch on one thread.

    Runs bench/train_step_bench when it is built and tools/torch_train_step.py with Debian's
    /usr/bin/python3, and prints the ratio of their times per step.
    """
    binary = build_dir / "bench" / "train_step_bench"
    torch_script = ROOT / "tools" / "torch_train_step.py"
    if not binary.exists():
        print(f"\ntraining step: {binary} not found, row skipped")
        return
    output = run_binary(binary, argparse.Namespace(**{**vars(args), "filter": ""}))  # --filter is for dense_bench
    ours = None
    for entry in output["benchmarks"]:
        if entry["name"].startswith("BM_demo_training_step") and entry.get("aggregate_name", "median") == "median":
            scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[entry.get("time_unit", "ns")]
            ours = entry["real_time"] * scale
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    completed = subprocess.run([python, str(torch_script)], capture_output=True, text=True, check=False)
    try:
        torch_result = json.loads(completed.stdout)
    except json.JSONDecodeError:
        torch_result = {"error": f"{torch_script.name} printed no JSON: {completed.stderr.strip()}"}
    if ours is None:
        print("\ntraining step: BM_demo_training_step missing from the output")
    elif "error" in torch_result:
        print(f"\ntraining step: microfit {ours:.0f} ns; PyTorch not measured: {torch_result['error']}")
    else:
        theirs = torch_result["ns_per_step"]
        print(f"\ntraining step: microfit {ours:.0f} ns, PyTorch {torch_result['torch_version']} {theirs:.0f} ns, "
              f"PyTorch / microfit = {theirs / ours:.2f}x")


def draw_plot(runs: list, path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nmatplotlib is not installed: no plot written")
        return

    figure, axes = plt.subplots(1, len(runs), figsize=(7 * len(runs), 5.5), squeeze=False)
    styles = {"microfit": ("tab:blue", "o", "-"), "eigen_fixed": ("tab:orange", "s", "--"),
              "eigen_dynamic": ("tab:brown", "D", "--"), "openblas": ("tab:green", "^", "--"),
              "loop_bkj": ("tab:gray", "v", ":"), "loop_bjk": ("black", "x", ":")}
    backward_styles = {"backward_input": ("tab:purple", "<"), "backward_weights": ("tab:cyan", ">")}
    for axis, (title, table, peak) in zip(axes[0], runs):
        highest = peak
        forward = table.get("forward", {})
        for impl, (color, marker, line) in styles.items():
            points = [(n, forward[shape_key(n, n, n)][impl]) for n in SQUARE_SIZES
                      if impl in forward.get(shape_key(n, n, n), {})]
            if points:
                axis.plot(*zip(*points), color=color, marker=marker, linestyle=line, label=f"forward, {impl}")
                highest = max(highest, max(value for _, value in points))
        for product, (color, marker) in backward_styles.items():
            rows = table.get(product, {})
            points = [(n, rows[shape_key(n, n, n)]["microfit"]) for n in SQUARE_SIZES
                      if "microfit" in rows.get(shape_key(n, n, n), {})]
            if points:
                axis.plot(*zip(*points), color=color, marker=marker, linestyle="-.", label=f"{product}, microfit")
                highest = max(highest, max(value for _, value in points))
        axis.axhline(peak, color="tab:red", linewidth=1, label="measured FMA peak")
        axis.set_xscale("log", base=2)
        axis.set_xticks(SQUARE_SIZES)
        axis.set_xticklabels([str(n) for n in SQUARE_SIZES])
        axis.set_ylim(0, highest * 1.08)
        axis.set_xlabel("N (batch = inputs = outputs)")
        axis.set_ylabel("GFLOP/s (one core, float32)")
        percent_axis = axis.secondary_yaxis("right", functions=(lambda g, p=peak: 100.0 * g / p,
                                                                 lambda q, p=peak: q * p / 100.0))
        percent_axis.set_ylabel("% of measured FMA peak")
        axis.set_title(f"Square dense products, {title} (peak {peak:.0f} GFLOP/s)")
        axis.grid(True, alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=5, fontsize=9, frameon=False)
    figure.tight_layout(rect=(0, 0.1, 1, 1))
    figure.savefig(path, dpi=110)
    print(f"\nplot written to {path}")


def main() -> None:
    args = parse_arguments()
    binaries = [("AVX2+FMA", args.build_dir / "bench" / "dense_bench")]
    avx512 = args.build_dir / "bench" / "dense_bench_avx512"
    if not args.skip_avx512 and avx512.exists():
        if set(AVX512_FLAGS) <= cpu_flags():
            binaries.append(("AVX-512", avx512))
        else:
            print("this CPU lacks AVX-512 F/DQ/BW/VL: dense_bench_avx512 skipped", file=sys.stderr)
    if not binaries[0][1].exists():
        sys.exit(f"{binaries[0][1]} not found: build the dense_bench target with MICROFIT_BUILD_BENCHMARKS=ON")

    runs = []
    for title, binary in binaries:
        output = run_binary(binary, args)
        if args.json_dir:
            args.json_dir.mkdir(parents=True, exist_ok=True)
            (args.json_dir / f"{binary.name}.json").write_text(json.dumps(output, indent=1))
        results = collect(output)
        peak = results.get("peak/fma")
        if not peak:
            sys.exit(f"{binary.name} reported no peak/fma result: run it without a filter that excludes 'peak'")
        context = output.get("context", {})
        print(f"\n{binary.name}: {context.get('host_name', '')}, {context.get('num_cpus', '?')} CPUs, "
              f"OpenBLAS core {context.get('openblas_core', 'n/a')}, SIMD width {context.get('simd_width', '?')}")
        table = organize(results)
        print_tables(title, table, peak)
        check_goals(table, peak)
        runs.append((title, table, peak))

    training_step_rows(args.build_dir, args)
    draw_plot(runs, args.plot)


if __name__ == "__main__":
    main()
