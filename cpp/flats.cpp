// Preprocessing (docs/design.md, section 2): rows scaled by powers of two, exactly
// parallel rows merged into one hyperplane, the exact rank and essential columns by a
// greedy exact basis, and the embedding of essential coordinates into the row space.
#include "flats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>

namespace exactrelu {
namespace {

// A row whose nonzero entries span at most this many binary orders of magnitude (from
// the lowest set bit to the highest) is scaled to integers: below 2^24 each, so the
// minors of small matrices of them stay exact in doubles.
constexpr int kIntegerBits = 24;
// Up to this size a determinant is first tried through the float minor table (whose
// cost grows as 2^k); larger ones go straight to the exact routine.
constexpr int kMaxFilteredDet = 14;
// FNV-1a, 64-bit: offset basis and prime, for the keys of parallel-row buckets.
constexpr std::uint64_t kFnvOffset = 1469598103934665603ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

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
        double err = (std::fabs(ph) + std::fabs(qh)) * 4 * kUnit + kTinyBound;
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
    if (emax - emin <= kIntegerBits) {  // small integers after scaling
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
    if (k <= kMaxFilteredDet) {
        MinorTable mt;
        mt.compute(m.data(), k, k, false);
        uint32_t full = (1u << k) - 1;
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
    std::sort(pcols.begin(), pcols.end());
    return static_cast<int>(basis.size());
}

// Hash of a nonzero row divided by its first nonzero entry v[c] (correctly rounded, so
// equal for exactly parallel rows), which also encodes the zero pattern.
std::size_t direction_key(const double* v, int D, int c) {
    std::size_t hsh = kFnvOffset;
    for (int j = 0; j < D; ++j) {
        double kv = v[j] / std::fabs(v[c]) * (v[c] > 0 ? 1.0 : -1.0);
        if (kv == 0.0) kv = 0.0;  // fold -0
        uint64_t bits;
        std::memcpy(&bits, &kv, sizeof bits);
        hsh = (hsh ^ bits) * kFnvPrime;
    }
    return hsh;
}

// Step 1: scale every row (in `scaled`), merge exactly parallel rows. Fills hp.row_h,
// hp.h_first_row and hp.m; `scale` and `integ` receive each row's scale and integrality.
void dedupe_rows(Hyperplanes& hp, std::vector<double>& scaled, std::vector<double>& scale,
                 std::vector<char>& integ) {
    const int n = hp.n, D = hp.D;
    std::vector<int>& rep_rows = hp.h_first_row;  // original row of each representative
    std::unordered_map<std::size_t, std::vector<int>> buckets;
    for (int i = 0; i < n; ++i) {
        double* v = scaled.data() + static_cast<std::size_t>(i) * D;
        bool integral;
        scale[i] = scale_row(v, D, integral);
        integ[i] = integral;
        int c = -1;
        for (int j = 0; j < D; ++j)
            if (v[j] != 0.0) { c = j; break; }
        if (c < 0) continue;  // zero row: no hyperplane
        auto& bucket = buckets[direction_key(v, D, c)];
        int found = -1;
        for (int h : bucket) {
            const double* p = scaled.data() + static_cast<std::size_t>(rep_rows[h]) * D;
            if (parallel_sign(v, p, D) != 0) { found = h; break; }
        }
        if (found < 0) {
            found = static_cast<int>(rep_rows.size());
            rep_rows.push_back(i);
            bucket.push_back(found);
        }
        hp.row_h[i] = found;
    }
    hp.m = static_cast<int>(rep_rows.size());
}

// Step 4: the embedding of essential coordinates into the row space,
// u_J -> B^T (B B^T)^-1 B[:, J] u_J, with B the (normalized) basis rows.
void compute_embedding(Hyperplanes& hp, const std::vector<const double*>& reps) {
    const int D = hp.D, r = hp.r;
    hp.embed.assign(static_cast<std::size_t>(D) * r, 0.0);
    if (r == D) {
        for (int t = 0; t < r; ++t) hp.embed[static_cast<std::size_t>(hp.cols[t]) * r + t] = 1.0;
        return;
    }
    if (r == 0) return;
    // B: r basis rows (original scale irrelevant); G = B B^T (r x r)
    std::vector<double> B(static_cast<std::size_t>(r) * D);
    for (int i = 0; i < r; ++i) {
        const double* v = reps[hp.basis[i]];
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
            rhs[i * r + j] = B[i * D + hp.cols[j]];  // B[:, J]
        }
    // solve G Y = rhs (Gauss-Jordan with partial pivoting)
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

}  // namespace

void Hyperplanes::embed_vector(const double* v, double* out) const {
    for (int j = 0; j < D; ++j) {
        double s = 0;
        for (int t = 0; t < r; ++t) s += embed[static_cast<std::size_t>(j) * r + t] * v[t];
        out[j] = s;
    }
}

Hyperplanes preprocess(const double* A, int n, int D) {
    Hyperplanes hp;
    hp.n = n;
    hp.D = D;
    hp.row_h.assign(n, -1);
    hp.row_scale.assign(n, 0.0);
    std::vector<double> scaled(A, A + static_cast<std::size_t>(n) * D);
    std::vector<double> scale(n, 1.0);
    std::vector<char> integ(n, 1);
    dedupe_rows(hp, scaled, scale, integ);
    const std::vector<int>& rep_rows = hp.h_first_row;
    // Step 2: exact rank and essential columns from the representatives
    std::vector<const double*> reps;
    for (int r0 : rep_rows) reps.push_back(scaled.data() + static_cast<std::size_t>(r0) * D);
    hp.r = greedy_rank(reps, D, hp.basis, hp.cols);
    const int r = hp.r;
    hp.h.assign(static_cast<std::size_t>(hp.m) * r, 0.0);
    bool all_int = true;
    for (int k = 0; k < hp.m; ++k) {
        for (int t = 0; t < r; ++t) hp.h[static_cast<std::size_t>(k) * r + t] = reps[k][hp.cols[t]];
        all_int = all_int && integ[rep_rows[k]];
    }
    hp.integral = all_int && all_small_integers(hp.h.data(), hp.h.size());
    // Step 3: per-row scale relative to its representative (float; used only for values):
    // A[i] = (row[c] / rep[c]) * A[rep]  and  h[k] = A[rep][cols] * scale[rep]
    for (int i = 0; i < n; ++i) {
        int k = hp.row_h[i];
        if (k < 0) continue;
        const double* rep = A + static_cast<std::size_t>(rep_rows[k]) * D;
        const double* row = A + static_cast<std::size_t>(i) * D;
        int c = 0;
        while (rep[c] == 0.0) ++c;
        hp.row_scale[i] = (row[c] / rep[c]) / scale[rep_rows[k]];
    }
    compute_embedding(hp, reps);
    return hp;
}

int essentialize_rows(const HypMatrix& hm, const std::vector<int>& rows, std::vector<double>& out,
                      std::vector<int>& pcols) {
    std::vector<const double*> ptrs;
    for (int i : rows) ptrs.push_back(hm.row(i));
    std::vector<int> basis;
    int k = greedy_rank(ptrs, hm.r, basis, pcols);
    out.assign(rows.size() * static_cast<std::size_t>(k), 0.0);
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (int t = 0; t < k; ++t) out[i * k + t] = ptrs[i][pcols[t]];
    return k;
}

}  // namespace exactrelu
