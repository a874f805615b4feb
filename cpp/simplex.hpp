// A valid upper bound on the pricing maximum without the arrangement: simplicial
// branch and bound over the compact set of rays (docs/design.md section 10).
//
// The rays theta = (w, b) with ||w||_1 <= 1 and |b| <= R form a polytope P; every
// score lam . relu(A theta) is positively homogeneous, so its maximum over P is the
// pricing maximum. P is the union of the simplices conv(0, v_1, ..., v_D) over a
// triangulation of its boundary. On a simplex, each term with lam_i > 0 (convex) lies
// below its chord, and each term with lam_i < 0 below lam_i * alpha_i * z_i (relu(z) >=
// alpha z for alpha in [0, 1], alpha_i = U_i / (U_i - L_i) from the values at the
// vertices), so the simplex's maximum is at most the largest vertex value of that
// linear function. Only the terms with lam_i < 0 whose hyperplane cuts the simplex make
// the bound loose; a simplex is split at the point where the loosest such hyperplane
// crosses an edge of the vertex that attains the bound, so its pieces line up with the
// arrangement. Vertex values are exact up to rounding; the returned bound is inflated by
// a bound on that rounding.
#pragma once

#include <vector>

#include "tasks.hpp"

namespace exactrelu {

struct SimplexProblem {
    const double* A = nullptr;    // n x D data rows (the bias column last when bias)
    int n = 0, D = 0;
    const double* lam = nullptr;  // n multipliers; the search maximizes lam . relu(A theta)
    bool bias = false;            // the last coordinate is the bias, |b| <= R
    double R = 0.0;
    // Simplices whose bound is at most prune_below + gap_tol are not split (their bound
    // stays part of the result's upper); prune_below may be an achieved score.
    double prune_below = 0.0;
    double gap_tol = 0.0;
    long long max_nodes = 1000000;    // simplices evaluated, then the search stops
    long long max_vertex_bytes = 1LL << 28;  // memory of the vertex store, then it stops
    int top_k = 1;                    // rays returned: the best vertices found
};

struct SimplexResult {
    double upper = 0.0;       // valid bound on max over P of lam . relu(A theta)
    bool proven = false;      // every simplex pruned (upper is then max(prune_below + gap_tol, best))
    long long nodes = 0;      // simplices evaluated
    int max_depth = 0;
    long long open = 0;       // simplices left unsplit at the stop
    std::vector<double> scores;  // the best vertices' values, descending
    std::vector<double> dirs;    // their rays, k x D, with ||w||_1 = 1
};

SimplexResult simplex_search(const SimplexProblem& pb, const RunContext& ctx);

}  // namespace exactrelu
