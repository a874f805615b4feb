// Interior points of cells (docs/design.md, section 2): from a line u = v on the cell's
// boundary, a step w into the cell, u = v + eps w with eps shrunk until the exact
// predicates confirm every sign; for very thin cells a double-double fallback.
#include "witness.hpp"

#include <algorithm>
#include <cmath>

#include "ddouble.hpp"
#include "simd.hpp"

namespace exactrelu {
namespace {

// The first step goes at most half-way to the nearest non-incident hyperplane (in the
// scale where |w|_inf = 1): the other half is margin for rounding.
constexpr double kFirstStep = 0.5;
// Float search: up to kFloatSteps steps, each kStepShrink times the previous one
// (0.25^60 = 2^-120: far below any cell a double point can lie in).
constexpr int kFloatSteps = 60;
constexpr double kStepShrink = 0.25;
// The factor by which the filter's bounds are rounded up (their rounding and that of
// |a|_1, at rank r).
inline double bound_up(int r) { return 1.0 + 2.0 * (r + 4) * kUnit; }
// Double-double search: kDdSteps halvings of the step; at each of the first
// kSearchSteps, doubles near the point scaled by kScales factors spread over [1, 2]
// (scaling moves the rounding grid relative to the cell) and the +-1 ulp neighbours of
// the first kPerturbedCoords coordinates (7,776 candidates at rank 4 and more: on
// nearly rank-deficient data, 25 points, 439 of the 459 doubles that twelve steps found
// were at the first step, 445 are found within two, and each of the 3,224 cells without
// one had cost all 46,656 candidates of twelve steps, 2.4 ms).
constexpr int kDdSteps = 12;
constexpr int kSearchSteps = 2;
constexpr int kScales = 48;
constexpr int kPerturbedCoords = 4;

// Solve the r x r system M x = b in place (partial pivoting); returns false if singular.
// (R > 0: r = R known at compile time, so that the loops unroll; the same operations)
template <int R>
bool solve_small_n(double* __restrict M, double* __restrict b, int r_) {
    const int r = R > 0 ? R : r_;
    for (int c = 0; c < r; ++c) {
        int piv = c;
        for (int i = c + 1; i < r; ++i)
            if (std::fabs(M[i * r + c]) > std::fabs(M[piv * r + c])) piv = i;
        if (M[piv * r + c] == 0.0) return false;
        if (piv != c) {
            for (int j = 0; j < r; ++j) std::swap(M[c * r + j], M[piv * r + j]);
            std::swap(b[c], b[piv]);
        }
        const double inv = 1.0 / M[c * r + c];
        M[c * r + c] = inv;  // (kept for the back substitution)
        for (int i = c + 1; i < r; ++i) {
            const double f = M[i * r + c] * inv;
            for (int j = c + 1; j < r; ++j) M[i * r + j] -= f * M[c * r + j];
            b[i] -= f * b[c];
        }
    }
    for (int i = r - 1; i >= 0; --i) {
        double s = b[i];
        for (int j = i + 1; j < r; ++j) s -= M[i * r + j] * b[j];
        b[i] = s * M[i * r + i];
    }
    return true;
}

bool solve_small(std::vector<double>& M, std::vector<double>& b, int r) {
    switch (r) {
        case 2: return solve_small_n<2>(M.data(), b.data(), r);
        case 3: return solve_small_n<3>(M.data(), b.data(), r);
        case 4: return solve_small_n<4>(M.data(), b.data(), r);
        case 5: return solve_small_n<5>(M.data(), b.data(), r);
        case 6: return solve_small_n<6>(M.data(), b.data(), r);
        default: return solve_small_n<0>(M.data(), b.data(), r);
    }
}

// Exact check that every hyperplane has the sign pat gives it at the point hi + lo
// (each r doubles): a . (hi + lo) as one exact dot product of length 2r.
bool verify_witness2(const HypMatrix& hm, const uint64_t* pat, const double* hi, const double* lo) {
    const int r = hm.r;
    std::vector<double> a2(2 * r), u2(2 * r);
    for (int l = 0; l < r; ++l) {
        u2[l] = hi[l];
        u2[r + l] = lo[l];
    }
    for (int h = 0; h < hm.m; ++h) {
        const double* a = hm.row(h);
        for (int l = 0; l < r; ++l) a2[l] = a2[r + l] = a[l];
        int want = get_bit(pat, h) ? 1 : -1;
        if (dot_sign_exact(a2.data(), u2.data(), 2 * r) != want) return false;
    }
    return true;
}

// Largest step (at most kFirstStep) along w from v that keeps the sign of every
// hyperplane not containing the line, with margin: half of |a.v| / |a.w| where a.w
// opposes a.v. Computed in double-double.
double max_step_dd(const HypMatrix& hm, const CellLine& cl, const std::vector<dd>& v, const double* w) {
    const int r = hm.r;
    double eps = kFirstStep;
    int jj = 0;
    for (int h = 0; h < hm.m; ++h) {
        if (jj < cl.k && cl.inc[jj] == h) { ++jj; continue; }
        const double* a = hm.row(h);
        dd dv(0.0), dw(0.0);
        for (int l = 0; l < r; ++l) {
            dv = dv + dd(a[l]) * v[l];
            dw = dw + dd(a[l]) * dd(w[l]);
        }
        if (dv.hi * dw.hi < 0) eps = std::min(eps, 0.5 * ddabs(dv) / ddabs(dw));
    }
    return eps;
}

// Doubles near v + eps w (several depths, scales and +-1 ulp neighbours); 1 when one
// is verified (in u), else 0. Up to 7,776 candidates on a cell without one: each is
// checked first against the row that rejected the previous candidate, then the rows
// through the line (where points so near it fail), then the rest, stopping at the
// first wrong sign. A candidate is accepted exactly when every row has its sign, so the
// order decides nothing but the time (on nearly rank-deficient data this search was
// 2-3 ms a cell, checking rows in index order).
int search_double_point(const HypMatrix& hm, const CellLine& cl, const uint64_t* pat,
                        const std::vector<dd>& v, const double* w, double eps, double* u) {
    const int r = hm.r;
    std::vector<int> rows(cl.inc, cl.inc + cl.k);
    for (int h = 0, j = 0; h < hm.m; ++h) {
        if (j < cl.k && cl.inc[j] == h) { ++j; continue; }
        rows.push_back(h);
    }
    int last = -1;  // the row that rejected the previous candidate
    auto verified = [&](const double* x) {
        auto wrong = [&](int h) { return dot_sign_exact(hm.row(h), x, r) != (get_bit(pat, h) ? 1 : -1); };
        if (last >= 0 && wrong(last)) return false;
        for (int h : rows) {
            if (h == last || !wrong(h)) continue;
            last = h;
            return false;
        }
        return true;
    };
    int combos = 1;
    for (int l = 0; l < r && l < kPerturbedCoords; ++l) combos *= 3;
    std::vector<dd> pt(r);
    std::vector<double> base(r);
    for (int it = 0; it < kSearchSteps; ++it) {
        for (int l = 0; l < r; ++l) pt[l] = v[l] + dd(eps) * dd(w[l]);
        for (int js = 0; js < kScales; ++js) {
            dd lam = dd(1.0) + dd(static_cast<double>(js)) / dd(static_cast<double>(kScales - 1));
            for (int l = 0; l < r; ++l) base[l] = (pt[l] * lam).to_double();
            for (int c = 0; c < combos; ++c) {
                int cc = c;
                for (int l = 0; l < r; ++l) {
                    int dlt = l < kPerturbedCoords ? cc % 3 : 0;
                    cc /= 3;
                    u[l] = dlt == 0 ? base[l]
                                    : std::nextafter(base[l], dlt == 1 ? HUGE_VAL : -HUGE_VAL);
                }
                if (verified(u)) return 1;
            }
        }
        eps *= 0.5;
    }
    return 0;
}

// Fallback for thin cells: the line direction recomputed in double-double from the
// incident hyperplanes, the step chosen from margins computed in double-double, the
// point rounded to doubles and verified exactly; several steps are tried.
// Returns 1 with a double witness in u, 2 with a double-double one (u + ulo), 0 on failure.
int witness_dd(const HypMatrix& hm, const CellLine& cl, const uint64_t* pat, const double* vflt,
               const double* w, double* u, double* ulo) {
    const int r = hm.r, k = cl.k;
    std::vector<dd> M(static_cast<std::size_t>(k) * r);
    for (int j = 0; j < k; ++j) scaled_row_dd(hm.row(cl.inc[j]), r, M.data() + j * r);
    std::vector<dd> v;
    if (!dd_null_vector(M, k, r, v)) return 0;
    // The side of the line the cell lies on: the pattern's sign of the non-incident
    // hyperplane farthest from the line (relative to its l1 norm) decides it, not the
    // float direction, whose orientation is unreliable where it cancelled.
    double vmax = 0, best = -1.0, side = 1.0;
    for (int l = 0; l < r; ++l) vmax = std::max(vmax, ddabs(v[l]));
    int jj = 0;
    for (int h = 0; h < hm.m; ++h) {
        if (jj < k && cl.inc[jj] == h) { ++jj; continue; }
        const double* a = hm.row(h);
        dd dv(0.0);
        double an = 0;
        for (int l = 0; l < r; ++l) {
            dv = dv + dd(a[l]) * v[l];
            an += std::fabs(a[l]);
        }
        const double rel = ddabs(dv) / an;
        if (rel > best) {
            best = rel;
            side = (dv.hi > 0) == get_bit(pat, h) ? 1.0 : -1.0;
        }
    }
    if (best <= 0.0) {  // no hyperplane off the line decides: the float direction does
        double dot = 0;
        for (int l = 0; l < r; ++l) dot += v[l].hi * vflt[l];
        side = dot < 0 ? -1.0 : 1.0;
    }
    double sc = side / vmax;
    for (int l = 0; l < r; ++l) v[l] = v[l] * dd(sc);
    std::vector<double> wbuf(w, w + r);
    if (k == r - 1) {
        // recompute the step direction in dd: a_j . w = +-1 on the incident rows, v . w = 0
        std::vector<dd> Aug(static_cast<std::size_t>(r) * (r + 1));
        for (int j = 0; j < k; ++j) {
            for (int l = 0; l < r; ++l) Aug[j * (r + 1) + l] = M[j * r + l];
            Aug[j * (r + 1) + r] = dd(get_bit(pat, cl.inc[j]) ? -1.0 : 1.0);
        }
        for (int l = 0; l < r; ++l) Aug[(r - 1) * (r + 1) + l] = v[l];
        std::vector<dd> x;
        if (dd_null_vector(Aug, r, r + 1, x) && x[r].hi != 0.0) {
            double wmax = 0;
            for (int l = 0; l < r; ++l) {
                x[l] = x[l] / x[r];
                wmax = std::max(wmax, ddabs(x[l]));
            }
            for (int l = 0; l < r; ++l) wbuf[l] = (x[l] / dd(wmax)).to_double();
        }
    }
    w = wbuf.data();
    const double eps0 = max_step_dd(hm, cl, v, w);
    if (!(eps0 > 0)) return 0;
    // A cell thinner than the spacing of doubles near the chosen point may still hold
    // doubles elsewhere along its cone: the rounding grid moves relative to the cell when
    // the point is scaled by a non-power of two.
    if (search_double_point(hm, cl, pat, v, w, eps0, u)) return 1;
    // no double found: keep the point in double-double (exact as the sum hi + lo)
    double eps = eps0;
    for (int it = 0; it < kDdSteps; ++it) {
        for (int l = 0; l < r; ++l) {
            dd p = v[l] + dd(eps) * dd(w[l]);
            p = quick_two_sum(p.hi, p.lo);
            u[l] = p.hi;
            ulo[l] = p.lo;
        }
        if (verify_witness2(hm, pat, u, ulo)) return 2;
        eps *= 0.5;
    }
    return 0;
}

// At rank 3 and 4: w = sign(det M) adj(M) b, a positive multiple of the solution of
// M w = b (M adj(M) = det(M) I), without the elimination's chain of divisions and
// pivot branches (a third of a cell's witness at (100, 3)); b's last entry is 0. False
// when det M is not a finite nonzero number.
bool step_by_adjugate(const double* M, const double* b, int r, double* w) {
    if (r == 3) {
        const double *m0 = M, *m1 = M + 3, *m2 = M + 6;
        const double x0 = m1[1] * m2[2] - m1[2] * m2[1], x1 = m1[2] * m2[0] - m1[0] * m2[2],
                     x2 = m1[0] * m2[1] - m1[1] * m2[0];  // m1 x m2
        const double y0 = m2[1] * m0[2] - m2[2] * m0[1], y1 = m2[2] * m0[0] - m2[0] * m0[2],
                     y2 = m2[0] * m0[1] - m2[1] * m0[0];  // m2 x m0
        const double det = m0[0] * x0 + m0[1] * x1 + m0[2] * x2;
        if (!(std::fabs(det) > 0.0) || !std::isfinite(det)) return false;
        const double g = det > 0 ? 1.0 : -1.0;
        w[0] = g * (b[0] * x0 + b[1] * y0);
        w[1] = g * (b[0] * x1 + b[1] * y1);
        w[2] = g * (b[0] * x2 + b[1] * y2);
        return true;
    }
    // r == 4: the 2x2 minors of rows 0, 1 (s) and of rows 2, 3 (c)
    const double m00 = M[0], m01 = M[1], m02 = M[2], m03 = M[3], m10 = M[4], m11 = M[5], m12 = M[6],
                 m13 = M[7], m20 = M[8], m21 = M[9], m22 = M[10], m23 = M[11], m30 = M[12], m31 = M[13],
                 m32 = M[14], m33 = M[15];
    const double s0 = m00 * m11 - m10 * m01, s1 = m00 * m12 - m10 * m02, s2 = m00 * m13 - m10 * m03;
    const double s3 = m01 * m12 - m11 * m02, s4 = m01 * m13 - m11 * m03, s5 = m02 * m13 - m12 * m03;
    const double c5 = m22 * m33 - m32 * m23, c4 = m21 * m33 - m31 * m23, c3 = m21 * m32 - m31 * m22;
    const double c2 = m20 * m33 - m30 * m23, c1 = m20 * m32 - m30 * m22, c0 = m20 * m31 - m30 * m21;
    const double det = s0 * c5 - s1 * c4 + s2 * c3 + s3 * c2 - s4 * c1 + s5 * c0;
    if (!(std::fabs(det) > 0.0) || !std::isfinite(det)) return false;
    const double g = det > 0 ? 1.0 : -1.0;
    const double b0 = g * b[0], b1 = g * b[1], b2 = g * b[2];
    // the first three columns of adj(M) (row i of w: adj[i][0..2] . b)
    w[0] = b0 * (m11 * c5 - m12 * c4 + m13 * c3) + b1 * (-m01 * c5 + m02 * c4 - m03 * c3) +
           b2 * (m31 * s5 - m32 * s4 + m33 * s3);
    w[1] = b0 * (-m10 * c5 + m12 * c2 - m13 * c1) + b1 * (m00 * c5 - m02 * c2 + m03 * c1) +
           b2 * (-m30 * s5 + m32 * s2 - m33 * s1);
    w[2] = b0 * (m10 * c4 - m11 * c2 + m13 * c0) + b1 * (-m00 * c4 + m01 * c2 - m03 * c0) +
           b2 * (m30 * s4 - m31 * s2 + m33 * s0);
    w[3] = b0 * (-m10 * c3 + m11 * c1 - m12 * c0) + b1 * (m00 * c3 - m01 * c1 + m02 * c0) +
           b2 * (-m30 * s3 + m31 * s1 - m32 * s0);
    return true;
}

// The step direction w (|w|_inf = 1) from the line into the cell: for a generic line,
// a_j . w = +-1 (the cell's sign) on the k = r - 1 incident hyperplanes and v . w = 0
// (at rank 3 and 4 by the adjugate unless `solve`, else by elimination); for a
// nongeneric one, the cell's witness in the local arrangement. Returns whether the
// adjugate was used.
bool step_direction(const HypMatrix& hm, const CellLine& cl, const uint64_t* pat, WitnessScratch& s,
                    bool solve) {
    const int r = hm.r;
    std::vector<double>& w = s.w;
    bool adjugate = false;
    if (!cl.local_w) {
        for (int j = 0; j < cl.k; ++j) {  // (each row scaled by a power of two near 1 / max_l |a_l|)
            const double* a = hm.row(cl.inc[j]);
            const double sc = s.row_scale[cl.inc[j]];
            for (int l = 0; l < r; ++l) s.M[j * r + l] = a[l] * sc;
            s.b[j] = get_bit(pat, cl.inc[j]) ? 1.0 : -1.0;
        }
        for (int l = 0; l < r; ++l) s.M[(r - 1) * r + l] = s.v[l];
        s.b[r - 1] = 0.0;
        adjugate = !solve && (r == 3 || r == 4) && step_by_adjugate(s.M.data(), s.b.data(), r, w.data());
        if (!adjugate) {
            if (!solve_small(s.M, s.b, r)) throw NumericalFailure("singular local system for a witness");
            std::copy(s.b.begin(), s.b.end(), w.begin());
        }
    } else {
        for (int j = 0; j < r; ++j) w[j] = cl.local_w[j];
    }
    double wmax = 0;
    for (int j = 0; j < r; ++j) wmax = std::max(wmax, std::fabs(w[j]));
    for (int j = 0; j < r; ++j) w[j] /= wmax;  // (exactly |w|_inf = 1)
    return adjugate;
}

}  // namespace

void WitnessScratch::prepare(const HypMatrix& hm) {
    if (!cols.empty() || hm.m == 0) return;
    const int m = hm.m, r = hm.r;
    mp = (m + 3) & ~3;
    wide = cpu_has_avx();
    cols.assign(static_cast<std::size_t>(mp) * r, 0.0);
    row_l1.assign(mp, 0.0);
    inv_l1.assign(mp, 0.0);
    excl.assign(mp, 0.0);
    for (int h = m; h < mp; ++h) excl[h] = HUGE_VAL;  // the padding rows never limit the step
    dot.resize(mp);
    err.assign(mp, 0.0);
    cert.resize((m + 63) / 64);
    neg.resize(cert.size());
    for (int h = 0; h < m; ++h)
        for (int l = 0; l < r; ++l) {
            cols[static_cast<std::size_t>(l) * mp + h] = hm.row(h)[l];
            row_l1[h] += std::fabs(hm.row(h)[l]);
        }
    // |fl(a.v) - a.v| <= (r + 2) u sum_l |a_l v_l| <= (r + 2) u |a|_1 for |v|_inf <= 1
    // (up covers the rounding of |a|_1 and of the product; rel has slack)
    const double rel = (r + 2) * kUnit * 1.0000001;
    const double up = bound_up(r);
    row_scale.resize(m);
    for (int h = 0; h < m; ++h) {
        inv_l1[h] = 1.0 / row_l1[h];
        err[h] = row_l1[h] * rel * up * up;
        double amax = 0;
        for (int l = 0; l < r; ++l) amax = std::max(amax, std::fabs(hm.row(h)[l]));
        row_scale[h] = amax > 0 ? std::ldexp(1.0, -std::ilogb(amax)) : 1.0;
    }
}

namespace {

#if defined(EXACTRELU_AVX_DISPATCH)
// The 4-wide loops of dots and classify (the same operations in the same order, so the
// same results bit for bit; no FMA).
EXACTRELU_TARGET_AVX double dots_avx(const double* __restrict c, int r, int mp, const double* u,
                                     const double* inv_l1, const double* excl, double* __restrict d) {
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    __m256d lo = _mm256_set1_pd(HUGE_VAL);
    for (int h = 0; h < mp; h += 4) {
        __m256d s = _mm256_mul_pd(_mm256_loadu_pd(c + h), _mm256_set1_pd(u[0]));
        for (int l = 1; l < r; ++l)
            s = _mm256_add_pd(
                s, _mm256_mul_pd(_mm256_loadu_pd(c + static_cast<std::size_t>(l) * mp + h), _mm256_set1_pd(u[l])));
        _mm256_storeu_pd(d + h, s);
        lo = _mm256_min_pd(lo, _mm256_add_pd(_mm256_mul_pd(_mm256_and_pd(s, absmask), _mm256_loadu_pd(inv_l1 + h)),
                                             _mm256_loadu_pd(excl + h)));
    }
    alignas(32) double t[4];
    _mm256_store_pd(t, lo);
    return std::min(std::min(t[0], t[1]), std::min(t[2], t[3]));
}

EXACTRELU_TARGET_AVX void classify_avx(const double* __restrict d, const double* __restrict e,
                                       const double* __restrict l1, int w0, int w1, double dmax, double up,
                                       uint64_t& cw, uint64_t& nw) {
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    const __m256d vup = _mm256_set1_pd(up), vtiny = _mm256_set1_pd(kTinyBound), vdm = _mm256_set1_pd(dmax);
    for (int h = w0; h < w1; h += 4) {
        const __m256d s = _mm256_loadu_pd(d + h);
        const __m256d x = _mm256_sub_pd(_mm256_sub_pd(_mm256_and_pd(s, absmask), _mm256_loadu_pd(e + h)), vtiny);
        const __m256d bound = _mm256_mul_pd(_mm256_mul_pd(_mm256_loadu_pd(l1 + h), vdm), vup);
        cw |= static_cast<uint64_t>(_mm256_movemask_pd(_mm256_cmp_pd(x, bound, _CMP_GT_OQ))) << (h - w0);
        nw |= static_cast<uint64_t>(_mm256_movemask_pd(s)) << (h - w0);
    }
}
#endif

}  // namespace

// (the products are summed over l in order, from the first product: the same rounding
// as a plain loop over l per row)
double WitnessScratch::dots(const double* u) {
    const double* __restrict c = cols.data();
    double* __restrict d = dot.data();
#if defined(EXACTRELU_AVX_DISPATCH)
    if (wide) return dots_avx(c, r, mp, u, inv_l1.data(), excl.data(), d);
#endif
#if defined(EXACTRELU_SSE2)
    const __m128d absmask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
    __m128d lo = _mm_set1_pd(HUGE_VAL);
    for (int h = 0; h < mp; h += 2) {
        __m128d p = _mm_mul_pd(_mm_loadu_pd(c + h), _mm_set1_pd(u[0]));
        __m128d s = p;
        for (int l = 1; l < r; ++l) {
            p = _mm_mul_pd(_mm_loadu_pd(c + static_cast<std::size_t>(l) * mp + h), _mm_set1_pd(u[l]));
            s = _mm_add_pd(s, p);
        }
        _mm_storeu_pd(d + h, s);
        const __m128d ratio = _mm_add_pd(_mm_mul_pd(_mm_and_pd(s, absmask), _mm_loadu_pd(inv_l1.data() + h)),
                                         _mm_loadu_pd(excl.data() + h));
        lo = _mm_min_pd(lo, ratio);
    }
    return std::min(_mm_cvtsd_f64(lo), _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo)));
