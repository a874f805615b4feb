// The pricing engine (docs/design.md, sections 4 and 8): per-task heaps of the best
// lines scored from prefix sums along each 2-flat's sweep, with certified error bounds
// deciding which float scores must be recomputed in double-double; then the final
// candidates rescored from the data rows and ranked.
#include "pricing.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <queue>

#include "arrangement.hpp"
#include "ddouble.hpp"
#include "walk.hpp"

namespace exactrelu {
namespace {

// The streamed pass keeps this many candidates for the final top_k: the float scores
// are recomputed from the data afterwards and may reorder near-ties.
inline int oversampled(int top_k) { return 2 * top_k + 8; }
// Relative slack on the error-bound sums of a 2-flat and on the norm's bound: covers
// the rounding of the bounds' own computation.
constexpr double kSumSlack = 1e-12;
constexpr double kNormSlack = 1e-9;
// A line is recomputed in double-double when its score could still enter the heap and
// its float value is not certified to this relative accuracy.
constexpr double kRescoreTolerance = 1e-7;

using Cand = PriceCand;

// Heap order (top = the worst candidate kept), also the final ranking reversed.
bool better(const Cand& a, const Cand& b) {
    if (a.absval != b.absval) return a.absval > b.absval;
    return a.order < b.order;
}
struct Worse {
    bool operator()(const Cand& a, const Cand& b) const { return better(a, b); }
};

// The best candidates of one task, and the prefix sums of the 2-flat being swept.
using CandHeap = std::priority_queue<Cand, std::vector<Cand>, Worse>;

// What a 2-flat's sweep precomputes for its lines, per thread (buffers keep their
// capacity from one 2-flat to the next): the prefix sums (2 each) of the two kinds,
// the error-bound sums, the norm's rows on the generators (emask N0, emask N1) and the
// sums of |emask| against |N0|, E0, ... that bound the norm's error.
struct SweepSums {
    uint64_t sw_id = 0;
    std::vector<double> preA, preB;
    double S1 = 0, S2 = 0;
    std::vector<double> eN0, eN1;
    double xN0 = 0, xN1 = 0, xE0 = 0, xE1 = 0;
};
SweepSums& sweep_sums() {
    thread_local SweepSums s;
    return s;
}

// A line's float scores (both rays: splus, sminus), its direction's coordinates on the
// 2-flat's generators (al, be), its norm, and bounds on the numerators' and the norm's
// errors.
struct LineScore {
    double al, be, splus, sminus, nrm, enum_, enrm;
};

// Would a candidate with this |score| and order enter a heap of capacity k?
inline bool heap_wants(const CandHeap& h, int k, double absval, long long order) {
    if (k <= 0) return false;
    if (static_cast<int>(h.size()) < k) return true;
    const Cand& w = h.top();
    return absval > w.absval || (absval == w.absval && order < w.order);
}

class TaskPricer {
  public:
    // top_k: the task's share of the overall best (a full heap of it bounds the overall
    // top_k-th score from below: shared through `floor`); pool_k: the task's (shard's)
    // own best, for the candidate pool.
    TaskPricer(const HypMatrix& hm, const PriceWeights& pw, int top_k, int pool_k,
               std::atomic<double>* floor)
        : hm_(hm), pw_(pw), top_k_(top_k), pool_k_(pool_k), floor_(floor) {}

    // The score below which a ray enters neither heap (0 while they are not full).
    double threshold() const {
        const CandHeap& heap = top();
        double t = static_cast<int>(heap.size()) < top_k_ ? 0.0 : heap.top().absval;
        if (floor_) t = std::max(t, floor_->load(std::memory_order_relaxed));
        if (pool_k_ > 0) t = std::min(t, static_cast<int>(pool.size()) < pool_k_ ? 0.0 : pool.top().absval);
        return t;
    }

