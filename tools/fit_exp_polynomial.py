#!/usr/bin/env python3
"""Fit the degree-5 polynomial of detail::fast_exp (include/microfit/detail/exp.hpp).

Finds p(r) = 1 + c1 r + ... + c5 r^5 ~ e^r on |r| <= ln(2) / 2 that minimizes the maximum error
in float ULPs of e^r: ULP 2^-24 for r < 0 (e^r in [0.5, 1)) and 2^-23 for r >= 0. The constant
term is fixed at 1 so that e^0 is exactly 1.

Method: Lawson's algorithm (iteratively reweighted least squares, which converges to the minimax
solution on a finite grid) on 8001 equally spaced points. The coefficients are then rounded to
float one at a time, c1 first, refitting the remaining ones after each rounding.

Needs only the Python standard library and takes about 30 seconds of CPU time. Prints the coefficients as
C++ hex float literals and the approximation error of the rounded set (exact arithmetic, so the
rounding errors of evaluating p in float come on top).
"""

import math
import struct

HALF_LN2 = math.log(2) / 2
GRID_POINTS = 8001
ITERATIONS = 400


def to_float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def make_grid():
    grid = []
    for i in range(GRID_POINTS):
        r = -HALF_LN2 + 2 * HALF_LN2 * i / (GRID_POINTS - 1)
        ulps_per_unit = 2.0**24 if r < 0 else 2.0**23
        grid.append((r, ulps_per_unit))
    return grid


def solve(matrix, vector):
    """Solve a small dense linear system by Gaussian elimination with partial pivoting."""
    n = len(vector)
    rows = [list(matrix[i]) + [vector[i]] for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda i: abs(rows[i][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for i in range(col + 1, n):
            factor = rows[i][col] / rows[col][col]
            for j in range(col, n + 1):
                rows[i][j] -= factor * rows[col][j]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (rows[i][n] - sum(rows[i][j] * x[j] for j in range(i + 1, n))) / rows[i][i]
    return x


def fit(grid, fixed):
    """Minimax fit of the coefficients not in `fixed` (a dict power -> value).

    Returns all six coefficients and the maximum error in ULPs over the grid.
    """
    free = [k for k in range(6) if k not in fixed]
    rows = []
    targets = []
    for r, weight in grid:
        rows.append([weight * r**k for k in free])
        targets.append(weight * (math.exp(r) - sum(value * r**k for k, value in fixed.items())))
    # Scale the columns to a maximum of 1, which keeps the normal equations well conditioned.
    scales = [max(abs(row[j]) for row in rows) for j in range(len(free))]
    rows = [[row[j] / scales[j] for j in range(len(free))] for row in rows]

    weights = [1.0 / len(rows)] * len(rows)
    for _ in range(ITERATIONS):
        size = len(free)
        normal = [[0.0] * size for _ in range(size)]
        right = [0.0] * size
        for row, target, w in zip(rows, targets, weights):
            for i in range(size):
                t = w * row[i]
                right[i] += t * target
                for j in range(i, size):
                    normal[i][j] += t * row[j]
        for i in range(size):
            for j in range(i):
                normal[i][j] = normal[j][i]
        solution = solve(normal, right)
        residuals = [abs(sum(row[j] * solution[j] for j in range(size)) - target) for row, target in zip(rows, targets)]
        total = sum(w * e for w, e in zip(weights, residuals))
        weights = [w * e / total for w, e in zip(weights, residuals)]

    coefficients = dict(fixed)
    for j, k in enumerate(free):
        coefficients[k] = solution[j] / scales[j]
    return [coefficients[k] for k in range(6)], max(residuals)


def hex_literal(value):
    """Format a float32 value as a C++ hex float literal, such as 0x1.ffffeep-1f."""
    mantissa, exponent = float.hex(value).split("p")
    return f"{mantissa.rstrip('0').rstrip('.')}p{exponent}f"


def max_error_ulps(grid, coefficients):
    return max(abs((sum(c * r**k for k, c in enumerate(coefficients)) - math.exp(r)) * w) for r, w in grid)


def main():
    grid = make_grid()
    fixed = {0: 1.0}
    for k in range(1, 6):
        coefficients, error = fit(grid, fixed)
        fixed[k] = to_float32(coefficients[k])
        print(f"c{k} rounded to float after a fit with max error {error:.4f} ULP")
    coefficients = [fixed[k] for k in range(6)]
    for k in range(1, 6):
        value = coefficients[k]
        print(f"inline constexpr float c{k} = {hex_literal(value)};  // {value:.9g}")
    print(f"max approximation error with float coefficients: {max_error_ulps(grid, coefficients):.4f} ULP")


if __name__ == "__main__":
    main()