#else
    double lo = HUGE_VAL;
    for (int h = 0; h < mp; ++h) {
        double s = c[h] * u[0];
        for (int l = 1; l < r; ++l) s += c[static_cast<std::size_t>(l) * mp + h] * u[l];
        d[h] = s;
        lo = std::min(lo, std::fabs(s) * inv_l1[h] + excl[h]);
    }
    return lo;
#endif
}

namespace {

// The filter's bits for the rows [w0, w1) (w1 - w0 <= 64, a multiple of 4 or the end
// of the padded rows): bit h - w0 of cw where (|d| - e) - tiny > (l1 dmax) up, of nw
// where d < 0.
void classify_block(bool wide, const double* __restrict d, const double* __restrict e,
                    const double* __restrict l1, int w0, int w1, double dmax, double up, uint64_t& cw,
                    uint64_t& nw) {
#if defined(EXACTRELU_AVX_DISPATCH)
    if (wide) return classify_avx(d, e, l1, w0, w1, dmax, up, cw, nw);
#else
    (void)wide;
#endif
#if defined(EXACTRELU_SSE2)
    const __m128d absmask = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));
    const __m128d vup = _mm_set1_pd(up), vtiny = _mm_set1_pd(kTinyBound), vdm = _mm_set1_pd(dmax);
    for (int h = w0; h < w1; h += 2) {
        const __m128d s = _mm_loadu_pd(d + h);
        const __m128d x = _mm_sub_pd(_mm_sub_pd(_mm_and_pd(s, absmask), _mm_loadu_pd(e + h)), vtiny);
        const __m128d bound = _mm_mul_pd(_mm_mul_pd(_mm_loadu_pd(l1 + h), vdm), vup);
        cw |= static_cast<uint64_t>(_mm_movemask_pd(_mm_cmpgt_pd(x, bound))) << (h - w0);
        nw |= static_cast<uint64_t>(_mm_movemask_pd(s)) << (h - w0);
    }
