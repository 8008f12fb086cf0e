// Matrix products of a dense layer: the forward product and the two backward products.
//
// Layouts (all buffers aligned to simd::alignment):
//   x   [batch][InStride]    layer input; lanes In..InStride-1 are padding and never read
//   w   [In][OutStride]      weights, input-major; columns Out..OutStride-1 are zero
//   b   [OutStride]          bias; lanes Out..OutStride-1 are zero
//   y   [batch][OutStride]   layer output
//   dy  [batch][OutStride]   gradient of the loss with respect to y; padding lanes must be 0
//   dx  [batch][InStride]    gradient with respect to x; padding lanes are written as 0
//
// Every output element of the forward product is the bias followed by one FMA per term over k in
// increasing order, whatever its row's position in the batch and whatever the batch size, so a
// sample gets bit-identical outputs in any batch. The weight gradient sums over the batch rows in
// increasing order. The hot loops trust their arguments: shapes are compile-time and the trainer
// checked the data.
//
// Each product is split into register tiles: a tile keeps a block of outputs in vector registers
// while it runs over the whole summed dimension, then stores them once. Tile shapes follow from
// simd::registers, and the tiles at the edges of a matrix are smaller instantiations of the same
// template, so no tile reads or writes outside the buffers.
#pragma once

#include <cstddef>
#include <type_traits>

#include "microfit/detail/simd.hpp"

// A register tile stays in registers only when the loops over its rows and vectors are unrolled
// completely. GCC does that by itself at -O3 but not at -O2 or -Os, where the accumulators then
// live in memory. Measured on a Cortex-M4 at -Os with the demo's 30-16-2 model, unrolling takes a
// training step from 319,322 to 138,956 instructions for 648 more bytes of code. Define
// MICROFIT_UNROLL_TILES as 0 to keep the loops rolled.
#ifndef MICROFIT_UNROLL_TILES
#define MICROFIT_UNROLL_TILES 1
#endif

#if MICROFIT_UNROLL_TILES && defined(__clang__)
#define MICROFIT_UNROLL _Pragma("unroll")
#elif MICROFIT_UNROLL_TILES && defined(__GNUC__)
#define MICROFIT_UNROLL _Pragma("GCC unroll 16")
#else
#define MICROFIT_UNROLL
#endif

