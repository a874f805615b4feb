// Exact-ray pricing for column generation: the oriented rays theta maximizing
// |lambda . relu(A theta)| / ||theta[mask]||_1, streamed over every line of the
// arrangement (never stored), O(1) work per line after an O(M log M) exact sort
// per 2-dimensional flat (prefix sums along the angular order).
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "flats.hpp"

namespace exactrelu {

struct PriceResult {
    std::vector<double> scores;  // signed lambda . phi, |.| descending
    std::vector<double> dirs;    // k x r, essential coordinates, oriented (not normalized)
    std::vector<double> norms;   // k: the normalization ||theta[mask]||_1 of dirs
    std::vector<std::vector<int>> incs;  // k: hyperplanes containing each line (empty: r == 1)
    long long n_priced = 0;
    long long n_skipped = 0;
    long long n_rescored = 0;  // lines whose float score was too uncertain: recomputed
};

// wpos[h] / wneg[h]: sum of lambda_i * |scale_i| over data rows on hyperplane h with
// positive / negative orientation. emask: dm x r rows of the embedding whose l1 norm
// normalizes a ray.
PriceResult price_core(const double* H, int m, int r, bool integral, const double* wpos,
                       const double* wneg, const double* emask, int dm, int top_k, int threads,
                       std::atomic<bool>& cancel, const std::function<bool()>& poll);

}  // namespace exactrelu
