// Cells, rays and counts of a central arrangement (docs/design.md, sections 2 and 3):
// the enumerators over the essential hyperplanes (cells.cpp, rays.cpp, counts.cpp) and
// their translation back to the rows and coordinates of the data matrix.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "flats.hpp"
#include "tasks.hpp"

namespace exactrelu {

// An allocator whose resize leaves numbers uninitialized: large outputs are then first
// written (and their pages first touched) by the worker threads in parallel, instead of
// zero-filled by one thread (a fresh page costs microseconds on some machines).
template <class T>
struct UninitAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = UninitAllocator<U>;
    };
    UninitAllocator() = default;
    template <class U>
    UninitAllocator(const UninitAllocator<U>&) noexcept {}
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};
template <class T>
using RawVector = std::vector<T, UninitAllocator<T>>;

struct CellsResult {
    int words = 0;                  // 64-bit words per pattern
    RawVector<uint64_t> bits;       // n_cells x words, bit h = hyperplane h positive
    RawVector<double> witnesses;    // n_cells x r
    // For cells too thin to hold a double point: the exact witness is witnesses + lo
    // (as real numbers); empty when every witness is exact in doubles.
    std::vector<double> witnesses_lo;
    // Per pair of opposite cells (2c, 2c + 1): task << 32 | emission in the task of the
    // first line it was found at; cells are in key order (docs/design.md section 9).
    std::vector<int64_t> keys;
    std::size_t n_cells() const { return words ? bits.size() / words : 0; }
};

// Cells of the arrangement hm (rank r, distinct rows) found in ctx's shard (a cell
// seen by several shards is in each). max_cells < 0: no limit.
CellsResult enumerate_cells_core(const HypMatrix& hm, const RunContext& ctx, long long max_cells,
                                 bool want_witnesses);

// The cells in terms of the data rows: packed sign patterns (n_cells x ceil(n/8), bit i
// of a row: A[i] . theta > 0, numpy's packbits order), and when `wit` is not null the
// witnesses (n_cells x D) and, when `wlo` is not null, their double-double corrections.
// The rows are written in parallel chunks on ctx's threads (no progress stage).
void cells_to_rows(const Hyperplanes& hp, const CellsResult& cr, uint8_t* packed, double* wit,
                   double* wlo, const RunContext& ctx);

struct RaysResult {
    std::vector<double> dirs;            // n_lines x r (one direction per line)
    std::vector<int64_t> indptr{0};      // CSR over lines: incident hyperplanes
    std::vector<int32_t> indices;
    std::vector<int64_t> keys;           // per line: task << 32 | its rank in the task
    std::size_t n_lines(int r) const { return r ? dirs.size() / r : 0; }
};

// Lines of the arrangement hm (of ctx's shard), in key order. max_lines < 0: no limit.
RaysResult enumerate_lines_core(const HypMatrix& hm, const RunContext& ctx, long long max_lines);

// The rays in terms of the data: two opposite unit directions per line (dirs: 2 n_lines x
// D, refined from the data rows in double-double), and the CSR lists of the data rows
// each ray lies on. Runs on ctx's threads (stage "ray directions").
void rays_to_data(const Hyperplanes& hp, const double* A, const RaysResult& rr, double* dirs,
                  std::vector<int64_t>& indptr, std::vector<int64_t>& indices, const RunContext& ctx);

// Accurate unit direction (length D) of the line of the arrangement lying on the given
// hyperplanes (at least r - 1 independent ones), in the row space of the original
// n x D matrix A, computed in double-double from the original rows. `approx` (length D)
// fixes the orientation. Returns false if the rows do not determine a line.
bool refine_line_direction(const Hyperplanes& hp, const double* A, const int* hyps, int k,
                           const double* approx, double* out);

// Exact number of cells and of lines (1-flats).
struct Counts {
    unsigned __int128 cells = 0;
    unsigned __int128 lines = 0;
};
Counts count_core(const HypMatrix& hm, const RunContext& ctx, bool want_cells);

// Tallies of a walk, per codimension c: the number of flats and the sum of their |mu|.
struct FlatTally {
    std::vector<uint64_t> flats;
    std::vector<uint64_t> mu;
    explicit FlatTally(int r) : flats(r + 1, 0), mu(r + 1, 0) {}
};
// A count in shards (docs/design.md section 9): the tallies of the root tasks of ctx's
// shard (one per task, in task order; with want_cells also |mu|), and the counts of
// the union of every shard's tallies (in any order). count_core = merge of one shard.
std::vector<FlatTally> count_shard_core(const HypMatrix& hm, const RunContext& ctx, bool want_cells);
Counts count_merge(int r, const std::vector<FlatTally>& tallies);

}  // namespace exactrelu
