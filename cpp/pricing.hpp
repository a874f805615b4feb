// Exact-ray pricing for column generation (docs/design.md, sections 4 and 8): the
// oriented rays theta maximizing |lambda . relu(A theta)| / ||theta[mask]||_1, streamed
// over every line of the arrangement (never stored), O(1) work per line after an
// O(M log M) exact sort per 2-dimensional flat (prefix sums along the angular order);
// then the best candidates rescored from the data rows and ranked again.
#pragma once

#include <vector>

#include "flats.hpp"
#include "tasks.hpp"

namespace exactrelu {

// The pricing problem in the data's terms.
struct PricingProblem {
    const double* A = nullptr;  // the lifted data matrix, n x D (row-major)
    int n = 0, D = 0;
    int n_data = 0;             // rows 0..n_data-1 carry the multipliers
    const double* lam = nullptr;  // n_data multipliers
    std::vector<char> mask;     // D: the coordinates whose l1 norm normalizes a ray
    int top_k = 1;
    // Candidate pool: besides the overall top_k, about this many more rays, the best
    // few of every shard (task) of the pass (docs/design.md section 8). 0: none.
    int pool_size = 0;
};

struct PricedRays {
    std::vector<double> scores;  // signed lambda . relu(A theta), |.| descending
    std::vector<double> dirs;    // k x D, normalized to ||theta[mask]||_1 = 1
    std::vector<double> pool_scores;  // the pool: the best rays of each shard not in
    std::vector<double> pool_dirs;    // the top_k, |score| descending, normalized
    long long n_priced = 0;
    int n_shards = 0;
};

// Top-k rays of the problem (preprocessing, streamed pass, rescoring, ranking).
PricedRays price_rays_core(const PricingProblem& pb, const RunContext& ctx);

// A candidate line of a pass: its oriented direction v (essential coordinates, not
// normalized), signed score, enumeration order (task << 32 | 2 * line in the task +
// orientation: the deterministic tie-break) and incident hyperplanes.
struct PriceCand {
    double absval;
    double score;
    long long order;
    double norm;
    std::vector<double> v;
    std::vector<int> inc;
};

// One shard of a pass (docs/design.md section 9): the best top_k of its tasks and
// every task's own best for the pool, each sorted; price_rays_core is the merge of
// the one shard holding every task.
struct PriceShard {
    std::vector<PriceCand> top, pool;
    long long n_priced = 0, n_skipped = 0, n_rescored = 0;
    int n_tasks = 0;  // tasks of the whole pass
    int r = 0;        // rank of the arrangement
};
PriceShard price_rays_shard(const PricingProblem& pb, const RunContext& ctx);
// The pass from all of its shards (in any order; consumed): as price_rays_core.
PricedRays price_rays_merge(const PricingProblem& pb, std::vector<PriceShard>& shards);

// --- the streamed pass over the essential arrangement --------------------------------

// wpos[h] / wneg[h]: sum of lambda_i * |scale_i| over data rows on hyperplane h with
// positive / negative orientation. emask: dm x r rows of the embedding whose l1 norm
// normalizes a ray.
struct PriceWeights {
    std::vector<double> wpos, wneg;
    std::vector<double> emask;
    int dm = 0;
};
PriceWeights price_weights(const Hyperplanes& hp, const PricingProblem& pb);

struct PriceResult {
    std::vector<double> scores;  // signed lambda . phi, |.| descending
    std::vector<double> dirs;    // k x r, essential coordinates, oriented (not normalized)
    std::vector<double> norms;   // k: the normalization ||theta[mask]||_1 of dirs
    std::vector<std::vector<int>> incs;  // k: hyperplanes containing each line (empty: r == 1)
    long long n_priced = 0;
    long long n_skipped = 0;
    long long n_rescored = 0;  // lines whose float score was too uncertain: recomputed
    int n_shards = 0;
    int n_top = 0;             // the first n_top entries are the overall best
};

// The best top_k lines overall; with per_shard > 0 also the best max(top_k, per_shard)
// of every shard (task), after the overall best (deduplicated: each line is in one
// shard). pool_size > 0 sets per_shard = ceil(pool_size / shards) once the shards are known.
PriceResult price_core(const HypMatrix& hm, const PriceWeights& pw, int top_k, const RunContext& ctx,
                       int pool_size = 0);
// price_core in two steps: the candidates of ctx's shard, and the merge of all shards.
PriceShard price_shard_core(const HypMatrix& hm, const PriceWeights& pw, int top_k, const RunContext& ctx,
                            int pool_size = 0);
PriceResult price_merge_core(std::vector<PriceShard>& shards, int top_k);

}  // namespace exactrelu
