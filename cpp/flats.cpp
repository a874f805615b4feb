#include "flats.hpp"
#include "ddouble.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <cstring>
#include <unordered_map>

namespace exactrelu {
namespace {

// Exact test: are rows p and q (length D) parallel (p = lambda q)? Returns the sign of
// lambda, or 0 when not parallel.
int parallel_sign(const double* p, const double* q, int D) {
    int c = -1;
    for (int j = 0; j < D; ++j) {
        if ((p[j] == 0.0) != (q[j] == 0.0)) return 0;
        if (c < 0 && p[j] != 0.0) c = j;
    }
    if (c < 0) return 0;
    for (int j = 0; j < D; ++j) {
        if (j == c || p[j] == 0.0) continue;
        double m[4] = {p[c], p[j], q[c], q[j]};
        double ph = p[c] * q[j], qh = p[j] * q[c];
        double err = (std::fabs(ph) + std::fabs(qh)) * 4 * kUnit + 1e-300;
        if (std::fabs(ph - qh) > err) return 0;
        if (det_sign_exact(m, 2) != 0) return 0;
    }
    return ((p[c] > 0) == (q[c] > 0)) ? 1 : -1;
}

// Scale a row by a power of two: to small integers when it is dyadic with a small
// range, otherwise so that its largest entry lies in [1, 2).
double scale_row(double* v, int D, bool& integral) {
    int emin = 1 << 30, emax = -(1 << 30);
    double amax = 0.0;
    for (int j = 0; j < D; ++j) {
        if (v[j] == 0.0) continue;
        amax = std::max(amax, std::fabs(v[j]));
        int ex;
        double f = std::frexp(v[j], &ex);
        int64_t m = static_cast<int64_t>(std::ldexp(f, 53));
        int e = ex - 53;
        while ((m & 1) == 0) { m >>= 1; ++e; }
        emin = std::min(emin, e);
        emax = std::max(emax, ex);
    }
    integral = false;
    if (amax == 0.0) return 1.0;
    int shift;
    if (emax - emin <= 24) {  // small integers after scaling
        shift = -emin;
        integral = true;
    } else {
        int ex;
        std::frexp(amax, &ex);  // amax in [2^(ex-1), 2^ex)
        shift = 1 - ex;
    }
    double s = std::ldexp(1.0, shift);
    for (int j = 0; j < D; ++j) v[j] = std::ldexp(v[j], shift);
    return s;
}

// Exact sign of the determinant of rows `rows` (each length D) restricted to `cols`.
int sub_det_sign(const std::vector<const double*>& rows, const std::vector<int>& cols) {
    int k = static_cast<int>(cols.size());
    std::vector<double> m(static_cast<std::size_t>(k) * k);
    for (int i = 0; i < k; ++i)
        for (int j = 0; j < k; ++j) m[i * k + j] = rows[i][cols[j]];
    if (k <= 14) {
        MinorTable mt;
        mt.compute(m.data(), k, k, false);
        uint32_t full = (k == 32) ? 0xffffffffu : ((1u << k) - 1);
        double v = mt.val[full], e = mt.err[full];
        if (v > e) return 1;
        if (v < -e) return -1;
    }
    return det_sign_exact(m.data(), k);
}

// Greedy exact row basis and pivot columns of the given rows (length D each).
int greedy_rank(const std::vector<const double*>& rows, int D, std::vector<int>& basis,
                std::vector<int>& pcols) {
    basis.clear();
    pcols.clear();
    for (int i = 0; i < static_cast<int>(rows.size()); ++i) {
        if (static_cast<int>(basis.size()) == D) break;
        std::vector<const double*> rr;
        for (int b : basis) rr.push_back(rows[b]);
        rr.push_back(rows[i]);
        for (int l = 0; l < D; ++l) {
            if (std::find(pcols.begin(), pcols.end(), l) != pcols.end()) continue;
            std::vector<int> cc = pcols;
            cc.push_back(l);
            if (sub_det_sign(rr, cc) != 0) {
                basis.push_back(i);
                pcols.push_back(l);
                break;
            }
        }
    }
    std::vector<int> sorted = pcols;
    std::sort(sorted.begin(), sorted.end());
    pcols = sorted;
    return static_cast<int>(basis.size());
}

}  // namespace

namespace {

// Copy of row `i` of A scaled by a power of two so that its largest entry is in [0.5, 1).
void scaled_row_dd(const double* A, int D, int i, dd* out) {
    const double* a = A + static_cast<std::size_t>(i) * D;
    double an = 0;
    for (int l = 0; l < D; ++l) an = std::max(an, std::fabs(a[l]));
    int ex = 0;
    if (an > 0) std::frexp(an, &ex);
    for (int l = 0; l < D; ++l) out[l] = dd(std::ldexp(a[l], -ex));
}

}  // namespace

bool refine_line_direction(const Hyperplanes& hp, const double* A, const int* hyps, int k,
                           const double* approx, double* out) {
    int D = hp.D, r = hp.r;
    if (r < 1) return false;
    std::vector<dd> x;
    if (r == D) {
        std::vector<dd> M(static_cast<std::size_t>(k) * D);
        for (int j = 0; j < k; ++j) scaled_row_dd(A, D, hp.h_first_row[hyps[j]], M.data() + j * D);
        if (!dd_null_vector(M, k, D, x)) return false;
    } else {
        // orthonormal basis Q (r x D) of the row space: Gram-Schmidt, twice, in dd
        std::vector<dd> Q(static_cast<std::size_t>(r) * D);
        for (int i = 0; i < r; ++i) {
            dd* q = Q.data() + i * D;
            scaled_row_dd(A, D, hp.h_first_row[hp.basis[i]], q);
            for (int pass = 0; pass < 2; ++pass)
                for (int p = 0; p < i; ++p) {
                    const dd* qp = Q.data() + p * D;
                    dd s(0.0);
                    for (int l = 0; l < D; ++l) s = s + q[l] * qp[l];
                    for (int l = 0; l < D; ++l) q[l] = q[l] - s * qp[l];
                }
            dd nn(0.0);
            for (int l = 0; l < D; ++l) nn = nn + q[l] * q[l];
            double nrm = std::sqrt(nn.to_double());
            if (!(nrm > 0)) return false;
            // one Newton step for an accurate 1/sqrt in dd
            dd inv(1.0 / nrm);
            inv = inv + inv * (dd(1.0) - nn * inv * inv) * dd(0.5);
            for (int l = 0; l < D; ++l) q[l] = q[l] * inv;
        }
        std::vector<dd> C(static_cast<std::size_t>(k) * r), row(D);
        for (int j = 0; j < k; ++j) {
            scaled_row_dd(A, D, hp.h_first_row[hyps[j]], row.data());
            for (int i = 0; i < r; ++i) {
                dd s(0.0);
                for (int l = 0; l < D; ++l) s = s + row[l] * Q[i * D + l];
                C[j * r + i] = s;
            }
        }
        std::vector<dd> y;
        if (!dd_null_vector(C, k, r, y)) return false;
        x.assign(D, dd(0.0));
        for (int i = 0; i < r; ++i)
            for (int l = 0; l < D; ++l) x[l] = x[l] + y[i] * Q[i * D + l];
    }
    dd nn(0.0);
    double dot = 0;
    for (int l = 0; l < D; ++l) {
        nn = nn + x[l] * x[l];
        dot += x[l].hi * approx[l];
    }
    double nrm = std::sqrt(nn.to_double());
    if (!(nrm > 0)) return false;
    dd inv(1.0 / nrm);
    inv = inv + inv * (dd(1.0) - nn * inv * inv) * dd(0.5);
    if (dot < 0) inv = -inv;
    for (int l = 0; l < D; ++l) out[l] = (x[l] * inv).to_double();
    return true;
}

Hyperplanes preprocess(const double* A, int n, int D) {
    Hyperplanes hp;
    hp.n = n;
    hp.D = D;
    std::vector<double> scaled(A, A + static_cast<std::size_t>(n) * D);
    std::vector<double> scale(n, 1.0);
    std::vector<char> integ(n, 1);
    hp.row_h.assign(n, -1);
    hp.row_scale.assign(n, 0.0);
    std::vector<int> rep_rows;  // original row of each representative
    std::unordered_map<std::size_t, std::vector<int>> buckets;
    std::vector<double> key(D);
    for (int i = 0; i < n; ++i) {
        double* v = scaled.data() + static_cast<std::size_t>(i) * D;
        bool integral;
        scale[i] = scale_row(v, D, integral);
        integ[i] = integral;
        int c = -1;
        for (int j = 0; j < D; ++j)
            if (v[j] != 0.0) { c = j; break; }
        if (c < 0) continue;  // zero row: no hyperplane
        // key: the row divided by its first nonzero entry (correctly rounded, so equal
        // for exactly parallel rows), plus the zero pattern.
        std::size_t hsh = 1469598103934665603ull;
        for (int j = 0; j < D; ++j) {
            double kv = v[j] / std::fabs(v[c]) * (v[c] > 0 ? 1.0 : -1.0);
            if (kv == 0.0) kv = 0.0;  // fold -0
            uint64_t bits;
            std::memcpy(&bits, &kv, sizeof bits);
            hsh = (hsh ^ bits) * 1099511628211ull;
        }
        auto& bucket = buckets[hsh];
        int found = -1, sg = 0;
        for (int h : bucket) {
            const double* p = scaled.data() + static_cast<std::size_t>(rep_rows[h]) * D;
            sg = parallel_sign(v, p, D);
            if (sg != 0) { found = h; break; }
        }
        if (found < 0) {
            found = static_cast<int>(rep_rows.size());
            rep_rows.push_back(i);
            bucket.push_back(found);
            sg = 1;
        }
        hp.row_h[i] = found;
        // A[i] = lambda * rep, lambda = sign * |A[i, c]| / |rep_orig[c]|; stored later
        (void)sg;
    }
    hp.m = static_cast<int>(rep_rows.size());
    hp.h_first_row = rep_rows;
    // exact rank and essential columns from the representatives
    std::vector<const double*> reps;
    for (int r0 : rep_rows) reps.push_back(scaled.data() + static_cast<std::size_t>(r0) * D);
    std::vector<int> basis, pcols;
    hp.r = greedy_rank(reps, D, basis, pcols);
    hp.cols = pcols;
    hp.basis = basis;
    int r = hp.r;
    hp.h.assign(static_cast<std::size_t>(hp.m) * r, 0.0);
    bool all_int = true;
    for (int k = 0; k < hp.m; ++k) {
        const double* v = reps[k];
        for (int t = 0; t < r; ++t) hp.h[static_cast<std::size_t>(k) * r + t] = v[pcols[t]];
        all_int = all_int && integ[rep_rows[k]];
    }
    hp.integral = all_int && all_small_integers(hp.h.data(), hp.h.size());
    // per-row scale relative to its representative (float; used only for values)
    for (int i = 0; i < n; ++i) {
        int k = hp.row_h[i];
        if (k < 0) continue;
        const double* rep = A + static_cast<std::size_t>(rep_rows[k]) * D;
        const double* row = A + static_cast<std::size_t>(i) * D;
        int c = 0;
        while (rep[c] == 0.0) ++c;
        // A[i] = (row[c] / rep[c]) * A[rep]; h[k] = A[rep][cols] * scale[rep]
        hp.row_scale[i] = (row[c] / rep[c]) / scale[rep_rows[k]];
    }
    // embedding of essential coordinates into the row space: u_J -> B^T (B B^T)^-1 B[:,J] u_J
    hp.embed.assign(static_cast<std::size_t>(D) * r, 0.0);
    if (r == D) {
        for (int t = 0; t < r; ++t) hp.embed[static_cast<std::size_t>(pcols[t]) * r + t] = 1.0;
    } else if (r > 0) {
        // B: r basis rows (original scale irrelevant); G = B B^T (r x r)
        std::vector<double> B(static_cast<std::size_t>(r) * D);
        for (int i = 0; i < r; ++i) {
            const double* v = reps[basis[i]];
            double nrm = 0.0;
            for (int j = 0; j < D; ++j) nrm += v[j] * v[j];
            nrm = std::sqrt(nrm);
            for (int j = 0; j < D; ++j) B[i * D + j] = v[j] / nrm;
        }
        std::vector<double> G(static_cast<std::size_t>(r) * r), rhs(static_cast<std::size_t>(r) * r);
        for (int i = 0; i < r; ++i)
            for (int j = 0; j < r; ++j) {
                double s = 0;
                for (int l = 0; l < D; ++l) s += B[i * D + l] * B[j * D + l];
                G[i * r + j] = s;
                rhs[i * r + j] = B[i * D + pcols[j]];  // B[:, J]
            }
        // solve G Y = rhs (Gaussian elimination with partial pivoting)
        for (int cidx = 0; cidx < r; ++cidx) {
            int piv = cidx;
            for (int i = cidx + 1; i < r; ++i)
                if (std::fabs(G[i * r + cidx]) > std::fabs(G[piv * r + cidx])) piv = i;
            for (int j = 0; j < r; ++j) {
                std::swap(G[cidx * r + j], G[piv * r + j]);
                std::swap(rhs[cidx * r + j], rhs[piv * r + j]);
            }
            for (int i = 0; i < r; ++i) {
                if (i == cidx) continue;
                double f = G[i * r + cidx] / G[cidx * r + cidx];
                for (int j = 0; j < r; ++j) {
                    G[i * r + j] -= f * G[cidx * r + j];
                    rhs[i * r + j] -= f * rhs[cidx * r + j];
                }
            }
        }
        for (int i = 0; i < r; ++i)
            for (int j = 0; j < r; ++j) rhs[i * r + j] /= G[i * r + i];
        // embed = B^T Y   (D x r)
        for (int l = 0; l < D; ++l)
            for (int j = 0; j < r; ++j) {
                double s = 0;
                for (int i = 0; i < r; ++i) s += B[i * D + l] * rhs[i * r + j];
                hp.embed[static_cast<std::size_t>(l) * r + j] = s;
            }
    }
    return hp;
}

int essentialize_rows(const double* H, int r, const std::vector<int>& rows, bool integral,
                      std::vector<double>& out, std::vector<int>& pcols) {
    (void)integral;
    std::vector<const double*> ptrs;
    for (int i : rows) ptrs.push_back(H + static_cast<std::size_t>(i) * r);
    std::vector<int> basis;
    int k = greedy_rank(ptrs, r, basis, pcols);
    out.assign(rows.size() * static_cast<std::size_t>(k), 0.0);
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (int t = 0; t < k; ++t) out[i * k + t] = ptrs[i][pcols[t]];
    return k;
}

// ----------------------------------------------------------------------------------
FlatWalker::FlatWalker(const double* H, int r, bool integral, std::vector<int> rows, int maxc,
                       const std::atomic<bool>* cancel)
    : H_(H), r_(r), integral_(integral), rows_(std::move(rows)), maxc_(maxc), cancel_(cancel) {}

Node FlatWalker::root() const {
    Node nd;
    nd.c = 0;
    set_generators(nd);
    return nd;
}

void FlatWalker::set_generators(Node& nd) const {
    int c = nd.c, r = r_;
    std::vector<double> Trows(static_cast<std::size_t>(c) * r);
    for (int i = 0; i < c; ++i)
        std::copy(row(nd.T[i]), row(nd.T[i]) + r, Trows.begin() + static_cast<std::ptrdiff_t>(i) * r);
    MinorTable mt;
    mt.compute(Trows.data(), c, r, integral_);
    // pivot: the c-subset of columns with the largest certified minor
    uint32_t best = 0;
    double bestv = -1.0;
    uint32_t full = (1u << r);
    for (uint32_t mask = 0; mask < full; ++mask) {
        if (__builtin_popcount(mask) != c) continue;
        double v = std::fabs(mt.val[mask]);
        if (v > mt.err[mask] && v > bestv) { bestv = v; best = mask; }
    }
    int dsg = 0;
    if (bestv < 0.0) {
        // nothing certified by the filter: exact search
        for (uint32_t mask = 0; mask < full && dsg == 0; ++mask) {
            if (__builtin_popcount(mask) != c) continue;
            std::vector<double> m(static_cast<std::size_t>(c) * c);
            int jj = 0;
            for (int j = 0; j < r; ++j) {
                if (!(mask & (1u << j))) continue;
                for (int i = 0; i < c; ++i) m[i * c + jj] = Trows[static_cast<std::size_t>(i) * r + j];
                ++jj;
            }
            dsg = det_sign_exact(m.data(), c);
            if (dsg != 0) best = mask;
        }
        if (dsg == 0) throw NumericalFailure("flat basis is singular (internal error)");
    } else {
        dsg = mt.val[best] > 0 ? 1 : -1;
    }
    nd.det_sign = dsg;
    nd.J.clear();
    nd.free_cols.clear();
    for (int j = 0; j < r; ++j) ((best & (1u << j)) ? nd.J : nd.free_cols).push_back(j);
    int e = r - c;
    nd.N.assign(static_cast<std::size_t>(e) * r, 0.0);
    nd.Nerr.assign(static_cast<std::size_t>(e) * r, 0.0);
    for (int li = 0; li < e; ++li) {
        int l = nd.free_cols[li];
        uint32_t cols = best | (1u << l);
        for (int j = 0; j < r; ++j) {
            if (!(cols & (1u << j))) continue;
            int pos = __builtin_popcount(cols & ((1u << j) - 1));
            double sg = ((c + pos) & 1) ? -1.0 : 1.0;
            uint32_t sub = cols & ~(1u << j);
            nd.N[static_cast<std::size_t>(li) * r + j] = sg * mt.val[sub];
            nd.Nerr[static_cast<std::size_t>(li) * r + j] = mt.err[sub];
        }
    }
}

int FlatWalker::coord_sign(const Node& nd, const double* a, int li, double val, double err) const {
    if (val > err) return 1;
    if (val < -err) return -1;
    // exact: det([T; a] on sorted(J + {l}))
    int c = nd.c, k = c + 1;
    int l = nd.free_cols[li];
    std::vector<int> cols = nd.J;
    cols.push_back(l);
    std::sort(cols.begin(), cols.end());
    std::vector<double> m(static_cast<std::size_t>(k) * k);
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < k; ++j) m[i * k + j] = row(nd.T[i])[cols[j]];
    for (int j = 0; j < k; ++j) m[c * k + j] = a[cols[j]];
    return det_sign_exact(m.data(), k);
}