#else
    for (int h = w0; h < w1; ++h) {
        const double x = (std::fabs(d[h]) - e[h]) - kTinyBound;
        cw |= static_cast<uint64_t>(x > l1[h] * dmax * up) << (h - w0);
        nw |= static_cast<uint64_t>(std::signbit(d[h])) << (h - w0);
    }
#endif
}

}  // namespace

// Row h's sign at u follows from its product with v: |a.u - fl(a.v)| <= |a.v - fl(a.v)|
// + |a|_1 max_l |u_l - v_l| <= err[h] + |a|_1 dmax, so |fl(a.v)| above that bound
// (rounded up) certifies the sign of fl(a.v) at u.
void WitnessScratch::classify(int m, double dmax) {
    const double up = bound_up(r);
    for (int w0 = 0; w0 < m; w0 += 64) {
        uint64_t cw = 0, nw = 0;
        classify_block(wide, dot.data(), err.data(), row_l1.data(), w0, std::min(mp, w0 + 64), dmax, up, cw, nw);
        const int nb = std::min(64, m - w0);
        const uint64_t valid = nb == 64 ? ~uint64_t(0) : ((uint64_t(1) << nb) - 1);
        cert[w0 >> 6] = cw & valid;
        neg[w0 >> 6] = nw & valid;
    }
}

