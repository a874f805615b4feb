// Interior points (witnesses) of cells: a point on a line of the cell's closure, moved
// into the cell and verified with the exact predicates (docs/design.md, section 2).
#pragma once

#include <cstdint>
#include <vector>

#include "flats.hpp"

namespace exactrelu {

inline void set_bit(uint64_t* p, int h) { p[h >> 6] |= (uint64_t(1) << (h & 63)); }
inline bool get_bit(const uint64_t* p, int h) { return (p[h >> 6] >> (h & 63)) & 1u; }

// A line in the closure of a cell, as the walk found it.
struct CellLine {
    const double* vdir;     // direction of the line (r), float
    int orient;             // +1 / -1: the cell lies on the side of orient * vdir
    const int32_t* inc;     // hyperplanes containing the line (sorted)
    int k;                  // how many
    const double* local_w;  // nongeneric line: the cell's witness in the arrangement of
                            // the incident hyperplanes (r); null for a generic line
};

// Buffers reused from one cell to the next, of one arrangement: on the first witness
// its rows are also stored by column (cols, r x mp, mp = m rounded up to a multiple of 4,
// the padding rows zero) with their l1 norms, so that the m dot products of a point with
// the rows run as vector loops over the rows (cpp/simd.hpp), and scales (row_scale: a
// power of two near 1 / max_l |a_l|) for the step direction's solve.
struct WitnessScratch {
    const int r;
    std::vector<double> M, b, v, w;
    int mp = 0;
    bool wide = false;  // the CPU runs 4-wide (AVX) loops
    std::vector<double> cols, row_l1, inv_l1, err, excl, dot, row_scale;
    std::vector<uint64_t> cert, neg;  // per 64 rows: the float filter's bits
    explicit WitnessScratch(int r) : r(r), M(static_cast<std::size_t>(r) * r), b(r), v(r), w(r) {}
    void prepare(const HypMatrix& hm);
    // dot[h] = fl(a_h . u) for every row h (|u|_inf <= 1; err[h] bounds its error), and the
    // smallest |dot[h]| / |a_h|_1 over the rows h with excl[h] = 0 (the others +inf)
    double dots(const double* u);
    // The rows whose sign at u is certified by their product with v (bit h of cert) and
    // the sign of that product (bit h of neg: negative), where |u - v|_inf <= dmax
    void classify(int m, double dmax);
};

// An interior point of the cell with sign pattern pat (bit h: hyperplane h positive)
// next to the line cl. Returns 1 with a double witness in u (r), 2 with a double-double
// one (u + ulo as real numbers), 0 when none could be verified.
int cell_witness(const HypMatrix& hm, const CellLine& cl, const uint64_t* pat, WitnessScratch& s,
                 double* u, double* ulo);

}  // namespace exactrelu
