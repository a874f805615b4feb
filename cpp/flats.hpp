// Preprocessing of a data matrix into the arrangement the walk works on: distinct
// hyperplanes (exactly parallel rows merged), exact rank, essential coordinates, and
// the embedding back into the data's coordinates (docs/design.md, section 2).
#pragma once

#include <cstddef>
#include <vector>

#include "exact.hpp"

namespace exactrelu {

// A view of an essential hyperplane matrix: m rows of length r (row-major), rank r.
// `integral`: every entry is a small integer (exact arithmetic is cheaper).
struct HypMatrix {
    const double* H = nullptr;
    int m = 0;
    int r = 0;
    bool integral = false;
    const double* row(int i) const { return H + static_cast<std::size_t>(i) * r; }
};

// Distinct hyperplanes of a dataset in essential coordinates.
struct Hyperplanes {
    int n = 0;   // original rows
    int D = 0;   // ambient dimension
    int m = 0;   // distinct nonzero hyperplanes
    int r = 0;   // exact rank
    bool integral = false;           // every entry of h is a (scaled) small integer
    std::vector<double> h;           // m x r, rows scaled by powers of two
    std::vector<int> cols;           // essential columns (size r) of the original matrix
    std::vector<int> row_h;          // per original row: hyperplane index or -1 (zero row)
    std::vector<double> row_scale;   // A[i, cols] = row_scale[i] * h[row_h[i]] (signed)
    std::vector<int> h_first_row;    // first original row of each hyperplane
    std::vector<int> basis;          // hyperplanes forming a basis of the row space
    std::vector<double> embed;       // D x r: maps essential coordinates to a vector in the
                                     // row space of A giving the same products with every row
    HypMatrix matrix() const { return HypMatrix{h.data(), m, r, integral}; }
    // out (length D) = embed . v (v: r essential coordinates), a vector of the row space.
    void embed_vector(const double* v, double* out) const;
};

// Deduplicate, rank and essentialize the n x D row-major matrix A.
Hyperplanes preprocess(const double* A, int n, int D);

// Essentialize a subset of rows of an m x r matrix: returns their rank k, writes the
// rows restricted to their k pivot columns into `out` (rows.size() x k) and the pivot
// columns into `pcols`.
int essentialize_rows(const HypMatrix& hm, const std::vector<int>& rows, std::vector<double>& out,
                      std::vector<int>& pcols);

}  // namespace exactrelu
