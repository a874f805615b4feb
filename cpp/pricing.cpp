#include "pricing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>

#include "arrangement.hpp"
#include "ddouble.hpp"

namespace exactrelu {
namespace {

struct Cand {
    double absval;
    double score;
    long long order;  // enumeration order (task, sequence): deterministic tie-break
    double norm;
    std::vector<double> v;
    std::vector<int> inc;  // hyperplanes containing the line
};

struct Worse {  // heap top = the worst candidate kept
    bool operator()(const Cand& a, const Cand& b) const {
        if (a.absval != b.absval) return a.absval > b.absval;
        return a.order < b.order;
    }
};

struct TaskState {
    std::priority_queue<Cand, std::vector<Cand>, Worse> heap;
    long long seq = 0, priced = 0, skipped = 0;
    // cache for the 2-flat currently swept
    uint64_t sw_id = 0;
    std::vector<double> preA, preB, preC, preD;  // prefix sums (2 each) of the four kinds
    double S1 = 0, S2 = 0;                       // error-bound sums of the 2-flat
    long long rescored = 0;
};

// Scores of both rays of the line on the hyperplanes `inc`, from a direction recomputed
// in double-double (for lines whose float score is too uncertain to rank).
bool rescore_line(const double* H, int m, int r, const double* wpos, const double* wneg,
                  const double* emask, int dm, const std::vector<int>& inc,
                  std::vector<double>& v, double& splus, double& sminus, double& nrm) {
    int k = static_cast<int>(inc.size());
    std::vector<dd> M(static_cast<std::size_t>(k) * r);
    for (int j = 0; j < k; ++j) {
        const double* a = H + static_cast<std::size_t>(inc[j]) * r;
        double an = 0;
        for (int l = 0; l < r; ++l) an = std::max(an, std::fabs(a[l]));
        int ex = 0;
        std::frexp(an, &ex);
        for (int l = 0; l < r; ++l) M[j * r + l] = dd(std::ldexp(a[l], -ex));
    }
    std::vector<dd> x;
    if (!dd_null_vector(M, k, r, x)) return false;
    double xm = 0;
    for (int l = 0; l < r; ++l) xm = std::max(xm, ddabs(x[l]));
    for (int l = 0; l < r; ++l) x[l] = x[l] / dd(xm);
    dd n(0.0);
    for (int i = 0; i < dm; ++i) {
        dd t(0.0);
        for (int l = 0; l < r; ++l) t = t + dd(emask[static_cast<std::size_t>(i) * r + l]) * x[l];
        n = n + (t.hi < 0 ? -t : t);
    }
    std::vector<char> on(m, 0);
    for (int h : inc) on[h] = 1;
    dd sp(0.0), sm(0.0);
    for (int h = 0; h < m; ++h) {
        if (on[h]) continue;
        const double* a = H + static_cast<std::size_t>(h) * r;
        dd z(0.0);
        for (int l = 0; l < r; ++l) z = z + dd(a[l]) * x[l];
        if (z.hi > 0) {
            sp = sp + dd(wpos[h]) * z;
            sm = sm + dd(wneg[h]) * z;
        } else if (z.hi < 0) {
            sp = sp - dd(wneg[h]) * z;
            sm = sm - dd(wpos[h]) * z;
        }
    }
    v.resize(r);
    for (int l = 0; l < r; ++l) v[l] = x[l].to_double();
    nrm = n.to_double();
    splus = sp.to_double();
    sminus = sm.to_double();
    return true;
}

}  // namespace

PriceResult price_core(const double* H, int m, int r, bool integral, const double* wpos,
                       const double* wneg, const double* emask, int dm, int top_k, int threads,
                       std::atomic<bool>& cancel, const std::function<bool()>& poll) {
    PriceResult out;
    if (top_k < 1) top_k = 1;
    std::vector<TaskState> st;
    auto consider = [&](TaskState& s, const std::vector<double>& v, double score, double norm,
                        long long order, const LineRef* L) {
        Cand c{std::fabs(score), score, order, norm, {}, {}};
        bool take = static_cast<int>(s.heap.size()) < top_k || Worse()(c, s.heap.top());
        if (!take) return;
        c.v = v;
        if (L) {
            c.inc = L->node->S;
            const Sweep& sw = *L->sweep;
            for (int p = sw.cls_start[L->cls]; p < sw.cls_start[L->cls + 1]; ++p)
                c.inc.push_back(sw.items[p]);
            std::sort(c.inc.begin(), c.inc.end());
        }
        if (static_cast<int>(s.heap.size()) >= top_k) s.heap.pop();
        s.heap.push(std::move(c));
    };
    auto l1norm = [&](const std::vector<double>& v) {
        double nrm = 0;
        for (int i = 0; i < dm; ++i) {
            double s = 0;
            for (int j = 0; j < r; ++j) s += emask[static_cast<std::size_t>(i) * r + j] * v[j];
            nrm += std::fabs(s);
        }
        return nrm;
    };
    if (r == 1) {
        // a single line: theta = +-e
        st.resize(1);
        for (int sgn = 1; sgn >= -1; sgn -= 2) {
            std::vector<double> v{static_cast<double>(sgn)};
            double score = 0;
            for (int h = 0; h < m; ++h) {
                double s = H[h] * sgn;
                score += s > 0 ? wpos[h] * s : -wneg[h] * s;
            }
            double nrm = l1norm(v);
            if (nrm == 0) { st[0].skipped++; continue; }
            st[0].priced++;
            consider(st[0], v, score / nrm, nrm, sgn > 0 ? 0 : 1, nullptr);
        }
    } else if (r >= 2) {
        walk_lines(
            H, m, r, integral, threads, cancel, poll, [&](int nt) { st.resize(nt); },
            [&](int task, const LineRef& L) {
                TaskState& s = st[task];
                const Sweep& sw = *L.sweep;
                int ni = static_cast<int>(sw.items.size());
                if (s.sw_id != sw.id) {
                    // new 2-flat: prefix sums over the sorted items
                    s.sw_id = sw.id;
                    s.preA.assign(2 * (ni + 1), 0.0);
                    s.preB.assign(2 * (ni + 1), 0.0);
                    s.preC.assign(2 * (ni + 1), 0.0);
                    s.preD.assign(2 * (ni + 1), 0.0);
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
                        s.preA[2 * p + 2] = s.preA[2 * p] + kf * q0;
                        s.preA[2 * p + 3] = s.preA[2 * p + 1] + kf * q1;
                        s.preB[2 * p + 2] = s.preB[2 * p] + km * q0;
                        s.preB[2 * p + 3] = s.preB[2 * p + 1] + km * q1;
                        s.preC[2 * p + 2] = s.preC[2 * p] + lf * q0;
                        s.preC[2 * p + 3] = s.preC[2 * p + 1] + lf * q1;
                        s.preD[2 * p + 2] = s.preD[2 * p] + lm * q0;
                        s.preD[2 * p + 3] = s.preD[2 * p + 1] + lm * q1;
                    }
                    s.S1 = s.S2 = 0;
                    for (int p = 0; p < ni; ++p) {
                        int h = sw.items[p];
                        double W = std::fabs(wpos[h]) + std::fabs(wneg[h]);
                        s.S1 += W * (std::fabs(sw.q[2 * p]) + std::fabs(sw.q[2 * p + 1]));
                        s.S2 += W * (sw.qerr[2 * p] + sw.qerr[2 * p + 1]);
                    }
                    s.S1 *= 1.0 + 1e-12;
                    s.S2 *= 1.0 + 1e-12;
                }
                int a = sw.cls_start[L.cls], b = sw.cls_start[L.cls + 1];
                double f = sw.flip[a];
                double al = f * sw.q[2 * a + 1], be = -f * sw.q[2 * a];  // v = al N0 + be N1
                // +v: before with K(f), after with K(-f)
                double cp0 = s.preA[2 * a] + (s.preB[2 * ni] - s.preB[2 * b]);
                double cp1 = s.preA[2 * a + 1] + (s.preB[2 * ni + 1] - s.preB[2 * b + 1]);
                double cm0 = s.preC[2 * a] + (s.preD[2 * ni] - s.preD[2 * b]);
                double cm1 = s.preC[2 * a + 1] + (s.preD[2 * ni + 1] - s.preD[2 * b + 1]);
                double splus = cp0 * al + cp1 * be;
                double sminus = cm0 * al + cm1 * be;
                std::vector<double> v(r);
                line_direction(L, r, v.data());
                double nrm = l1norm(v);
                long long order = (static_cast<long long>(task) << 32) + 2 * s.seq;
                ++s.seq;
                // certified bounds on the errors of the numerators and of the norm
                double ea = sw.qerr[2 * a + 1], eb = sw.qerr[2 * a];
                double aab = std::fabs(al) + std::fabs(be);
                double gam = (ni + 8) * 2.0 * kUnit;
                double enum_ = s.S1 * aab * gam + s.S2 * (aab + ea + eb) + s.S1 * (ea + eb);
                const double* N0 = L.node->N.data();
                const double* N1 = N0 + r;
                const double* E0 = L.node->Nerr.data();
                const double* E1 = E0 + r;
                double enrm = 0;
                for (int i = 0; i < dm; ++i) {
                    const double* em = emask + static_cast<std::size_t>(i) * r;
                    for (int j = 0; j < r; ++j) {
                        double ej = std::fabs(al) * E0[j] + ea * (std::fabs(N0[j]) + E0[j]) +
                                    std::fabs(be) * E1[j] + eb * (std::fabs(N1[j]) + E1[j]) +
                                    gam * (std::fabs(al * N0[j]) + std::fabs(be * N1[j]));
                        enrm += std::fabs(em[j]) * ej;
                    }
                }
                enrm = enrm * (1.0 + 1e-9) + (dm * r + 2) * kUnit * nrm;
                double T = static_cast<int>(s.heap.size()) < top_k ? 0.0 : s.heap.top().absval;
                double big = std::max(std::fabs(splus), std::fabs(sminus));
                double upper = nrm > enrm ? (big + enum_) / (nrm - enrm) : HUGE_VAL;
                bool uncertain = upper > T && (upper - big / std::max(nrm, 1e-300)) > 1e-7 * upper;
                if (uncertain) {
                    std::vector<int> inc = L.node->S;
                    for (int p = a; p < b; ++p) inc.push_back(sw.items[p]);
                    std::sort(inc.begin(), inc.end());
                    std::vector<double> vr;
                    double sp, sm, nr;
                    if (rescore_line(H, m, r, wpos, wneg, emask, dm, inc, vr, sp, sm, nr)) {
                        // orientation of vr relative to v is irrelevant: both rays are kept
                        ++s.rescored;
                        v = std::move(vr);
                        splus = sp;
                        sminus = sm;
                        nrm = nr > 0 ? nr : 0.0;
                    }
                }
                if (nrm == 0) {
                    s.skipped += 2;
                    return;
                }
                s.priced += 2;
                consider(s, v, splus / nrm, nrm, order, &L);
                std::vector<double> vm(r);
                for (int j = 0; j < r; ++j) vm[j] = -v[j];
                consider(s, vm, sminus / nrm, nrm, order + 1, &L);
            });
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
    std::sort(all.begin(), all.end(), [](const Cand& a, const Cand& b) {
        if (a.absval != b.absval) return a.absval > b.absval;
        return a.order < b.order;
    });
    if (static_cast<int>(all.size()) > top_k) all.resize(top_k);
    for (auto& c : all) {
        out.scores.push_back(c.score);
        out.dirs.insert(out.dirs.end(), c.v.begin(), c.v.end());
        out.norms.push_back(c.norm);
        out.incs.push_back(c.inc);
    }
    return out;
}

}  // namespace exactrelu