namespace {
struct SweepScratch {
    std::vector<char> inS;
    std::vector<int> items, first, order;
    std::vector<double> q, qerr, key;
    std::vector<signed char> flip;
    struct Ent {
        int first;
        double k0;
        int idx;
    };
    std::vector<Ent> ents;
};
}  // namespace

void FlatWalker::sweep(const Node& nd, Sweep& sw) const {
    static std::atomic<uint64_t> next_id{1};
    sw.id = next_id.fetch_add(1, std::memory_order_relaxed);
    const int r = r_, e = r - nd.c;
    sw.e = e;
    const int nrows = static_cast<int>(rows_.size());
    thread_local SweepScratch sc;
    sc.inS.assign(nrows, 0);
    for (int s : nd.S) sc.inS[s] = 1;
    sc.items.resize(nrows);
    sc.first.resize(nrows);
    sc.flip.resize(nrows);
    sc.q.resize(static_cast<std::size_t>(nrows) * e);
    sc.qerr.resize(static_cast<std::size_t>(nrows) * e);
    int ni = 0;
    const double* Nd = nd.N.data();
    const double* Ned = nd.Nerr.data();
    for (int s = 0; s < nrows; ++s) {
        if (sc.inS[s]) continue;
        const double* a = row(s);
        double* qv = sc.q.data() + static_cast<std::size_t>(ni) * e;
        double* qe = sc.qerr.data() + static_cast<std::size_t>(ni) * e;
        for (int li = 0; li < e; ++li) {
            const double* N = Nd + static_cast<std::size_t>(li) * r;
            const double* Ne = Ned + static_cast<std::size_t>(li) * r;
            double v = 0, sabs = 0, eb = 0;
            for (int j = 0; j < r; ++j) {
                double p = a[j] * N[j];
                v += p;
                sabs += std::fabs(p);
                eb += std::fabs(a[j]) * Ne[j];
            }
            double err;
            if (integral_ && eb == 0.0 && sabs < kTwo52) {
                err = 0.0;
            } else {
                err = (eb * (1 + 4 * r * kUnit) + sabs * (r + 2) * kUnit) * 1.000001 + 1e-300;
            }
            qv[li] = v;
            qe[li] = err;
        }
        int fz = -1, fs = 0;
        for (int li = 0; li < e; ++li) {
            int sg = (qe[li] == 0.0) ? (qv[li] > 0 ? 1 : (qv[li] < 0 ? -1 : 0))
                                     : coord_sign(nd, a, li, qv[li], qe[li]);
            if (sg != 0) { fz = li; fs = sg; break; }
        }
        if (fz < 0) continue;  // contains the flat (cannot happen: S is complete)
        sc.items[ni] = s;
        sc.flip[ni] = static_cast<signed char>(fs);
        sc.first[ni] = fz;
        ++ni;
    }
    const int* items = sc.items.data();
    const int* first = sc.first.data();
    const signed char* flip = sc.flip.data();
    const double* q = sc.q.data();
    const double* qerr = sc.qerr.data();
    auto cmp3 = [&](int i, int j) -> int {  // -1: i before j, 0 equal, 1 after
        if (first[i] != first[j]) return first[i] < first[j] ? -1 : 1;
        int c0 = first[i];
        const double* qi = q + static_cast<std::size_t>(i) * e;
        const double* qj = q + static_cast<std::size_t>(j) * e;
        const double* ei = qerr + static_cast<std::size_t>(i) * e;
        const double* ej = qerr + static_cast<std::size_t>(j) * e;
        for (int k = c0 + 1; k < e; ++k) {
            int sg = minor2_raw(nd, e, qi, ei, items[i], qj, ej, items[j], k, c0) * flip[i] * flip[j];
            if (sg < 0) return -1;
            if (sg > 0) return 1;
        }
        return 0;
    };
    // Float keys (first nonzero coordinate, then the ratios q[k] / q[first]) give a
    // nearly sorted order cheaply; an insertion sort with the exact comparator then
    // makes it exact (it only does work where float keys were too close to call).
    sc.key.resize(static_cast<std::size_t>(ni) * e);
    sc.ents.resize(ni);
    for (int i = 0; i < ni; ++i) {
        const double* qi = q + static_cast<std::size_t>(i) * e;
        double* ki = sc.key.data() + static_cast<std::size_t>(i) * e;
        double den = qi[first[i]];
        for (int k = 0; k < e; ++k) ki[k] = k <= first[i] ? 0.0 : qi[k] / den;
        sc.ents[i] = SweepScratch::Ent{first[i], first[i] + 1 < e ? ki[first[i] + 1] : 0.0, i};
    }
    const double* key = sc.key.data();
    std::sort(sc.ents.begin(), sc.ents.end(), [&](const SweepScratch::Ent& x, const SweepScratch::Ent& y) {
        if (x.first != y.first) return x.first < y.first;
        if (x.k0 != y.k0) return x.k0 < y.k0;
        const double* ki = key + static_cast<std::size_t>(x.idx) * e;
        const double* kj = key + static_cast<std::size_t>(y.idx) * e;
        for (int k = x.first + 2; k < e; ++k)
            if (ki[k] != kj[k]) return ki[k] < kj[k];
        return items[x.idx] < items[y.idx];
    });
    sc.order.resize(ni);
    int* order = sc.order.data();
    for (int i = 0; i < ni; ++i) order[i] = sc.ents[i].idx;
    auto exact_less = [&](int i, int j) {
        int c = cmp3(i, j);
        if (c != 0) return c < 0;
        return items[i] < items[j];  // deterministic order inside a class
    };
    for (int p = 1; p < ni; ++p) {
        int x = order[p];
        int t = p;
        while (t > 0 && exact_less(x, order[t - 1])) {
            order[t] = order[t - 1];
            --t;
        }
        order[t] = x;
    }
    sw.items.resize(ni);
    sw.flip.resize(ni);
    sw.q.resize(static_cast<std::size_t>(ni) * e);
    sw.qerr.resize(static_cast<std::size_t>(ni) * e);
    sw.cls_start.clear();
    for (int p = 0; p < ni; ++p) {
        int o = order[p];
        sw.items[p] = items[o];
        sw.flip[p] = flip[o];
        for (int t = 0; t < e; ++t) {
            sw.q[static_cast<std::size_t>(p) * e + t] = q[static_cast<std::size_t>(o) * e + t];
            sw.qerr[static_cast<std::size_t>(p) * e + t] = qerr[static_cast<std::size_t>(o) * e + t];
        }
        if (p == 0 || cmp3(order[p - 1], o) != 0) sw.cls_start.push_back(p);
    }
    sw.cls_start.push_back(ni);
}