    // Offer a ray: its direction is v (r values) or, when v is null, sgn (al N0 + be N1)
    // on the 2-flat of L (computed only when the ray enters a heap).
    void consider(double score, double norm, long long order, const LineRef* L, const double* v,
                  double al, double be, double sgn) {
        double absval = std::fabs(score);
        CandHeap& heap = top();
        // below the shared floor a ray cannot be among the overall top_k
        bool to_top = heap_wants(heap, top_k_, absval, order) &&
                      !(floor_ && absval < floor_->load(std::memory_order_relaxed));
        bool to_pool = heap_wants(pool, pool_k_, absval, order);
        if (!to_top && !to_pool) return;
        // a ray displaced from a heap lends its storage to the next one (on smooth
        // multipliers most rays of a task enter its small pool heap: no allocation each)
        Cand c = std::move(spare_);
        c.absval = absval;
        c.score = score;
        c.order = order;
        c.norm = norm;
        c.inc.clear();
        const int r = hm_.r;
        c.v.resize(r);
        if (v) {
            for (int j = 0; j < r; ++j) c.v[j] = sgn * v[j];
        } else {
            const double* N0 = L->node->N.data();
            const double* N1 = N0 + r;
            for (int j = 0; j < r; ++j) c.v[j] = sgn * (al * N0[j] + be * N1[j]);
        }
        if (L) append_line_incidence(*L, c.inc);
        if (to_pool) {
            if (static_cast<int>(pool.size()) >= pool_k_) evict(pool);
            if (to_top) pool.push(c);
            else pool.push(std::move(c));
        }
        if (to_top) {
            if (static_cast<int>(heap.size()) >= top_k_) evict(heap);
            heap.push(std::move(c));
            if (floor_ && static_cast<int>(heap.size()) >= top_k_) {
                double t = heap.top().absval, cur = floor_->load(std::memory_order_relaxed);
                while (t > cur && !floor_->compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
                }
            }
        }
    }

    // ||theta[mask]||_1 of the ray v (essential coordinates).
    double l1norm(const std::vector<double>& v) const {
        double nrm = 0;
        for (int i = 0; i < pw_.dm; ++i) {
            double s = 0;
            for (int j = 0; j < hm_.r; ++j) s += pw_.emask[static_cast<std::size_t>(i) * hm_.r + j] * v[j];
            nrm += std::fabs(s);
        }
        return nrm;
    }

    // Price the lines one 2-flat emits, in order.
    void price_flat(int task, const FlatLines& F);

    // The heap of the overall best this task offers to: the worker thread's (set per
    // line by the walk: its floor rises after a few tasks, not after each task's own
    // top_k rays), else the task's own.
    CandHeap& top() { return shared_ ? *shared_ : heap; }
    const CandHeap& top() const { return shared_ ? *shared_ : heap; }
    void share_top(CandHeap* h) { shared_ = h; }
    bool shares_top() const { return shared_ != nullptr; }

    CandHeap heap, pool;
    long long seq = 0, priced = 0, skipped = 0, rescored = 0;

  private:
    void refresh_sweep(const Node& nd, const Sweep& sw);
    LineScore score(const Sweep& sw, const SweepSums& S, int a, int b) const;
    void finish(int task, const LineRef& L, const LineScore& s);
    bool rescore(const std::vector<int>& inc, std::vector<double>& v, double& splus, double& sminus,
                 double& nrm) const;

    // drop the worst of a heap, keeping its storage in spare_
    void evict(CandHeap& h) {
        spare_ = std::move(const_cast<Cand&>(h.top()));
        h.pop();
    }

    const HypMatrix& hm_;
    const PriceWeights& pw_;
    Cand spare_{};
    int top_k_, pool_k_;
    std::atomic<double>* floor_;
    CandHeap* shared_ = nullptr;
    SweepSums* sums_ = nullptr;  // this task's thread's
    // cache for the 2-flat currently swept

