// Exact counts of cells and lines without enumerating them (docs/design.md, section 2):
// Zaslavsky's theorem, with |mu| of every flat from the flat walk, recursively.
#include <algorithm>

#include "arrangement.hpp"
#include "walk.hpp"

namespace exactrelu {
namespace {

uint64_t mobius_abs(const HypMatrix& hm, const std::vector<int>& rows, int rank);

// Tally the flats below nd (down to the walker's maxc); with want_mu also |mu| of each.
void count_subtree(const FlatWalker& W, const Node& nd, FlatTally& out, bool want_mu) {
    W.check_cancel();
    SweepLease lease;
    Sweep& sw = *lease;
    W.sweep(nd, sw);
    int ncls = static_cast<int>(sw.cls_start.size()) - 1;
    for (int cls = 0; cls < ncls; ++cls) {
        if (!W.canonical(nd, sw, cls)) continue;
        int c = nd.c + 1;
        out.flats[c] += 1;
        if (want_mu) {
            std::size_t sz = nd.S.size() + static_cast<std::size_t>(sw.cls_start[cls + 1] - sw.cls_start[cls]);
            if (sz == static_cast<std::size_t>(c)) {  // a generic flat: |mu| = 1
                out.mu[c] += 1;
            } else if (c == 2) {  // a codimension-2 flat on sz hyperplanes
                out.mu[c] += sz - 1;
            } else {
                std::vector<int> S;
                append_flat_members(nd, sw, cls, S);
                for (int& s : S) s = W.rows()[s];  // walker-local -> rows of the matrix
                out.mu[c] += mobius_abs(W.matrix(), S, c);
            }
        }
        if (c < W.maxc()) {
            Node ch = W.child(nd, sw, cls);
            count_subtree(W, ch, out, want_mu);
        }
    }
}

// |mu| of the top element of the arrangement formed by `rows` (rank `rank`).
uint64_t mobius_abs(const HypMatrix& hm, const std::vector<int>& rows, int rank) {
    if (rank <= 1) return 1;
    if (static_cast<int>(rows.size()) == rank) return 1;
    if (rank == 2) return rows.size() - 1;
    FlatWalker W(hm, rows, rank - 1, nullptr);
    FlatTally t(rank);
    t.mu[0] = 1;
    count_subtree(W, W.root(), t, true);
    // chi(1) = 0: |mu_top| = |sum_{k<rank} (-1)^k w_k|
    int64_t s = 0;
    for (int k = 0; k < rank; ++k) s += (k & 1) ? -static_cast<int64_t>(t.mu[k]) : static_cast<int64_t>(t.mu[k]);
    return static_cast<uint64_t>(s < 0 ? -s : s);
}

}  // namespace

std::vector<FlatTally> count_shard_core(const HypMatrix& hm, const RunContext& ctx, bool want_cells) {
    const int r = hm.r;
    if (r <= 1) return {};  // no walk: count_merge knows these arrangements
    FlatWalker W = FlatWalker::over_lines(hm, ctx.cancel);
    W.prepare_exact();
    RootSplit rs = split_root(W);
    std::vector<int> mine = shard_tasks(static_cast<int>(rs.classes.size()), ctx);
    std::vector<FlatTally> tallies(mine.size(), FlatTally(r));
    run_tasks(
        static_cast<int>(mine.size()), ctx,
        [&](int i) {
            // the class itself is a flat of codimension 1 (a single distinct hyperplane)
            tallies[i].flats[1] += 1;
            tallies[i].mu[1] += 1;
            if (1 < W.maxc()) {
                Node ch = W.child(rs.root, rs.sweep, rs.classes[mine[i]]);
                count_subtree(W, ch, tallies[i], want_cells);
            }
        },
        "lines");
    return tallies;
}

Counts count_merge(int r, const std::vector<FlatTally>& tallies) {
    Counts out;
    if (r == 0) {
        out.cells = 1;
        return out;
    }
    if (r == 1) {
        out.cells = 2;
        out.lines = 1;
        return out;
    }
    std::vector<unsigned __int128> w(r + 1, 0), f(r + 1, 0);
    w[0] = 1;
    for (const FlatTally& t : tallies)
        for (int c = 0; c <= r; ++c) {
            w[c] += t.mu[c];
            f[c] += t.flats[c];
        }
    out.lines = f[r - 1];
    // Zaslavsky: cells = the sum of |mu| over all flats; the alternating sum vanishes
    // (central arrangement), so it is twice the sum over codimensions r-1, r-3, ...
    unsigned __int128 s = 0;
    for (int k = 0; k <= r - 1; ++k)
        if (((r - 1 - k) & 1) == 0) s += w[k];
    out.cells = 2 * s;
    return out;
}

Counts count_core(const HypMatrix& hm, const RunContext& ctx, bool want_cells) {
    return count_merge(hm.r, count_shard_core(hm, ctx, want_cells));
}

}  // namespace exactrelu
