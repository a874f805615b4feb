// Preprocessing (deduplication, exact rank, essential coordinates) and the exact
// depth-first walk over the flats of a central arrangement.
//
// A flat F of codimension c is represented by a basis T (c hyperplanes, the
// lexicographically greedy basis of the hyperplanes containing F, which makes
// every flat appear exactly once) and by e = r - c generator vectors N_l (one per
// non-pivot column l), with N_l . a = det([T; a] on columns sorted(J + {l})).
// The children of F are the classes of hyperplanes not containing F whose
// restrictions to F are parallel; at a 2-dimensional flat the classes, sorted by
// angle with exact predicates, are the lines (rays) in F, and the sign of every
// hyperplane at each line is read off the sorted order.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "exact.hpp"

namespace exactrelu {

// Raised when a computation is cancelled (Ctrl-C) or exceeds a size limit.
struct Cancelled : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct SizeLimit : std::runtime_error {
    using std::runtime_error::runtime_error;
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
    const double* row(int i) const { return h.data() + static_cast<std::size_t>(i) * r; }
};

// Deduplicate, rank and essentialize the n x D row-major matrix A.
Hyperplanes preprocess(const double* A, int n, int D);

// Accurate unit direction (length D) of the line of the arrangement lying on the given
// hyperplanes (at least r - 1 independent ones), in the row space of the original
// n x D matrix A, computed in double-double from the original rows. `approx` (length D)
// fixes the orientation. Returns false if the rows do not determine a line.
bool refine_line_direction(const Hyperplanes& hp, const double* A, const int* hyps, int k,
                           const double* approx, double* out);

// Essentialize a subset of rows of an m x r matrix: returns the rank k and writes the
// k x k... (rows restricted to k pivot columns) into `out` (rows.size() x k) and the
// pivot columns into `pcols`.
int essentialize_rows(const double* H, int r, const std::vector<int>& rows, bool integral,
                      std::vector<double>& out, std::vector<int>& pcols);

struct Node {
    int c = 0;                   // codimension
    std::vector<int> T;          // greedy basis (indices into the row list), increasing
    std::vector<int> S;          // hyperplanes containing the flat (sorted)
    std::vector<int> J;          // pivot columns (sorted), size c
    std::vector<int> free_cols;  // non-pivot columns (sorted), size e = r - c
    std::vector<double> N, Nerr; // e x r generators and entrywise error bounds
    int det_sign = 1;            // sign of det(T rows, J cols)
};

// The result of processing one node: items not containing the flat, their
// coordinates on the flat's generators, flips, sorted order and classes.
struct Sweep {
    uint64_t id = 0;                 // unique per sweep (cache key)
    int e = 0;
    std::vector<int> items;          // sorted (exact order of directions)
    std::vector<signed char> flip;   // per position in items: f_s
    std::vector<double> q, qerr;     // per position: e values, e error bounds
    std::vector<int> cls_start;      // class boundaries in items (size classes + 1)
};

class FlatWalker {
  public:
    // rows: indices into H (m x r) that form the arrangement; rank: its rank; maxc: the
    // deepest codimension visited.
    FlatWalker(const double* H, int r, bool integral, std::vector<int> rows, int maxc,
               const std::atomic<bool>* cancel);

    Node root() const;
    // Process node: compute and sort the items not containing it.
    void sweep(const Node& node, Sweep& sw) const;
    // Child of `node` obtained by adding the class [a, b) of the sweep.
    Node child(const Node& node, const Sweep& sw, int cls) const;
    bool canonical(const Node& node, const Sweep& sw, int cls) const;
    // Exact sign of q_s[k] q_t[l] - q_s[l] q_t[k] for positions i, j of the sweep.
    int minor2(const Node& node, const Sweep& sw, int i, int j, int k, int l) const;
    int minor2_raw(const Node& node, int e, const double* qi, const double* ei, int si,
                   const double* qj, const double* ej, int sj, int k, int l) const;

    int r() const { return r_; }
    int maxc() const { return maxc_; }
    const std::vector<int>& rows() const { return rows_; }
    const double* row(int local) const { return H_ + static_cast<std::size_t>(rows_[local]) * r_; }
    void check_cancel() const {
        if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw Cancelled("cancelled");
    }

  private:
    void set_generators(Node& node) const;
    int coord_sign(const Node& node, const double* a, int l, double val, double err) const;

    const double* H_;
    int r_;
    bool integral_;
    std::vector<int> rows_;
    int maxc_;
    const std::atomic<bool>* cancel_;
};

// |mu| of the top element of the arrangement formed by `rows` (rank `rank`).
uint64_t mobius_abs(const double* H, int r, bool integral, const std::vector<int>& rows, int rank);

}  // namespace exactrelu