    // the norm's rows on the 2-flat's generators (emask N0, emask N1) and the sums of
    // |emask| against |N0|, E0, |N0| + E0, ... that bound its error
};

// A new 2-flat: prefix sums over the sorted items.
void TaskPricer::refresh_sweep(const Node& nd, const Sweep& sw) {
    if (!sums_) sums_ = &sweep_sums();  // (a task runs on one thread)
    SweepSums& S = *sums_;
    if (S.sw_id == sw.id) return;
    S.sw_id = sw.id;
    {
        const int r = hm_.r, dm = pw_.dm;
        const double* N0 = nd.N.data();
        const double* N1 = N0 + r;
        const double* E0 = nd.Nerr.data();
        const double* E1 = E0 + r;
        S.eN0.resize(dm);
        S.eN1.resize(dm);
        S.xN0 = S.xN1 = S.xE0 = S.xE1 = 0;
        for (int i = 0; i < dm; ++i) {
            const double* em = pw_.emask.data() + static_cast<std::size_t>(i) * r;
            double a0 = 0, a1 = 0;
            for (int j = 0; j < r; ++j) {
                a0 += em[j] * N0[j];
                a1 += em[j] * N1[j];
                double m = std::fabs(em[j]);
                S.xN0 += m * std::fabs(N0[j]);
                S.xN1 += m * std::fabs(N1[j]);
                S.xE0 += m * E0[j];
                S.xE1 += m * E1[j];
            }
            S.eN0[i] = a0;
            S.eN1[i] = a1;
        }
    }
    const double* wpos = pw_.wpos.data();
    const double* wneg = pw_.wneg.data();
    const int ni = static_cast<int>(sw.items.size());
    for (auto* v : {&S.preA, &S.preB}) {
        v->resize(2 * (ni + 1));
        (*v)[0] = (*v)[1] = 0.0;
    }
    // K(sigma): sigma > 0 -> wpos q, sigma < 0 -> -wneg q (the score of +v);
    // L(sigma) = -K(-sigma) (the score of -v): the sums of L are those of K negated
    // (exactly), so only K(f) (preA) and K(-f) (preB) are summed
    double S1 = 0, S2 = 0;
    for (int p = 0; p < ni; ++p) {
        int h = sw.items[p];
        double f = sw.flip[p];
        double q0 = sw.q[2 * p], q1 = sw.q[2 * p + 1];
        double kf = f > 0 ? wpos[h] : -wneg[h];   // K(f)
        double km = f > 0 ? -wneg[h] : wpos[h];   // K(-f)
        S.preA[2 * p + 2] = S.preA[2 * p] + kf * q0;
        S.preA[2 * p + 3] = S.preA[2 * p + 1] + kf * q1;
        S.preB[2 * p + 2] = S.preB[2 * p] + km * q0;
        S.preB[2 * p + 3] = S.preB[2 * p + 1] + km * q1;
        double W = std::fabs(wpos[h]) + std::fabs(wneg[h]);
        S1 += W * (std::fabs(q0) + std::fabs(q1));
        S2 += W * (sw.qerr[2 * p] + sw.qerr[2 * p + 1]);
    }
    S.S1 = S1;
    S.S2 = S2;
    S.S1 *= 1.0 + kSumSlack;
    S.S2 *= 1.0 + kSumSlack;
}

// Scores of both rays of the line on the hyperplanes `inc`, from a direction recomputed
// in double-double (for lines whose float score is too uncertain to rank).
bool TaskPricer::rescore(const std::vector<int>& inc, std::vector<double>& v, double& splus,
                         double& sminus, double& nrm) const {
    const int r = hm_.r, m = hm_.m, k = static_cast<int>(inc.size());
    std::vector<dd> M(static_cast<std::size_t>(k) * r);
    for (int j = 0; j < k; ++j) scaled_row_dd(hm_.row(inc[j]), r, M.data() + j * r);
    std::vector<dd> x;
    if (!dd_null_vector(M, k, r, x)) return false;
    double xm = 0;
    for (int l = 0; l < r; ++l) xm = std::max(xm, ddabs(x[l]));
    for (int l = 0; l < r; ++l) x[l] = x[l] / dd(xm);
    dd n(0.0);
    for (int i = 0; i < pw_.dm; ++i) {
        dd t(0.0);
        for (int l = 0; l < r; ++l) t = t + dd(pw_.emask[static_cast<std::size_t>(i) * r + l]) * x[l];
        n = n + (t.hi < 0 ? -t : t);
    }
    std::vector<char> on(m, 0);
    for (int h : inc) on[h] = 1;
    dd sp(0.0), sm(0.0);
    for (int h = 0; h < m; ++h) {
        if (on[h]) continue;
        const double* a = hm_.row(h);
        dd z(0.0);
        for (int l = 0; l < r; ++l) z = z + dd(a[l]) * x[l];
        if (z.hi > 0) {
            sp = sp + dd(pw_.wpos[h]) * z;
            sm = sm + dd(pw_.wneg[h]) * z;
        } else if (z.hi < 0) {
            sp = sp - dd(pw_.wneg[h]) * z;
            sm = sm - dd(pw_.wpos[h]) * z;
        }
    }
    v.resize(r);
    for (int l = 0; l < r; ++l) v[l] = x[l].to_double();
    nrm = n.to_double();
    splus = sp.to_double();
    sminus = sm.to_double();
    return true;
}

// The float scores of both rays of the line of class positions [a, b) of the swept
// 2-flat, its norm, and certified bounds on the errors of the numerators and the norm.
inline LineScore TaskPricer::score(const Sweep& sw, const SweepSums& S, int a, int b) const {
    const int r = hm_.r, dm = pw_.dm;
    const int ni = static_cast<int>(sw.items.size());
    LineScore s;
    double f = sw.flip[a];
    s.al = f * sw.q[2 * a + 1];
    s.be = -f * sw.q[2 * a];  // v = al N0 + be N1
    const double al = s.al, be = s.be;
    // +v: before with K(f), after with K(-f)
    double cp0 = S.preA[2 * a] + (S.preB[2 * ni] - S.preB[2 * b]);
    double cp1 = S.preA[2 * a + 1] + (S.preB[2 * ni + 1] - S.preB[2 * b + 1]);
    // -v: before with L(f) = -K(-f), after with L(-f) = -K(f)
    double cm0 = -(S.preB[2 * a] + (S.preA[2 * ni] - S.preA[2 * b]));
    double cm1 = -(S.preB[2 * a + 1] + (S.preA[2 * ni + 1] - S.preA[2 * b + 1]));
    s.splus = cp0 * al + cp1 * be;
    s.sminus = cm0 * al + cm1 * be;
    // ||v[mask]||_1 from the 2-flat's precomputed rows: O(dm) per line
    double nrm = 0;
    for (int i = 0; i < dm; ++i) nrm += std::fabs(al * S.eN0[i] + be * S.eN1[i]);
    s.nrm = nrm;
    // certified bounds on the errors of the numerators and of the norm
    double ea = sw.qerr[2 * a + 1], eb = sw.qerr[2 * a];
    double aab = std::fabs(al) + std::fabs(be);
    // relative rounding of a prefix-sum difference of at most ni terms and the few
    // products around it (2 (ni + 8) u covers both sums and the products, with margin)
    double gam = (ni + 8) * 2.0 * kUnit;
    s.enum_ = S.S1 * aab * gam + S.S2 * (aab + ea + eb) + S.S1 * (ea + eb);
    // the norm: errors of q (ea, eb) and of the generators (E0, E1), the rounding of
    // the rows emask N (r terms, once per 2-flat) and of their combination here
    double enrm = std::fabs(al) * S.xE0 + ea * (S.xN0 + S.xE0) + std::fabs(be) * S.xE1 +
                  eb * (S.xN1 + S.xE1) + (gam + (r + 4) * kUnit) * (std::fabs(al) * S.xN0 + std::fabs(be) * S.xN1);
    s.enrm = enrm * (1.0 + kNormSlack) + (dm * r + 2) * kUnit * nrm;
    return s;
}

void TaskPricer::price_flat(int task, const FlatLines& F) {
    const Sweep& sw = *F.sweep;
    refresh_sweep(*F.node, sw);
    const SweepSums& S = *sums_;
    // Lines whose bound on |score| is below the threshold at the start of the 2-flat
    // are dropped here without a division: (big + enum) < T0 (1 - 8u) (nrm - enrm) in
    // floats implies fl((big + enum) / (nrm - enrm)) < T0 <= T, so `finish` would drop
    // them too (same expressions, a threshold that only rises); the rest go to it.
    const double T0 = threshold() * (1.0 - 8 * kUnit);
    for (int i = 0; i < F.count; ++i) {
        const int cls = F.classes[i];
        const int a = sw.cls_start[cls], b = sw.cls_start[cls + 1];
        const LineScore s = score(sw, S, a, b);
        const double big = std::max(std::fabs(s.splus), std::fabs(s.sminus));
        if (s.nrm > s.enrm && (big + s.enum_) < T0 * (s.nrm - s.enrm)) {
            ++seq;
            priced += 2;
            continue;
        }
        finish(task, F.line(i), s);
    }
}

void TaskPricer::finish(int task, const LineRef& L, const LineScore& s) {
    const double al = s.al, be = s.be, splus = s.splus, sminus = s.sminus, enum_ = s.enum_, enrm = s.enrm;
    double nrm = s.nrm;
    long long order = (static_cast<long long>(task) << 32) + 2 * seq;
    ++seq;
    double T = threshold();
    double big = std::max(std::fabs(splus), std::fabs(sminus));
    double upper = nrm > enrm ? (big + enum_) / (nrm - enrm) : HUGE_VAL;
    // a norm not certified positive (a float direction lost to cancellation: near-
    // degenerate data) is always recomputed: skipping it would drop a ray
    bool uncertain = nrm <= enrm ||
                     (upper > T && (upper - big / std::max(nrm, kTinyBound)) > kRescoreTolerance * upper);
    if (uncertain) {
        std::vector<int> inc;
        append_line_incidence(L, inc);
        std::vector<double> vr;
        double sp, sm, nr;
        if (rescore(inc, vr, sp, sm, nr)) {
            // orientation of vr relative to v is irrelevant: both rays are kept
            ++rescored;
            nrm = nr > 0 ? nr : 0.0;
            if (nrm == 0) {
                skipped += 2;
                return;
            }
            priced += 2;
            consider(sp / nrm, nrm, order, &L, vr.data(), 0, 0, 1.0);
            consider(sm / nrm, nrm, order + 1, &L, vr.data(), 0, 0, -1.0);
            return;
        }
        if (nrm <= enrm)
            throw NumericalFailure("pricing: the direction of a line of the arrangement could not be "
                                   "computed accurately enough to price it");
    }
    if (nrm == 0) {
        skipped += 2;
        return;
    }
    priced += 2;
    const double sp = splus / nrm, sm = sminus / nrm;
    if (std::fabs(sp) < T && std::fabs(sm) < T) return;  // (neither heap takes them)
    consider(sp, nrm, order, &L, nullptr, al, be, 1.0);
    consider(sm, nrm, order + 1, &L, nullptr, al, be, -1.0);
}

// Rank 1: a single line, theta = +-e.
void price_rank_one(const HypMatrix& hm, const PriceWeights& pw, TaskPricer& s) {
    for (int sgn = 1; sgn >= -1; sgn -= 2) {
        std::vector<double> v{static_cast<double>(sgn)};
        double score = 0;
        for (int h = 0; h < hm.m; ++h) {
            double x = hm.H[h] * sgn;
            score += x > 0 ? pw.wpos[h] * x : -pw.wneg[h] * x;
        }
        double nrm = s.l1norm(v);
        if (nrm == 0) { s.skipped++; continue; }
        s.priced++;
        s.consider(score / nrm, nrm, sgn > 0 ? 0 : 1, nullptr, v.data(), 0, 0, 1.0);
    }
}

// A scored candidate in the data's coordinates.
struct Scored {
    double score;
    std::vector<double> dir;
};

// Each candidate's direction recomputed accurately from the hyperplanes that contain its
// line (double-double), and its score lam . relu(A theta) / ||theta[mask]||_1 re-evaluated
// with those rows exactly 0; the candidates [begin, end) are then ranked again (with
// score = false: directions only, the float scores and the order kept).
std::vector<Scored> rescore_candidates(const Hyperplanes& hp, const PricingProblem& pb,
                                       const PriceResult& pr, int begin, int end, bool score = true) {
    const int r = hp.r, D = pb.D;
    std::vector<Scored> cands;
    std::vector<char> on_line(hp.m, 0);
    std::vector<double> approx(D), theta(D);
    for (std::size_t c = static_cast<std::size_t>(begin); c < static_cast<std::size_t>(end); ++c) {
        hp.embed_vector(pr.dirs.data() + c * r, approx.data());
        const std::vector<int>& inc = pr.incs[c];
        if (inc.empty() || !refine_line_direction(hp, pb.A, inc.data(), static_cast<int>(inc.size()),
                                                  approx.data(), theta.data()))
            theta = approx;
        for (int h : inc) on_line[h] = 1;
        double nrm = 0;
        for (int j = 0; j < D; ++j)
            if (pb.mask[j]) nrm += std::fabs(theta[j]);
        if (nrm > 0) {
            double sc = pr.scores[c];   // the walk's float score, kept when !score
            if (score) {
                sc = 0;
                for (int i = 0; i < pb.n_data; ++i) {
                    int h = hp.row_h[i];
                    if (h < 0 || on_line[h]) continue;
                    const double* a = pb.A + static_cast<std::size_t>(i) * D;
                    double z = 0;
                    for (int j = 0; j < D; ++j) z += a[j] * theta[j];
                    if (z > 0) sc += pb.lam[i] * z;
                }
                sc /= nrm;
            }
            std::vector<double> dir(D);
            for (int j = 0; j < D; ++j) dir[j] = theta[j] / nrm;
            cands.push_back({sc, std::move(dir)});
        }
        for (int h : inc) on_line[h] = 0;
    }
    if (score)
        std::stable_sort(cands.begin(), cands.end(), [](const Scored& a, const Scored& b) {
            return std::fabs(a.score) > std::fabs(b.score);
        });
    return cands;
}

}  // namespace

PriceWeights price_weights(const Hyperplanes& hp, const PricingProblem& pb) {
    PriceWeights pw;
    pw.wpos.assign(hp.m, 0.0);
    pw.wneg.assign(hp.m, 0.0);
    for (int i = 0; i < pb.n_data; ++i) {
        int h = hp.row_h[i];
        if (h < 0) continue;
        double s = hp.row_scale[i];
        if (s > 0) pw.wpos[h] += pb.lam[i] * s;
        else pw.wneg[h] += pb.lam[i] * (-s);
    }
    for (int j = 0; j < pb.D; ++j) {
        if (!pb.mask[j]) continue;
        ++pw.dm;
        pw.emask.insert(pw.emask.end(), hp.embed.begin() + static_cast<std::ptrdiff_t>(j) * hp.r,
                        hp.embed.begin() + static_cast<std::ptrdiff_t>(j + 1) * hp.r);
    }
    return pw;
}

PriceShard price_shard_core(const HypMatrix& hm, const PriceWeights& pw, int top_k, const RunContext& ctx,
                            int pool_size) {
    PriceShard out;
    if (top_k < 1) top_k = 1;
    std::vector<TaskPricer> st;
    std::atomic<double> floor{0.0};
    if (hm.r == 1) {
        out.n_tasks = 1;
        if (ctx.in_shard(0)) {
            st.emplace_back(hm, pw, top_k, 0, nullptr);
            price_rank_one(hm, pw, st[0]);
        }
    } else if (hm.r >= 2) {
        // one heap of the overall best per worker thread (registered on its first line):
        // each keeps the best top_k of the rays its thread saw, so their union holds the
        // shard's top_k whatever the schedule, and the ranking below is a total order
        static std::atomic<uint64_t> next_pass{1};
        const uint64_t pass = next_pass.fetch_add(1, std::memory_order_relaxed);
        std::mutex reg;
        std::vector<std::unique_ptr<CandHeap>> thread_heaps;
        auto thread_heap = [&]() -> CandHeap* {
            thread_local uint64_t tl_pass = 0;
            thread_local CandHeap* tl_heap = nullptr;
            if (tl_pass != pass) {
                std::lock_guard<std::mutex> lock(reg);
                thread_heaps.push_back(std::make_unique<CandHeap>());
                tl_heap = thread_heaps.back().get();
                tl_pass = pass;
            }
            return tl_heap;
        };
        out.n_tasks = walk_flats(
            hm, ctx,
            [&](int nt) {
                int per_shard = pool_size > 0 && nt > 0 ? (pool_size + nt - 1) / nt : 0;
                for (int t = 0; t < nt; ++t) st.emplace_back(hm, pw, top_k, per_shard, &floor);
            },
            [&](int task, const FlatLines& F) {
                if (!st[task].shares_top()) st[task].share_top(thread_heap());  // (one thread a task)
                st[task].price_flat(task, F);
            });
        for (auto& h : thread_heaps) {
            while (!h->empty()) {
                out.top.push_back(std::move(const_cast<Cand&>(h->top())));
                h->pop();
            }
        }
    }
    // this shard's top_k from every heap (the union holds it: no ray below the floor is
    // among them), and every task's own best
    for (auto& s : st) {
        out.n_priced += s.priced;
        out.n_skipped += s.skipped;
        out.n_rescored += s.rescored;
        while (!s.heap.empty()) {
            out.top.push_back(std::move(const_cast<Cand&>(s.heap.top())));
            s.heap.pop();
        }
        while (!s.pool.empty()) {
            out.pool.push_back(std::move(const_cast<Cand&>(s.pool.top())));
            s.pool.pop();
        }
    }
    std::sort(out.top.begin(), out.top.end(), better);
    if (static_cast<int>(out.top.size()) > top_k) out.top.resize(top_k);
    std::sort(out.pool.begin(), out.pool.end(), better);
    return out;
}

PriceResult price_merge_core(std::vector<PriceShard>& shards, int top_k) {
    PriceResult out;
    if (top_k < 1) top_k = 1;
    // the overall top_k (within the shards' own top_k), then every task's own best not
    // already there; `better` orders by |score|, then by the global (task, line) order
    std::vector<Cand> all, extra;
    for (auto& sh : shards) {
        out.n_priced += sh.n_priced;
        out.n_skipped += sh.n_skipped;
        out.n_rescored += sh.n_rescored;
        out.n_shards = std::max(out.n_shards, sh.n_tasks);
        for (auto& c : sh.top) all.push_back(std::move(c));
        for (auto& c : sh.pool) extra.push_back(std::move(c));
    }
    std::sort(all.begin(), all.end(), better);
    if (static_cast<int>(all.size()) > top_k) all.resize(top_k);
    std::vector<long long> taken;
    for (const Cand& c : all) taken.push_back(c.order);
    std::sort(taken.begin(), taken.end());
    std::sort(extra.begin(), extra.end(), better);
    for (auto& c : extra)
        if (!std::binary_search(taken.begin(), taken.end(), c.order)) all.push_back(std::move(c));
    out.n_top = std::min(top_k, static_cast<int>(all.size()));
    for (auto& c : all) {
        out.scores.push_back(c.score);
        out.dirs.insert(out.dirs.end(), c.v.begin(), c.v.end());
        out.norms.push_back(c.norm);
        out.incs.push_back(std::move(c.inc));
    }
    return out;
}

PriceResult price_core(const HypMatrix& hm, const PriceWeights& pw, int top_k, const RunContext& ctx,
                       int pool_size) {
    std::vector<PriceShard> one;
    one.push_back(price_shard_core(hm, pw, top_k, ctx, pool_size));
    return price_merge_core(one, top_k);
}

namespace {

// The final ranking of a merged pass: candidates rescored from the data rows.
PricedRays finish_pricing(const Hyperplanes& hp, const PricingProblem& pb, const PriceResult& pr) {
    PricedRays out;
    out.n_priced = pr.n_priced;
    out.n_shards = pr.n_shards;
    std::vector<Scored> top = rescore_candidates(hp, pb, pr, 0, pr.n_top);
    for (std::size_t c = 0; c < top.size(); ++c) {
        bool in_top = c < static_cast<std::size_t>(pb.top_k);
        if (!in_top && pb.pool_size <= 0) break;
        (in_top ? out.scores : out.pool_scores).push_back(top[c].score);
        auto& dst = in_top ? out.dirs : out.pool_dirs;
        dst.insert(dst.end(), top[c].dir.begin(), top[c].dir.end());
    }
    if (pb.pool_size > 0) {
        // the pool's rays get accurate directions but keep their float scores (the
        // candidate pool re-prices them itself): ranked as the merge left them
        for (Scored& c : rescore_candidates(hp, pb, pr, pr.n_top, static_cast<int>(pr.scores.size()),
                                            false)) {
            out.pool_scores.push_back(c.score);
            out.pool_dirs.insert(out.pool_dirs.end(), c.dir.begin(), c.dir.end());
        }
    }
    return out;
}

}  // namespace

PricedRays price_rays_core(const PricingProblem& pb, const RunContext& ctx) {
    Hyperplanes hp = preprocess(pb.A, pb.n, pb.D);
    PriceWeights pw = price_weights(hp, pb);
    PriceResult pr = price_core(hp.matrix(), pw, oversampled(pb.top_k), ctx, pb.pool_size);
    return finish_pricing(hp, pb, pr);
}

PriceShard price_rays_shard(const PricingProblem& pb, const RunContext& ctx) {
    Hyperplanes hp = preprocess(pb.A, pb.n, pb.D);
    PriceWeights pw = price_weights(hp, pb);
    PriceShard sh = price_shard_core(hp.matrix(), pw, oversampled(pb.top_k), ctx, pb.pool_size);
    sh.r = hp.r;
    return sh;
}

PricedRays price_rays_merge(const PricingProblem& pb, std::vector<PriceShard>& shards) {
    Hyperplanes hp = preprocess(pb.A, pb.n, pb.D);
    for (const PriceShard& sh : shards)
        if (sh.r != hp.r) throw std::invalid_argument("a shard's rank differs from the data's");
    PriceResult pr = price_merge_core(shards, oversampled(pb.top_k));
    return finish_pricing(hp, pb, pr);
}

}  // namespace exactrelu