int cell_witness(const HypMatrix& hm, const CellLine& cl, const uint64_t* pat, WitnessScratch& s,
                 double* u, double* ulo) {
    const int r = hm.r, m = hm.m;
    std::vector<double>& v = s.v;
    double vmax = 0;
    for (int j = 0; j < r; ++j) {
        v[j] = cl.orient * cl.vdir[j];
        vmax = std::max(vmax, std::fabs(v[j]));
    }
    for (int j = 0; j < r; ++j) v[j] /= vmax;
    s.prepare(hm);
    const std::vector<double>& w = s.w;
    // largest step keeping the non-incident signs: min |a.v| / |a|_1 (|w|_inf = 1)
    for (int j = 0; j < cl.k; ++j) s.excl[cl.inc[j]] = HUGE_VAL;
    const double lo = s.dots(v.data());
    for (int j = 0; j < cl.k; ++j) s.excl[cl.inc[j]] = 0.0;
    const double eps = std::min(kFirstStep, 0.5 * lo);
    // The rows the filter certifies have their sign at u (and the point fails if one
    // differs from the pattern); the others (those through the line, and any too close
    // to it) are checked exactly. A point is accepted exactly when every row has its
    // sign, as with the full check, so the witness does not depend on the filter.
    // A direction from the adjugate that finds no point is computed again by
    // elimination (more accurate on ill-conditioned systems) before the double-double
    // search.
    const int nw = static_cast<int>(s.cert.size());
    auto float_point = [&]() {  // the steps eps, eps / 4, ... along the current w
        double step = eps;
        for (int it = 0; it < kFloatSteps; ++it) {
            double dmax = 0.0;
            for (int j = 0; j < r; ++j) {
                u[j] = v[j] + step * w[j];
                dmax = std::max(dmax, std::fabs(u[j] - v[j]));
            }
            s.classify(m, dmax * bound_up(r));
            bool ok = true;
            for (int q = 0; q < nw && ok; ++q) ok = (s.cert[q] & ~(s.neg[q] ^ pat[q])) == 0;  // a wrong sign
            for (int q = 0; q < nw && ok; ++q) {
                const uint64_t valid = q + 1 < nw || m % 64 == 0 ? ~uint64_t(0) : (uint64_t(1) << (m % 64)) - 1;
                for (uint64_t open = ~s.cert[q] & valid; open && ok; open &= open - 1) {
                    const int g = 64 * q + __builtin_ctzll(open);
                    ok = dot_sign_exact(hm.row(g), u, r) == (get_bit(pat, g) ? 1 : -1);
                }
            }
            if (ok) return true;
            step *= kStepShrink;
        }
        return false;
    };
    const bool adjugate = step_direction(hm, cl, pat, s, false);
    if (float_point()) return 1;
    if (adjugate) {
        step_direction(hm, cl, pat, s, true);
        if (float_point()) return 1;
    }
    return witness_dd(hm, cl, pat, v.data(), w.data(), u, ulo);
}

}  // namespace exactrelu