int FlatWalker::minor2(const Node& nd, const Sweep& sw, int i, int j, int k, int l) const {
    int e = sw.e;
    return minor2_raw(nd, e, sw.q.data() + static_cast<std::size_t>(i) * e,
                      sw.qerr.data() + static_cast<std::size_t>(i) * e, sw.items[i],
                      sw.q.data() + static_cast<std::size_t>(j) * e,
                      sw.qerr.data() + static_cast<std::size_t>(j) * e, sw.items[j], k, l);
}

int FlatWalker::minor2_raw(const Node& nd, int e, const double* qi, const double* ei, int si,
                           const double* qj, const double* ej, int sj, int k, int l) const {
    (void)e;
    double x1 = qi[k], y2 = qj[l], x2 = qi[l], y1 = qj[k];
    if (ei[k] == 0 && ej[l] == 0 && ei[l] == 0 && ej[k] == 0) {
        double t[4];
        t[0] = x1 * y2;
        t[1] = std::fma(x1, y2, -t[0]);
        t[2] = -(x2 * y1);
        t[3] = -std::fma(x2, y1, -(x2 * y1));
        return sum_sign_exact(t, 4);
    }
    double v = x1 * y2 - x2 * y1;
    double bound = std::fabs(x1) * ej[l] + ei[k] * std::fabs(y2) + ei[k] * ej[l] +
                   std::fabs(x2) * ej[k] + ei[l] * std::fabs(y1) + ei[l] * ej[k] +
                   (std::fabs(x1 * y2) + std::fabs(x2 * y1)) * 3 * kUnit;
    bound = bound * 1.000001 + 1e-300;
    if (v > bound) return 1;
    if (v < -bound) return -1;
    // exact: sigma_k sigma_l det(P) det([T; a_i; a_j] on [J, k, l])
    int c = nd.c, n2 = c + 2;
    int kc = nd.free_cols[k], lc = nd.free_cols[l];
    std::vector<int> cols = nd.J;
    cols.push_back(kc);
    cols.push_back(lc);
    std::vector<double> m(static_cast<std::size_t>(n2) * n2);
    for (int a = 0; a < c; ++a)
        for (int b = 0; b < n2; ++b) m[a * n2 + b] = row(nd.T[a])[cols[b]];
    const double* ai = row(si);
    const double* aj = row(sj);
    for (int b = 0; b < n2; ++b) {
        m[c * n2 + b] = ai[cols[b]];
        m[(c + 1) * n2 + b] = aj[cols[b]];
    }
    int d = det_sign_exact(m.data(), n2);
    int sk = 0, sl = 0;
    for (int jc : nd.J) {
        if (jc > kc) ++sk;
        if (jc > lc) ++sl;
    }
    int sigma = (((sk + sl) & 1) ? -1 : 1);
    return sigma * nd.det_sign * d;
}

