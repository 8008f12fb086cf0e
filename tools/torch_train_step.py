#!/usr/bin/env python3
"""Time the demo model's training step in PyTorch on one thread.

The step matches bench/train_step_bench.cpp: a 30-16-2 MLP with ReLU, a batch of 32 rows,
cross-entropy from logits, backward pass and an Adam update. Prints one JSON object with the
median time per step in nanoseconds, so tools/run_benchmarks.py can form the ratio.
Run it with Debian's /usr/bin/python3 and python3-torch.
"""
import json
import statistics
import sys
import time

try:
    import torch
except ImportError:
    print(json.dumps({"error": "PyTorch is not installed (Debian package python3-torch)"}))
    sys.exit(0)


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(30, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_function = torch.nn.CrossEntropyLoss()
    features = torch.rand(32, 30) * 4 - 2
    labels = torch.arange(32) % 2

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_function(model(features), labels)
        loss.backward()
        optimizer.step()

    for _ in range(200):
        step()
    samples = []
    repetitions = 200
    for _ in range(15):
        start = time.perf_counter_ns()
        for _ in range(repetitions):
            step()
        samples.append((time.perf_counter_ns() - start) / repetitions)
    print(json.dumps({"torch_version": torch.__version__, "threads": torch.get_num_threads(),
                      "ns_per_step": statistics.median(samples)}))


if __name__ == "__main__":
    main()
