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
// its rows are also stored by column (cols, r x m) with their l1 norms, so that the
// m dot products of a point with the rows run as vector loops over the rows.
struct WitnessScratch {
    std::vector<double> M, b, v, w;
    std::vector<double> cols, row_l1, inv_l1, dot, dot_abs, ratio, sdot;
    std::vector<int> open;  // rows the float filter leaves to the exact check
    explicit WitnessScratch(int r) : M(static_cast<std::size_t>(r) * r), b(r), v(r), w(r) {}
    void prepare(const HypMatrix& hm);
    // dot[h] = a_h . u and dot_abs[h] = sum_l |a_hl u_l| for every row h
    void dots(const HypMatrix& hm, const double* u);
};

// An interior point of the cell with sign pattern pat (bit h: hyperplane h positive)
// next to the line cl. Returns 1 with a double witness in u (r), 2 with a double-double
// one (u + ulo as real numbers), 0 when none could be verified.
int cell_witness(const HypMatrix& hm, const CellLine& cl, const uint64_t* pat, WitnessScratch& s,
                 double* u, double* ulo);

}  // namespace exactrelu
