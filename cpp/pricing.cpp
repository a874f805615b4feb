// The pricing engine (docs/design.md, sections 4 and 8): per-task heaps of the best
// lines scored from prefix sums along each 2-flat's sweep, with certified error bounds
// deciding which float scores must be recomputed in double-double; then the final
// candidates rescored from the data rows and ranked.
#include "pricing.hpp"

#include <algorithm>
#include <cmath>
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

struct Cand {
    double absval;
    double score;
    long long order;  // enumeration order (task, sequence): deterministic tie-break
    double norm;
    std::vector<double> v;
    std::vector<int> inc;  // hyperplanes containing the line
};

// Heap order (top = the worst candidate kept), also the final ranking reversed.
bool better(const Cand& a, const Cand& b) {
    if (a.absval != b.absval) return a.absval > b.absval;
    return a.order < b.order;
}
struct Worse {
    bool operator()(const Cand& a, const Cand& b) const { return better(a, b); }
};

// The best candidates of one task, and the prefix sums of the 2-flat being swept.
class TaskPricer {
  public:
    TaskPricer(const HypMatrix& hm, const PriceWeights& pw, int top_k) : hm_(hm), pw_(pw), top_k_(top_k) {}

    void consider(const std::vector<double>& v, double score, double norm, long long order,
                  const LineRef* L) {
        Cand c{std::fabs(score), score, order, norm, {}, {}};
        bool take = static_cast<int>(heap.size()) < top_k_ || Worse()(c, heap.top());
        if (!take) return;
        c.v = v;
        if (L) append_line_incidence(*L, c.inc);
        if (static_cast<int>(heap.size()) >= top_k_) heap.pop();
        heap.push(std::move(c));
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

    void price_line(int task, const LineRef& L);

    std::priority_queue<Cand, std::vector<Cand>, Worse> heap;
    long long seq = 0, priced = 0, skipped = 0, rescored = 0;

  private:
    void refresh_sweep(const Sweep& sw);
    bool rescore(const std::vector<int>& inc, std::vector<double>& v, double& splus, double& sminus,
                 double& nrm) const;

    const HypMatrix& hm_;
    const PriceWeights& pw_;
    int top_k_;
    // cache for the 2-flat currently swept
    uint64_t sw_id_ = 0;
    std::vector<double> preA_, preB_, preC_, preD_;  // prefix sums (2 each) of the four kinds
    double S1_ = 0, S2_ = 0;                         // error-bound sums of the 2-flat
};

// A new 2-flat: prefix sums over the sorted items.
void TaskPricer::refresh_sweep(const Sweep& sw) {
    if (sw_id_ == sw.id) return;
    sw_id_ = sw.id;
    const double* wpos = pw_.wpos.data();
    const double* wneg = pw_.wneg.data();
    const int ni = static_cast<int>(sw.items.size());
    for (auto* v : {&preA_, &preB_, &preC_, &preD_}) v->assign(2 * (ni + 1), 0.0);
    for (int p = 0; p < ni; ++p) {
        int h = sw.items[p];
        double f = sw.flip[p];
        double q0 = sw.q[2 * p], q1 = sw.q[2 * p + 1];
        // K(sigma): sigma>0 -> wpos q ; sigma<0 -> -wneg q   (score of +v)
        // L(sigma): sigma>0 -> wneg q ; sigma<0 -> -wpos q   (score of -v)
        double kf = f > 0 ? wpos[h] : -wneg[h];   // K(f)
        double km = f > 0 ? -wneg[h] : wpos[h];   // K(-f)
        double lf = f > 0 ? wneg[h] : -wpos[h];   // L(f)
        double lm = f > 0 ? -wpos[h] : wneg[h];   // L(-f)
        preA_[2 * p + 2] = preA_[2 * p] + kf * q0;
        preA_[2 * p + 3] = preA_[2 * p + 1] + kf * q1;
        preB_[2 * p + 2] = preB_[2 * p] + km * q0;
        preB_[2 * p + 3] = preB_[2 * p + 1] + km * q1;
        preC_[2 * p + 2] = preC_[2 * p] + lf * q0;
        preC_[2 * p + 3] = preC_[2 * p + 1] + lf * q1;
        preD_[2 * p + 2] = preD_[2 * p] + lm * q0;
        preD_[2 * p + 3] = preD_[2 * p + 1] + lm * q1;
    }
    S1_ = S2_ = 0;
    for (int p = 0; p < ni; ++p) {
        int h = sw.items[p];
        double W = std::fabs(wpos[h]) + std::fabs(wneg[h]);
        S1_ += W * (std::fabs(sw.q[2 * p]) + std::fabs(sw.q[2 * p + 1]));
        S2_ += W * (sw.qerr[2 * p] + sw.qerr[2 * p + 1]);
    }
    S1_ *= 1.0 + kSumSlack;
    S2_ *= 1.0 + kSumSlack;
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

void TaskPricer::price_line(int task, const LineRef& L) {
    const int r = hm_.r;
    const Sweep& sw = *L.sweep;
    refresh_sweep(sw);
    const int ni = static_cast<int>(sw.items.size());
    int a = L.first(), b = L.last();
    double f = sw.flip[a];
    double al = f * sw.q[2 * a + 1], be = -f * sw.q[2 * a];  // v = al N0 + be N1
    // +v: before with K(f), after with K(-f)
    double cp0 = preA_[2 * a] + (preB_[2 * ni] - preB_[2 * b]);
    double cp1 = preA_[2 * a + 1] + (preB_[2 * ni + 1] - preB_[2 * b + 1]);
    double cm0 = preC_[2 * a] + (preD_[2 * ni] - preD_[2 * b]);
    double cm1 = preC_[2 * a + 1] + (preD_[2 * ni + 1] - preD_[2 * b + 1]);
    double splus = cp0 * al + cp1 * be;
    double sminus = cm0 * al + cm1 * be;
    std::vector<double> v(r);
    line_direction(L, r, v.data());
    double nrm = l1norm(v);
    long long order = (static_cast<long long>(task) << 32) + 2 * seq;
    ++seq;
    // certified bounds on the errors of the numerators and of the norm
    double ea = sw.qerr[2 * a + 1], eb = sw.qerr[2 * a];
    double aab = std::fabs(al) + std::fabs(be);
    // relative rounding of a prefix-sum difference of at most ni terms and the few
    // products around it (2 (ni + 8) u covers both sums and the products, with margin)
    double gam = (ni + 8) * 2.0 * kUnit;
    double enum_ = S1_ * aab * gam + S2_ * (aab + ea + eb) + S1_ * (ea + eb);
    const double* N0 = L.node->N.data();
    const double* N1 = N0 + r;
    const double* E0 = L.node->Nerr.data();
    const double* E1 = E0 + r;
    double enrm = 0;
    for (int i = 0; i < pw_.dm; ++i) {
        const double* em = pw_.emask.data() + static_cast<std::size_t>(i) * r;
        for (int j = 0; j < r; ++j) {
            double ej = std::fabs(al) * E0[j] + ea * (std::fabs(N0[j]) + E0[j]) +
                        std::fabs(be) * E1[j] + eb * (std::fabs(N1[j]) + E1[j]) +
                        gam * (std::fabs(al * N0[j]) + std::fabs(be * N1[j]));
            enrm += std::fabs(em[j]) * ej;
        }
    }
    enrm = enrm * (1.0 + kNormSlack) + (pw_.dm * r + 2) * kUnit * nrm;
    double T = static_cast<int>(heap.size()) < top_k_ ? 0.0 : heap.top().absval;
    double big = std::max(std::fabs(splus), std::fabs(sminus));
    double upper = nrm > enrm ? (big + enum_) / (nrm - enrm) : HUGE_VAL;
    bool uncertain = upper > T && (upper - big / std::max(nrm, kTinyBound)) > kRescoreTolerance * upper;
    if (uncertain) {
        std::vector<int> inc;
        append_line_incidence(L, inc);
        std::vector<double> vr;
        double sp, sm, nr;
        if (rescore(inc, vr, sp, sm, nr)) {
            // orientation of vr relative to v is irrelevant: both rays are kept
            ++rescored;
            v = std::move(vr);
            splus = sp;
            sminus = sm;
            nrm = nr > 0 ? nr : 0.0;
        }
    }
    if (nrm == 0) {
        skipped += 2;
        return;
    }
    priced += 2;
    consider(v, splus / nrm, nrm, order, &L);
    std::vector<double> vm(r);
    for (int j = 0; j < r; ++j) vm[j] = -v[j];
    consider(vm, sminus / nrm, nrm, order + 1, &L);
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
        s.consider(v, score / nrm, nrm, sgn > 0 ? 0 : 1, nullptr);
    }
}

// A scored candidate in the data's coordinates.
struct Scored {
    double score;
    std::vector<double> dir;
};

// Each candidate's direction recomputed accurately from the hyperplanes that contain its
// line (double-double), and its score lam . relu(A theta) / ||theta[mask]||_1 re-evaluated
// with those rows exactly 0; the candidates are then ranked again.
std::vector<Scored> rescore_candidates(const Hyperplanes& hp, const PricingProblem& pb,
                                       const PriceResult& pr) {
    const int r = hp.r, D = pb.D;
    std::vector<Scored> cands;
    std::vector<char> on_line(hp.m, 0);
    std::vector<double> approx(D), theta(D);
    for (std::size_t c = 0; c < pr.scores.size(); ++c) {
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
            double sc = 0;
            for (int i = 0; i < pb.n_data; ++i) {
                int h = hp.row_h[i];
                if (h < 0 || on_line[h]) continue;
                const double* a = pb.A + static_cast<std::size_t>(i) * D;
                double z = 0;
                for (int j = 0; j < D; ++j) z += a[j] * theta[j];
                if (z > 0) sc += pb.lam[i] * z;
            }
            std::vector<double> dir(D);
            for (int j = 0; j < D; ++j) dir[j] = theta[j] / nrm;
            cands.push_back({sc / nrm, std::move(dir)});
        }
        for (int h : inc) on_line[h] = 0;
    }
    std::stable_sort(cands.begin(), cands.end(), [](const Scored& a, const Scored& b) {
        return std::fabs(a.score) > std::fabs(b.score);
    });
    if (static_cast<int>(cands.size()) > pb.top_k) cands.resize(pb.top_k);
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

PriceResult price_core(const HypMatrix& hm, const PriceWeights& pw, int top_k, const RunContext& ctx) {
    PriceResult out;
    if (top_k < 1) top_k = 1;
    std::vector<TaskPricer> st;
    if (hm.r == 1) {
        st.emplace_back(hm, pw, top_k);
        price_rank_one(hm, pw, st[0]);
    } else if (hm.r >= 2) {
        walk_lines(
            hm, ctx,
            [&](int nt) {
                for (int t = 0; t < nt; ++t) st.emplace_back(hm, pw, top_k);
            },
            [&](int task, const LineRef& L) { st[task].price_line(task, L); });
    }
    std::vector<Cand> all;
    for (auto& s : st) {
        out.n_priced += s.priced;
        out.n_skipped += s.skipped;
        out.n_rescored += s.rescored;
        while (!s.heap.empty()) {
            all.push_back(s.heap.top());
            s.heap.pop();
        }
    }
    std::sort(all.begin(), all.end(), better);
    if (static_cast<int>(all.size()) > top_k) all.resize(top_k);
    for (auto& c : all) {
        out.scores.push_back(c.score);
        out.dirs.insert(out.dirs.end(), c.v.begin(), c.v.end());
        out.norms.push_back(c.norm);
        out.incs.push_back(c.inc);
    }
    return out;
}

PricedRays price_rays_core(const PricingProblem& pb, const RunContext& ctx) {
    Hyperplanes hp = preprocess(pb.A, pb.n, pb.D);
    PriceWeights pw = price_weights(hp, pb);
    PriceResult pr = price_core(hp.matrix(), pw, oversampled(pb.top_k), ctx);
    PricedRays out;
    out.n_priced = pr.n_priced;
    for (Scored& c : rescore_candidates(hp, pb, pr)) {
        out.scores.push_back(c.score);
        out.dirs.insert(out.dirs.end(), c.dir.begin(), c.dir.end());
    }
    return out;
}

}  // namespace exactrelu