namespace microfit::detail {

namespace dense_tiling {

/// Accumulator registers of one tile: three quarters of the registers, leaving the rest for the
/// loaded operands.
inline constexpr std::size_t accumulators = simd::registers * 3 / 4;

/// Returns the maximum rows of a forward or weight-gradient tile. Eight single-vector rows are
/// enough to hide an FMA latency of 4 cycles at 2 FMAs per cycle.
constexpr std::size_t max_rows_for(std::size_t registers) noexcept {
    if (registers >= 32) return 12;
    if (registers >= 16) return 8;
    return 4;
}

inline constexpr std::size_t max_rows = max_rows_for(simd::registers);

/// Maximum output vectors per row of a full-height tile. Two vectors and six rows on 16 registers
/// load 8 operands per 12 FMAs.
inline constexpr std::size_t max_vectors = simd::registers >= 32 ? 4 : 2;

constexpr std::size_t min(std::size_t a, std::size_t b) noexcept { return a < b ? a : b; }
constexpr std::size_t max(std::size_t a, std::size_t b) noexcept { return a > b ? a : b; }

/// Output vectors per row for a tile of `rows` rows in a matrix `vectors` vectors wide. Short
/// tiles get wider so that they still use every accumulator; a single row is the matrix-vector
/// product.
constexpr std::size_t tile_vectors(std::size_t rows, std::size_t vectors) noexcept {
    return min(vectors, max(1, accumulators / rows));
}

/// Rows of the full-height tile for a matrix `vectors` vectors wide.
constexpr std::size_t tile_rows(std::size_t vectors) noexcept {
    return min(max_rows, max(1, accumulators / min(vectors, max_vectors)));
}

/// Rows of a tile of the input gradient. Its other dimension is groups of `simd::width` inputs,
/// one accumulator per input, because `reduce_add_each` reduces `width` accumulators at once.
inline constexpr std::size_t input_rows = min(4, max(1, accumulators / simd::width));
inline constexpr std::size_t input_groups = max(1, accumulators / (simd::width * input_rows));

/// Calls f(std::integral_constant<std::size_t, rows>) for a run-time `rows` in 1..Max.
template <std::size_t Max, class F>
void dispatch_rows(std::size_t rows, F&& f) noexcept {
    if constexpr (Max > 0) {
        if (rows == Max) {
            f(std::integral_constant<std::size_t, Max>{});
        } else {
            dispatch_rows<Max - 1>(rows, f);
        }
    }
}

/// Splits `batch` rows into tiles of at most MaxRows rows and calls
/// f(first_row, std::integral_constant<std::size_t, rows>) for each, in increasing row order.
/// When the rows do not divide evenly, the last two tiles share their rows evenly. Each row of a
/// tile is its own chain of dependent FMAs, so a tile of one or two rows would leave the FMA units
/// idle. For example, 7 rows in tiles of at most 6 run as 4 + 3, not 6 + 1.
template <std::size_t MaxRows, class F>
void for_each_row_tile(std::size_t batch, F&& f) noexcept {
    const std::size_t rest = batch % MaxRows;
    const std::size_t even_end = batch < MaxRows ? 0 : batch - rest - (rest == 0 ? 0 : MaxRows);
    std::size_t r = 0;
    for (; r < even_end; r += MaxRows) f(r, std::integral_constant<std::size_t, MaxRows>{});

    std::size_t left = batch - r;  // 0, a whole batch below MaxRows, or MaxRows + rest
    if (left > MaxRows) {
        const std::size_t first = (left + 1) / 2;
        dispatch_rows<MaxRows>(first, [&](auto rows) { f(r, rows); });
        r += first;
        left -= first;
    }
    dispatch_rows<MaxRows>(left, [&](auto rows) { f(r, rows); });
}

}  // namespace dense_tiling

namespace dense_tiles {

using simd::Vec;

/// Forward tile: Rows rows of y, Vectors vectors wide, at the column block that w, bias and y
/// point to. y[r][j] = bias[j] + sum_k x[r][k] w[k][j], one FMA per k in increasing order.
template <std::size_t Rows, std::size_t Vectors, std::size_t In, std::size_t InStride, std::size_t OutStride>
inline void forward(const float* w, const float* bias, const float* x, float* y) noexcept {
    constexpr std::size_t W = simd::width;

    Vec acc[Rows][Vectors];
    MICROFIT_UNROLL
    for (std::size_t v = 0; v < Vectors; ++v) {
        const Vec b = simd::load(bias + v * W);
        MICROFIT_UNROLL
        for (std::size_t r = 0; r < Rows; ++r) acc[r][v] = b;
    }

    for (std::size_t k = 0; k < In; ++k) {
        const float* wk = w + k * OutStride;
        if constexpr (Rows == 1) {
            // Each weight vector is used once, so it is loaded straight into its FMA.
            const Vec xk = simd::broadcast(x[k]);
            MICROFIT_UNROLL
            for (std::size_t v = 0; v < Vectors; ++v) acc[0][v] = simd::fma(xk, simd::load(wk + v * W), acc[0][v]);
        } else {
            Vec wv[Vectors];
            MICROFIT_UNROLL
            for (std::size_t v = 0; v < Vectors; ++v) wv[v] = simd::load(wk + v * W);
            MICROFIT_UNROLL
            for (std::size_t r = 0; r < Rows; ++r) {
                const Vec xk = simd::broadcast(x[r * InStride + k]);
                MICROFIT_UNROLL
                for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = simd::fma(xk, wv[v], acc[r][v]);
            }
        }
    }

    MICROFIT_UNROLL
    for (std::size_t r = 0; r < Rows; ++r) {
        MICROFIT_UNROLL
        for (std::size_t v = 0; v < Vectors; ++v) simd::store(y + r * OutStride + v * W, acc[r][v]);
    }
}

/// All columns of Rows rows of the forward product, in tiles of the widest shape that fits.
template <std::size_t Rows, std::size_t In, std::size_t InStride, std::size_t OutStride>
inline void forward_rows(const float* w, const float* bias, const float* x, float* y) noexcept {
    constexpr std::size_t W = simd::width;
    constexpr std::size_t vectors = OutStride / W;
    constexpr std::size_t tile = dense_tiling::tile_vectors(Rows, vectors);
    constexpr std::size_t full_tiles = vectors / tile;
    constexpr std::size_t rest = vectors % tile;

    for (std::size_t t = 0; t < full_tiles; ++t) {
        const std::size_t j = t * tile * W;
        forward<Rows, tile, In, InStride, OutStride>(w + j, bias + j, x, y + j);
    }
    if constexpr (rest > 0) {
        const std::size_t j = full_tiles * tile * W;
        forward<Rows, rest, In, InStride, OutStride>(w + j, bias + j, x, y + j);
    }
}

/// Weight-gradient tile: Rows inputs k by Vectors output vectors, at the block that x (column k),
/// dy (column j) and dw (row k, column j) point to. dw[k][j] += sum_b x[b][k] dy[b][j], one FMA
/// per batch row in increasing order. Requires batch >= 1.
template <std::size_t Rows, std::size_t Vectors, std::size_t InStride, std::size_t OutStride>
inline void weights(const float* x, const float* dy, float* dw, std::size_t batch) noexcept {
    constexpr std::size_t W = simd::width;

    Vec acc[Rows][Vectors];
    MICROFIT_UNROLL
    for (std::size_t r = 0; r < Rows; ++r) {
        MICROFIT_UNROLL
        for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = simd::load(dw + r * OutStride + v * W);
    }

    // A do-while loop, because with a loop that may run zero times GCC 12 keeps acc in memory.
    std::size_t b = 0;
    do {
        const float* xb = x + b * InStride;
        const float* dyb = dy + b * OutStride;
        Vec dyv[Vectors];
        MICROFIT_UNROLL
        for (std::size_t v = 0; v < Vectors; ++v) dyv[v] = simd::load(dyb + v * W);
        MICROFIT_UNROLL
        for (std::size_t r = 0; r < Rows; ++r) {
            const Vec xbk = simd::broadcast(xb[r]);
            MICROFIT_UNROLL
            for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = simd::fma(xbk, dyv[v], acc[r][v]);
        }
    } while (++b < batch);

    MICROFIT_UNROLL
    for (std::size_t r = 0; r < Rows; ++r) {
        MICROFIT_UNROLL
        for (std::size_t v = 0; v < Vectors; ++v) simd::store(dw + r * OutStride + v * W, acc[r][v]);
    }
}

/// Weight-gradient tiles for inputs k0..k0+Rows-1 and all columns.
template <std::size_t Rows, std::size_t InStride, std::size_t OutStride>
inline void weights_rows(const float* x, const float* dy, float* dw, std::size_t batch) noexcept {
    constexpr std::size_t W = simd::width;
    constexpr std::size_t vectors = OutStride / W;
    constexpr std::size_t tile = dense_tiling::tile_vectors(Rows, vectors);
    constexpr std::size_t full_tiles = vectors / tile;
    constexpr std::size_t rest = vectors % tile;

    for (std::size_t t = 0; t < full_tiles; ++t) {
        const std::size_t j = t * tile * W;
        weights<Rows, tile, InStride, OutStride>(x, dy + j, dw + j, batch);
    }
    if constexpr (rest > 0) {
        const std::size_t j = full_tiles * tile * W;
        weights<Rows, rest, InStride, OutStride>(x, dy + j, dw + j, batch);
    }
}

/// Bias-gradient tile: db[j] += sum_b dy[b][j] over Vectors vectors, summed over b in order.
/// Requires batch >= 1.
template <std::size_t Vectors, std::size_t OutStride>
inline void bias(const float* dy, float* db, std::size_t batch) noexcept {
    constexpr std::size_t W = simd::width;

    Vec acc[Vectors];
    MICROFIT_UNROLL
    for (std::size_t v = 0; v < Vectors; ++v) acc[v] = simd::load(db + v * W);
    std::size_t b = 0;
    do {
        MICROFIT_UNROLL
        for (std::size_t v = 0; v < Vectors; ++v) acc[v] += simd::load(dy + b * OutStride + v * W);
    } while (++b < batch);
    MICROFIT_UNROLL
    for (std::size_t v = 0; v < Vectors; ++v) simd::store(db + v * W, acc[v]);
}

/// Input-gradient tile: Rows batch rows by Groups groups of `width` inputs starting at the row of
/// w and the column of dx given, of which the first Valid inputs exist (the rest are padding).
/// dx[r][k] = sum_j dy[r][j] w[k][j]. Each input keeps a vector of partial sums over j, and
/// `reduce_add_each` turns `width` of them into one vector of dx, so there is one reduction per
/// `width` outputs instead of one per output.
template <std::size_t Rows, std::size_t Groups, std::size_t Valid, std::size_t InStride, std::size_t OutStride>
inline void input(const float* w, const float* dy, float* dx) noexcept {
    constexpr std::size_t W = simd::width;
    constexpr std::size_t inputs = Groups * W;
    static_assert(Valid <= inputs, "a tile cannot have more valid inputs than lanes");

    Vec acc[Rows][inputs];
    MICROFIT_UNROLL
    for (std::size_t r = 0; r < Rows; ++r) {
        MICROFIT_UNROLL
        for (std::size_t i = 0; i < inputs; ++i) acc[r][i] = simd::broadcast(0.0f);
    }

    for (std::size_t j = 0; j < OutStride; j += W) {
        Vec dyv[Rows];
        MICROFIT_UNROLL
        for (std::size_t r = 0; r < Rows; ++r) dyv[r] = simd::load(dy + r * OutStride + j);
        MICROFIT_UNROLL
        for (std::size_t i = 0; i < Valid; ++i) {
            const Vec wv = simd::load(w + i * OutStride + j);
            MICROFIT_UNROLL
            for (std::size_t r = 0; r < Rows; ++r) acc[r][i] = simd::fma(dyv[r], wv, acc[r][i]);
        }
    }

    // The accumulators of padding inputs stayed 0, so the padding lanes of dx are written as 0.
    MICROFIT_UNROLL
    for (std::size_t r = 0; r < Rows; ++r) {
        MICROFIT_UNROLL
        for (std::size_t g = 0; g < Groups; ++g) {
            simd::store(dx + r * InStride + g * W, simd::reduce_add_each(&acc[r][g * W]));
        }
    }
}

/// Input-gradient tiles for all batch rows and one block of Groups groups of inputs.
template <std::size_t Groups, std::size_t Valid, std::size_t InStride, std::size_t OutStride>
inline void input_block(const float* w, const float* dy, float* dx, std::size_t batch) noexcept {
    dense_tiling::for_each_row_tile<dense_tiling::input_rows>(batch, [&](std::size_t r, auto rows) {
        input<decltype(rows)::value, Groups, Valid, InStride, OutStride>(w, dy + r * OutStride, dx + r * InStride);
    });
}

}  // namespace dense_tiles

/// y[b][j] = bias[j] + sum_k x[b][k] * w[k][j]
// Limitation: a batch of one has one chain of dependent FMAs per output vector, because the sum
// over k must stay in order. Layers only one or two vectors wide therefore reach about a quarter
// of the FMA peak at batch 1 (measured with bench/dense_bench.cpp on AVX2).
template <std::size_t In, std::size_t InStride, std::size_t OutStride>
void dense_forward(const float* w, const float* bias, const float* x, float* y, std::size_t batch) noexcept {
    constexpr std::size_t full_tile_rows = dense_tiling::tile_rows(OutStride / simd::width);

    // A block of rows stays in L1 while the weights stream through it. Shorter blocks use wider
    // tiles, and a batch of one is the matrix-vector product.
    dense_tiling::for_each_row_tile<full_tile_rows>(batch, [&](std::size_t r, auto rows) {
        dense_tiles::forward_rows<decltype(rows)::value, In, InStride, OutStride>(w, bias, x + r * InStride,
                                                                                y + r * OutStride);
    });
}

/// dx[b][k] = sum_j dy[b][j] * w[k][j] for k < In, and 0 on the padding lanes of dx.
// Limitation: every `width` outputs end with one `reduce_add_each` (9 shuffle and add instructions
// on AVX2), so layers only one or two output vectors wide reach 30 to 40 % of the FMA peak on AVX2
// (measured with bench/dense_bench.cpp). Transposing blocks of w in registers would avoid that.
template <std::size_t In, std::size_t InStride, std::size_t OutStride>
void dense_backward_input(const float* w, const float* dy, float* dx, std::size_t batch) noexcept {
    constexpr std::size_t W = simd::width;
    constexpr std::size_t groups = dense_tiling::input_groups;
    constexpr std::size_t full_groups = In / W;
    constexpr std::size_t full_blocks = full_groups / groups;
    constexpr std::size_t rest_groups = full_groups % groups;
    constexpr std::size_t last_valid = In % W;

    // Each block of inputs reads a few rows of w, which stay in L1 while every batch row uses them.
    for (std::size_t block = 0; block < full_blocks; ++block) {
        const std::size_t k = block * groups * W;
        dense_tiles::input_block<groups, groups * W, InStride, OutStride>(w + k * OutStride, dy, dx + k, batch);
    }
    if constexpr (rest_groups > 0) {
        constexpr std::size_t k = full_blocks * groups * W;
        dense_tiles::input_block<rest_groups, rest_groups * W, InStride, OutStride>(w + k * OutStride, dy, dx + k,
                                                                                    batch);
    }
    if constexpr (last_valid > 0) {
        constexpr std::size_t k = full_groups * W;
        dense_tiles::input_block<1, last_valid, InStride, OutStride>(w + k * OutStride, dy, dx + k, batch);
    }
}

/// dw[k][j] += sum_b x[b][k] * dy[b][j] and db[j] += sum_b dy[b][j], summed over b in order.
template <std::size_t In, std::size_t InStride, std::size_t OutStride>
void dense_backward_weights(const float* x, const float* dy, float* dw, float* db, std::size_t batch) noexcept {
    constexpr std::size_t W = simd::width;
    constexpr std::size_t rows = dense_tiling::tile_rows(OutStride / W);
    constexpr std::size_t full_blocks = In / rows;
    constexpr std::size_t rest_rows = In % rows;
    if (batch == 0) return;

    for (std::size_t block = 0; block < full_blocks; ++block) {
        const std::size_t k = block * rows;
        dense_tiles::weights_rows<rows, InStride, OutStride>(x + k, dy, dw + k * OutStride, batch);
    }
    if constexpr (rest_rows > 0) {
        constexpr std::size_t k = full_blocks * rows;
        dense_tiles::weights_rows<rest_rows, InStride, OutStride>(x + k, dy, dw + k * OutStride, batch);
    }

    // Bias gradient: several independent column sums interleave to hide the add latency.
    constexpr std::size_t vectors = OutStride / W;
    constexpr std::size_t tile = dense_tiling::min(vectors, dense_tiling::accumulators);
    constexpr std::size_t full_tiles = vectors / tile;
    constexpr std::size_t rest_vectors = vectors % tile;
    for (std::size_t t = 0; t < full_tiles; ++t) {
        dense_tiles::bias<tile, OutStride>(dy + t * tile * W, db + t * tile * W, batch);
    }
    if constexpr (rest_vectors > 0) {
        dense_tiles::bias<rest_vectors, OutStride>(dy + full_tiles * tile * W, db + full_tiles * tile * W, batch);
    }
}

}  // namespace microfit::detail
