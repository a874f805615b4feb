// Simplicial branch and bound on the pricing maximum (see simplex.hpp and
// docs/design.md section 10).
#include "simplex.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <queue>
#include <stdexcept>

namespace exactrelu {

namespace {

constexpr int kMaxD = 24;
// Simplices split this many times are not split again (their bound stays).
constexpr int kMaxDepth = 2000;
// Simplices split per round: a fixed number, so that the order of work, and hence
// the result, does not depend on the number of threads.
constexpr int kBatch = 256;
// A round's evaluations go to worker threads above this many multiply-adds.
constexpr long long kParallelWork = 1LL << 20;
constexpr auto kPollInterval = std::chrono::milliseconds(50);

// Vertices: coordinates (D), values z = A v (n) and the score lam . relu(z), shared by
// the simplices that hold them (reference counted, slots reused).
struct Vertices {
    int n, D;
    std::vector<double> coord, z, score;
    std::vector<int> refs, free_slots;

    int add() {
        int id;
        if (!free_slots.empty()) {
            id = free_slots.back();
            free_slots.pop_back();
        } else {
            id = static_cast<int>(refs.size());
            refs.push_back(0);
            score.push_back(0.0);
            coord.resize(coord.size() + D);
            z.resize(z.size() + static_cast<std::size_t>(n));
        }
        refs[id] = 0;
        return id;
    }
    void release(int id) {
        if (--refs[id] == 0) free_slots.push_back(id);
    }
    double* zv(int id) { return z.data() + static_cast<std::size_t>(id) * n; }
    const double* zv(int id) const { return z.data() + static_cast<std::size_t>(id) * n; }
    double* cv(int id) { return coord.data() + static_cast<std::size_t>(id) * D; }
    std::size_t bytes() const { return refs.size() * (sizeof(double) * (n + D + 1) + sizeof(int)); }
};

struct Node {
    std::array<int, kMaxD> v{};
    double bound = 0.0;
    int depth = 0;
    // the split: hyperplane i crosses the edge (a, b) at a + t (b - a); a < 0: none
    int i = -1, a = -1, b = -1;
    double t = 0.0;
};

// Bound of a simplex and its split (fills node.bound, i, a, b, t); alpha: n scratch.
void evaluate(Node& nd, const Vertices& V, const double* lam, int n, int D, double* alpha) {
    std::array<double, kMaxD> B{};
    std::array<const double*, kMaxD> z{};
    for (int k = 0; k < D; ++k) z[k] = V.zv(nd.v[k]);
    for (int i = 0; i < n; ++i) {
        const double l = lam[i];
        if (l == 0.0) {
            alpha[i] = 0.0;
            continue;
        }
        if (l > 0.0) {
            for (int k = 0; k < D; ++k) B[k] += l * std::max(z[k][i], 0.0);
            alpha[i] = 1.0;
            continue;
        }
        double hi = 0.0, lo = 0.0;
        for (int k = 0; k < D; ++k) {
            hi = std::max(hi, z[k][i]);
            lo = std::min(lo, z[k][i]);
        }
        const double al = hi - lo > 0.0 ? hi / (hi - lo) : 0.0;
        alpha[i] = al;
        const double la = l * al;
        for (int k = 0; k < D; ++k) B[k] += la * z[k][i];
    }
    int ks = 0;
    for (int k = 1; k < D; ++k)
        if (B[k] > B[ks]) ks = k;
    nd.bound = std::max(B[ks], 0.0);
    // the loosest term at the vertex attaining the bound (only lam_i < 0 can be loose)
    nd.i = nd.a = nd.b = -1;
    double worst = 0.0;
    const double* zs = z[ks];
    for (int i = 0; i < n; ++i) {
        if (!(lam[i] < 0.0)) continue;
        const double e = -lam[i] * (std::max(zs[i], 0.0) - alpha[i] * zs[i]);
        if (e > worst) {
            worst = e;
            nd.i = i;
        }
    }
    if (nd.i < 0) return;
    const int i = nd.i;
    int a = ks, b = ks;
    if (zs[i] > 0.0) {
        for (int k = 0; k < D; ++k)
            if (z[k][i] < z[b][i]) b = k;
    } else {
        for (int k = 0; k < D; ++k)
            if (z[k][i] > z[a][i]) a = k;
    }
    const double za = z[a][i], zb = z[b][i];
    if (!(za > 0.0 && zb < 0.0)) {
        nd.i = -1;
        return;
    }
    nd.a = a;
    nd.b = b;
    nd.t = za / (za - zb);
}

struct HeapItem {
    double bound;
    long long seq;
    int slot;
    bool operator<(const HeapItem& o) const {  // max-heap on bound; earlier first on ties
        if (bound != o.bound) return bound < o.bound;
        return seq > o.seq;
    }
};

}  // namespace

SimplexResult simplex_search(const SimplexProblem& pb, const RunContext& ctx) {
    const int n = pb.n, D = pb.D;
    const int d = pb.bias ? D - 1 : D;
    if (D < 1 || D > kMaxD || d < 1) throw std::invalid_argument("simplex_search: 1 <= D <= 24 columns");
    const double* A = pb.A;
    const double* lam = pb.lam;
    Vertices V{n, D, {}, {}, {}, {}, {}};
    std::vector<Node> nodes;
    std::vector<int> free_nodes;
    std::priority_queue<HeapItem> heap;
    long long seq = 0;

    SimplexResult res;
    // rounding: every |z_i| on P is at most s_i, and each interpolation adds a few
    // roundings of it (see the inflation below)
    double S = 0.0;
    for (int i = 0; i < n; ++i) {
        double si = 0.0;
        for (int j = 0; j < d; ++j) si = std::max(si, std::fabs(A[static_cast<std::size_t>(i) * D + j]));
        if (pb.bias) si += std::fabs(A[static_cast<std::size_t>(i) * D + d]) * pb.R;
        S += std::fabs(lam[i]) * si;
    }

    struct Best {
        double score;
        std::vector<double> dir;
    };
    std::vector<Best> top;
    const int top_k = std::max(1, pb.top_k);
    double best = -std::numeric_limits<double>::infinity();
    auto offer = [&](int vid) {
        const double sc = V.score[vid];
        if (sc > best) best = sc;
        if (static_cast<int>(top.size()) == top_k && !(sc > top.back().score)) return;
        const double* c = V.cv(vid);
        double nrm = 0.0;
        for (int j = 0; j < d; ++j) nrm += std::fabs(c[j]);
        if (!(nrm > 1e-300)) return;
        Best bst{sc, std::vector<double>(c, c + D)};
        for (double& x : bst.dir) x /= nrm;
        auto pos = std::upper_bound(top.begin(), top.end(), sc,
                                    [](double s, const Best& b) { return s > b.score; });
        top.insert(pos, std::move(bst));
        if (static_cast<int>(top.size()) > top_k) top.pop_back();
    };
    auto score_of = [&](int vid) {
        const double* z = V.zv(vid);
        double s = 0.0;
        for (int i = 0; i < n; ++i) s += lam[i] * std::max(z[i], 0.0);
        V.score[vid] = s;
    };
    auto new_vertex = [&](const std::vector<double>& c) {
        int id = V.add();
        std::copy(c.begin(), c.end(), V.cv(id));
        double* z = V.zv(id);
        for (int i = 0; i < n; ++i) {
            double s = 0.0;
            for (int j = 0; j < D; ++j)
                if (c[j] != 0.0) s += A[static_cast<std::size_t>(i) * D + j] * c[j];
            z[i] = s;
        }
        score_of(id);
        offer(id);
        return id;
    };
    auto new_node = [&]() {
        int slot;
        if (!free_nodes.empty()) {
            slot = free_nodes.back();
            free_nodes.pop_back();
        } else {
            slot = static_cast<int>(nodes.size());
            nodes.emplace_back();
        }
        return slot;
    };
    auto drop_node = [&](int slot) {
        for (int k = 0; k < D; ++k) V.release(nodes[slot].v[k]);
        free_nodes.push_back(slot);
    };

    // the initial triangulation of the boundary of P (cones from the origin)
    std::vector<std::vector<int>> init;
    {
        const double R = pb.bias ? pb.R : 0.0;
        for (long long mask = 0; mask < (1LL << d); ++mask) {
            std::vector<int> lo(d), hi(d);
            for (int j = 0; j < d; ++j) {
                std::vector<double> c(D, 0.0);
                c[j] = (mask >> j) & 1 ? -1.0 : 1.0;
                if (pb.bias) c[d] = -R;
                lo[j] = new_vertex(c);
                if (pb.bias && R > 0.0) {
                    c[d] = R;
                    hi[j] = new_vertex(c);
                }
            }
            if (!pb.bias) {
                init.push_back(lo);
            } else if (!(R > 0.0)) {
                std::vector<int> s = lo;
                s.push_back(new_vertex(std::vector<double>(D, 0.0)));
                init.push_back(s);
            } else {
                for (int k = 0; k < d; ++k) {  // staircase of the prism facet x [-R, R]
                    std::vector<int> s(hi.begin(), hi.begin() + k + 1);
                    s.insert(s.end(), lo.begin() + k, lo.end());
                    init.push_back(s);
                }
                for (double r : {R, -R}) {  // the caps b = +-R
                    std::vector<double> c(D, 0.0);
                    c[d] = r;
                    std::vector<int> s{new_vertex(c)};
                    for (int j = 0; j < d; ++j) s.push_back(r > 0 ? hi[j] : lo[j]);
                    init.push_back(s);
                }
            }
            if (ctx.cancelled()) throw Cancelled("cancelled");
        }
    }

    std::vector<double> scratch(static_cast<std::size_t>(std::max(1, ctx.threads)) * n);
    double pruned_max = -std::numeric_limits<double>::infinity();
    auto level = [&]() { return std::max(pb.prune_below, best) + pb.gap_tol; };
    // an evaluated simplex that needs no split (its bound is at most the level, or it
    // cannot be split): its bound is kept and the simplex dropped
    auto pruned = [&](int slot) {
        const Node& nd = nodes[slot];
        if (nd.bound <= level() || nd.i < 0 || nd.depth >= kMaxDepth) {
            pruned_max = std::max(pruned_max, nd.bound);
            drop_node(slot);
            return true;
        }
        return false;
    };
    auto settle = [&](int slot) {  // a freshly evaluated simplex: queue or prune it
        if (!pruned(slot)) heap.push({nodes[slot].bound, seq++, slot});
    };
    auto eval_all = [&](const std::vector<int>& slots) {
        const long long work = static_cast<long long>(slots.size()) * n * D;
        const int nt = std::max(1, ctx.threads);
        if (nt == 1 || work < kParallelWork) {
            for (int s : slots) evaluate(nodes[s], V, lam, n, D, scratch.data());
            return;
        }
        const int chunks = nt;
        run_tasks(chunks, ctx, [&](int c) {
            double* al = scratch.data() + static_cast<std::size_t>(c) * n;
            for (std::size_t q = c; q < slots.size(); q += chunks) evaluate(nodes[slots[q]], V, lam, n, D, al);
        }, "simplex bound");
    };
    {
        std::vector<int> slots;
        for (auto& s : init) {
            int slot = new_node();
            Node& nd = nodes[slot];
            for (int k = 0; k < D; ++k) {
                nd.v[k] = s[k];
                ++V.refs[s[k]];
            }
            nd.depth = 0;
            slots.push_back(slot);
        }
        eval_all(slots);
        res.nodes += static_cast<long long>(slots.size());
        for (int s : slots) settle(s);
    }

    auto last_poll = std::chrono::steady_clock::now();
    auto poll = [&]() {
        if (ctx.cancelled()) throw Cancelled("cancelled");
        auto now = std::chrono::steady_clock::now();
        if (now - last_poll < kPollInterval) return;
        last_poll = now;
        if (ctx.poll && ctx.poll()) {
            ctx.cancel->store(true);
            throw Cancelled("cancelled");
        }
    };
    // the two halves of a simplex (not evaluated), split where its hyperplane i crosses
    // the edge (a, b); the simplex itself is dropped
    auto split = [&](int slot, int* out) {
        const Node parent = nodes[slot];  // a copy: new_node may reallocate nodes
        const int m = V.add();
        const double *ca = V.cv(parent.v[parent.a]), *cb = V.cv(parent.v[parent.b]);
        double* cm = V.cv(m);
        for (int j = 0; j < D; ++j) cm[j] = ca[j] + parent.t * (cb[j] - ca[j]);
        const double *za = V.zv(parent.v[parent.a]), *zb = V.zv(parent.v[parent.b]);
        double* zm = V.zv(m);
        for (int i = 0; i < n; ++i) zm[i] = za[i] + parent.t * (zb[i] - za[i]);
        zm[parent.i] = 0.0;  // the point where hyperplane i crosses the edge
        score_of(m);
        offer(m);
        for (int side = 0; side < 2; ++side) {
            int c = new_node();
            Node& ch = nodes[c];
            ch.v = parent.v;
            ch.v[side == 0 ? parent.b : parent.a] = m;
            for (int k = 0; k < D; ++k) ++V.refs[ch.v[k]];
            ch.depth = parent.depth + 1;
            res.max_depth = std::max(res.max_depth, ch.depth);
            out[side] = c;
        }
        drop_node(slot);
    };
    auto out_of_budget = [&]() {
        return res.nodes >= pb.max_nodes || static_cast<long long>(V.bytes()) > pb.max_vertex_bytes;
    };
    // Depth first through one simplex's subtree, higher bound first: memory of the
    // depth only. Used once the vertex store is half full (the best-first frontier
    // would outgrow it); what is left at the budget goes back to the heap.
    std::vector<int> stack;
    auto dive = [&](int root) {
        stack.assign(1, root);
        while (!stack.empty()) {
            if (out_of_budget()) {
                for (int s : stack) heap.push({nodes[s].bound, seq++, s});
                stack.clear();
                return;
            }
            poll();
            const int s = stack.back();
            stack.pop_back();
            if (pruned(s)) continue;
            int c[2];
            split(s, c);
            evaluate(nodes[c[0]], V, lam, n, D, scratch.data());
            evaluate(nodes[c[1]], V, lam, n, D, scratch.data());
            res.nodes += 2;
            if (nodes[c[0]].bound > nodes[c[1]].bound) std::swap(c[0], c[1]);
            for (int k = 0; k < 2; ++k)
                if (!pruned(c[k])) stack.push_back(c[k]);
        }
    };
    std::vector<int> batch, children;
    while (!heap.empty() && !out_of_budget()) {
        poll();
        if (static_cast<long long>(V.bytes()) > pb.max_vertex_bytes / 2) {
            HeapItem it = heap.top();
            heap.pop();
            if (it.bound <= level()) {
                pruned_max = std::max(pruned_max, it.bound);
                drop_node(it.slot);
            } else {
                dive(it.slot);
            }
            continue;
        }
        batch.clear();
        while (!heap.empty() && static_cast<int>(batch.size()) < kBatch) {
            HeapItem it = heap.top();
            heap.pop();
            if (it.bound <= level()) {
                pruned_max = std::max(pruned_max, it.bound);
                drop_node(it.slot);
                continue;
            }
            batch.push_back(it.slot);
        }
        if (batch.empty()) break;
        children.clear();
        for (int slot : batch) {
            int c[2];
            split(slot, c);
            children.push_back(c[0]);
            children.push_back(c[1]);
        }
        eval_all(children);
        res.nodes += static_cast<long long>(children.size());
        for (int c : children) settle(c);
    }
    double open_max = heap.empty() ? -std::numeric_limits<double>::infinity() : heap.top().bound;
    res.open = static_cast<long long>(heap.size());
    const double raw = std::max({pruned_max, open_max, best, 0.0});
    const double eps = std::numeric_limits<double>::epsilon();
    const double inflate = (16.0 * (res.max_depth + 2) + 4.0 * n + 16.0) * eps * S;
    res.proven = std::max(pruned_max, open_max) <= level();
    res.upper = raw + inflate;
    for (auto& b : top) {
        res.scores.push_back(b.score);
        res.dirs.insert(res.dirs.end(), b.dir.begin(), b.dir.end());
    }
    return res;
}

}  // namespace exactrelu