bool FlatWalker::canonical(const Node& nd, const Sweep& sw, int cls) const {
    int tlast = nd.T.empty() ? -1 : nd.T.back();
    int mn = 1 << 30;
    for (int p = sw.cls_start[cls]; p < sw.cls_start[cls + 1]; ++p) mn = std::min(mn, sw.items[p]);
    return mn > tlast;
}

Node FlatWalker::child(const Node& nd, const Sweep& sw, int cls) const {
    Node ch;
    ch.c = nd.c + 1;
    int mn = 1 << 30;
    ch.S = nd.S;
    for (int p = sw.cls_start[cls]; p < sw.cls_start[cls + 1]; ++p) {
        mn = std::min(mn, sw.items[p]);
        ch.S.push_back(sw.items[p]);
    }
    std::sort(ch.S.begin(), ch.S.end());
    ch.T = nd.T;
    ch.T.push_back(mn);
    if (ch.c < r_) set_generators(ch);
    return ch;
}

// ----------------------------------------------------------------------------------
namespace {

// Accumulate w_k = sum over flats of codim k of |mu| for k <= maxc.
void count_flats(const FlatWalker& W, const Node& nd, std::vector<uint64_t>& w, const double* H,
                 int r, bool integral) {
    W.check_cancel();
    Sweep sw;
    W.sweep(nd, sw);
    int ncls = static_cast<int>(sw.cls_start.size()) - 1;
    for (int cls = 0; cls < ncls; ++cls) {
        if (!W.canonical(nd, sw, cls)) continue;
        int c = nd.c + 1;
        std::size_t sz = nd.S.size() + static_cast<std::size_t>(sw.cls_start[cls + 1] - sw.cls_start[cls]);
        if (sz == static_cast<std::size_t>(c)) {
            w[c] += 1;
        } else if (c == 2) {
            w[c] += sz - 1;
        } else {
            std::vector<int> S = nd.S;
            for (int p = sw.cls_start[cls]; p < sw.cls_start[cls + 1]; ++p) S.push_back(sw.items[p]);
            std::sort(S.begin(), S.end());
            std::vector<int> glob;
            for (int s : S) glob.push_back(W.rows()[s]);
            w[c] += mobius_abs(H, r, integral, glob, c);
        }
        if (c < W.maxc()) {
            Node ch = W.child(nd, sw, cls);
            count_flats(W, ch, w, H, r, integral);
        }
    }
}

}  // namespace

uint64_t mobius_abs(const double* H, int r, bool integral, const std::vector<int>& rows, int rank) {
    if (rank == 0) return 1;
    if (rank == 1) return 1;
    if (static_cast<int>(rows.size()) == rank) return 1;
    if (rank == 2) return rows.size() - 1;
    FlatWalker W(H, r, integral, rows, rank - 1, nullptr);
    std::vector<uint64_t> w(rank + 1, 0);
    w[0] = 1;
    count_flats(W, W.root(), w, H, r, integral);
    // chi(1) = 0: |mu_top| = |sum_{k<rank} (-1)^k w_k|
    int64_t s = 0;
    for (int k = 0; k < rank; ++k) s += (k & 1) ? -static_cast<int64_t>(w[k]) : static_cast<int64_t>(w[k]);
    return static_cast<uint64_t>(s < 0 ? -s : s);
}

}  // namespace exactrelu
