// Double-double arithmetic (about 106 significant bits) for the few places where a
// float result must be accurate far beyond the data's rounding: directions of rays and
// interior points of very thin cells. Signs are still decided by the exact predicates
// in exact.hpp; this only makes the candidates good enough to pass them.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace exactrelu {

struct dd {
    double hi = 0.0, lo = 0.0;
    dd() = default;
    dd(double h) : hi(h), lo(0.0) {}
    dd(double h, double l) : hi(h), lo(l) {}
    double to_double() const { return hi + lo; }
};

inline dd two_sum(double a, double b) {
    double s = a + b;
    double bb = s - a;
    double e = (a - (s - bb)) + (b - bb);
    return {s, e};
}
inline dd quick_two_sum(double a, double b) {
    double s = a + b;
    return {s, b - (s - a)};
}
inline dd two_prod(double a, double b) {
    double p = a * b;
    return {p, std::fma(a, b, -p)};
}
inline dd operator+(dd a, dd b) {
    dd s = two_sum(a.hi, b.hi);
    dd t = two_sum(a.lo, b.lo);
    s.lo += t.hi;
    s = quick_two_sum(s.hi, s.lo);
    s.lo += t.lo;
    return quick_two_sum(s.hi, s.lo);
}
inline dd operator-(dd a) { return {-a.hi, -a.lo}; }
inline dd operator-(dd a, dd b) { return a + (-b); }
inline dd operator*(dd a, dd b) {
    dd p = two_prod(a.hi, b.hi);
    p.lo += a.hi * b.lo + a.lo * b.hi;
    return quick_two_sum(p.hi, p.lo);
}
inline dd operator/(dd a, dd b) {
    double q1 = a.hi / b.hi;
    dd r = a - b * dd(q1);
    double q2 = r.hi / b.hi;
    r = r - b * dd(q2);
    double q3 = r.hi / b.hi;
    dd q = quick_two_sum(q1, q2);
    return q + dd(q3);
}
inline double ddabs(dd a) { return std::fabs(a.hi); }

// The row a (length n) scaled by a power of two so that its largest entry lies in
// [0.5, 1), as double-doubles. Exact (only exponents change), so the scaled rows span
// the same lines; it keeps the eliminations below away from overflow and underflow.
inline void scaled_row_dd(const double* a, int n, dd* out) {
    double amax = 0;
    for (int l = 0; l < n; ++l) amax = std::max(amax, std::fabs(a[l]));
    int ex = 0;
    if (amax > 0) std::frexp(amax, &ex);
    for (int l = 0; l < n; ++l) out[l] = dd(std::ldexp(a[l], -ex));
}

// A nonzero vector x (length c) with M x = 0 for the rows x cols matrix M (row-major),
// assumed of rank c - 1 (more rows than needed are fine). Gaussian elimination with
// complete pivoting in double-double. Returns false if the rank is found below c - 1.
inline bool dd_null_vector(std::vector<dd> M, int rows, int c, std::vector<dd>& x) {
    std::vector<int> colperm(c);
    for (int j = 0; j < c; ++j) colperm[j] = j;
    int rank = 0;
    for (; rank < c - 1 && rank < rows; ++rank) {
        int pi = -1, pj = -1;
        double best = 0.0;
        for (int i = rank; i < rows; ++i)
            for (int j = rank; j < c; ++j) {
                double v = ddabs(M[i * c + colperm[j]]);
                if (v > best) { best = v; pi = i; pj = j; }
            }
        if (pi < 0) return false;
        if (pi != rank)
            for (int j = 0; j < c; ++j) std::swap(M[rank * c + j], M[pi * c + j]);
        std::swap(colperm[rank], colperm[pj]);
        dd piv = M[rank * c + colperm[rank]];
        for (int i = rank + 1; i < rows; ++i) {
            dd f = M[i * c + colperm[rank]] / piv;
            if (f.hi == 0.0) continue;
            for (int j = rank; j < c; ++j) M[i * c + colperm[j]] = M[i * c + colperm[j]] - f * M[rank * c + colperm[j]];
        }
    }
    if (rank < c - 1) return false;
    x.assign(c, dd(0.0));
    x[colperm[c - 1]] = dd(1.0);
    for (int i = c - 2; i >= 0; --i) {
        dd s(0.0);
        for (int j = i + 1; j < c; ++j) s = s + M[i * c + colperm[j]] * x[colperm[j]];
        x[colperm[i]] = -(s / M[i * c + colperm[i]]);
    }
    return true;
}

}  // namespace exactrelu
