// Exact sign predicates (docs/design.md, section 2): float filters with certified
// error bounds, then exact fallbacks (128-bit Bareiss, or determinants modulo many
// primes with a mixed-radix sign test); exact sums of doubles (Shewchuk expansions);
// the table of all k x k minors with error bounds used by the flat walk.
#include "exact.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace exactrelu {
namespace {

// Primes built once at start-up (and their Garner inverses): enough for determinants
// with Hadamard bounds up to about 96 * 30 bits, i.e. every case the data can produce
// without absurd exponent ranges.
constexpr std::size_t kCachedPrimes = 96;
// Refuse determinants that would need more primes than this (about 600,000 bits).
constexpr std::size_t kMaxPrimes = 20000;
// Each 31-bit prime contributes at least 30 bits to the modulus.
constexpr double kBitsPerPrime = 30.0;
// Integer Bareiss is used when every scaled entry has at most kMaxEntryBits bits and
// Hadamard's bound is below 2^kBareissBits: every intermediate (a minor) then fits 61
// bits and each product of two of them a signed 128-bit integer.
constexpr int kMaxEntryBits = 62;
constexpr double kBareissBits = 61.0;
// sum_sign_exact keeps its expansions on the stack up to this many terms.
constexpr int kStackTerms = 64;
// MinorTable: the floor of every error bound (keeps the filter from accepting a sign
// for a minor lost to underflow), and the relative slack on gamma covering the
// rounding of the bound itself.
constexpr double kMinorErrFloor = 1e-290;
constexpr double kGammaSlack = 1.0001;

// ---- error-free transformations -------------------------------------------------
inline void two_sum(double a, double b, double& s, double& e) {
    s = a + b;
    double bb = s - a;
    e = (a - (s - bb)) + (b - bb);
}

inline void two_prod(double a, double b, double& p, double& e) {
    p = a * b;
    e = std::fma(a, b, -p);
}

// ---- 32-bit primes for the modular fallback ----------------------------------------
uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) { return (a * b) % m; }

uint64_t powmod(uint64_t a, uint64_t e, uint64_t m) {
    uint64_t r = 1 % m;
    a %= m;
    while (e) {
        if (e & 1) r = mulmod(r, a, m);
        a = mulmod(a, a, m);
        e >>= 1;
    }
    return r;
}

bool is_prime_u32(uint64_t n) {
    if (n < 2) return false;
    for (uint64_t p : {2u, 3u, 5u, 7u, 11u, 13u}) {
        if (n % p == 0) return n == p;
    }
    uint64_t d = n - 1;
    int s = 0;
    while ((d & 1) == 0) { d >>= 1; ++s; }
    for (uint64_t a : {2u, 7u, 61u}) {  // deterministic below 2^32
        uint64_t x = powmod(a, d, n);
        if (x == 1 || x == n - 1) continue;
        bool comp = true;
        for (int i = 1; i < s; ++i) {
            x = mulmod(x, x, n);
            if (x == n - 1) { comp = false; break; }
        }
        if (comp) return false;
    }
    return true;
}

const std::vector<uint64_t>& primes_slow(std::size_t need);

// The largest 31-bit primes; the first kCachedPrimes are built once (thread-safe static init), so
// the common case takes no lock.
const std::vector<uint64_t>& primes(std::size_t need) {
    static const std::vector<uint64_t> first = [] { return primes_slow(kCachedPrimes); }();
    if (need <= first.size()) return first;
    thread_local std::vector<uint64_t> copy;
    copy = primes_slow(need);
    return copy;
}

// inverse of p_0 * ... * p_{t-1} modulo p_t, for the Garner step (cached primes)
const std::vector<uint64_t>& garner_inverses() {
    static const std::vector<uint64_t> inv = [] {
        const std::vector<uint64_t>& ps = primes(kCachedPrimes);
        std::vector<uint64_t> out(ps.size());
        for (std::size_t t = 0; t < ps.size(); ++t) {
            uint64_t prod = 1;
            for (std::size_t s = 0; s < t; ++s) prod = mulmod(prod, ps[s] % ps[t], ps[t]);
            out[t] = powmod(prod, ps[t] - 2, ps[t]);
        }
        return out;
    }();
    return inv;
}

const std::vector<uint64_t>& primes_slow(std::size_t need) {
    static std::mutex mu;
    static std::vector<uint64_t> ps;
    static uint64_t next = (1ull << 31) - 1;
    std::lock_guard<std::mutex> lock(mu);
    if (need > kMaxPrimes) throw NumericalFailure("exact determinant needs too many primes");
    while (ps.size() < need) {
        if (is_prime_u32(next)) ps.push_back(next);
        next -= 2;
    }
    return ps;
}

// Decompose a finite double into integer mantissa and exponent: x = m * 2^e.
inline void decompose(double x, int64_t& m, int& e) {
    if (x == 0.0) { m = 0; e = 0; return; }
    int ex;
    double f = std::frexp(x, &ex);  // x = f * 2^ex, 0.5 <= |f| < 1
    m = static_cast<int64_t>(std::ldexp(f, 53));
    e = ex - 53;
    while (m != 0 && (m & 1) == 0) { m >>= 1; ++e; }
}

int sign_of(__int128 v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }

// Bareiss elimination on 128-bit integers. Caller guarantees no overflow.
int bareiss_sign(std::vector<__int128>& a, int k) {
    int sgn = 1;
    __int128 prev = 1;
    for (int p = 0; p < k; ++p) {
        if (a[p * k + p] == 0) {
            int sw = -1;
            for (int i = p + 1; i < k; ++i)
                if (a[i * k + p] != 0) { sw = i; break; }
            if (sw < 0) return 0;
            for (int j = 0; j < k; ++j) std::swap(a[p * k + j], a[sw * k + j]);
            sgn = -sgn;
        }
        __int128 piv = a[p * k + p];
        for (int i = p + 1; i < k; ++i) {
            for (int j = p + 1; j < k; ++j) {
                a[i * k + j] = (a[i * k + j] * piv - a[i * k + p] * a[p * k + j]) / prev;
            }
            a[i * k + p] = 0;
        }
        prev = piv;
    }
    return sgn * sign_of(a[(k - 1) * k + (k - 1)]);
}

// Determinant modulo p < 2^31 by division-free elimination (residues < 2^31, so every
// product fits 64 bits); a single inverse at the end removes the pivot powers.
// Barrett reduction modulo a 31-bit prime p of any x < 2^64 (one multiply-high and one
// correction instead of a 64-bit division).
struct Barrett {
    uint64_t p, m;  // m = floor((2^64 - 1) / p)
    explicit Barrett(uint64_t p_) : p(p_), m(~uint64_t{0} / p_) {}
    uint64_t reduce(uint64_t x) const {
        uint64_t q = static_cast<uint64_t>((static_cast<unsigned __int128>(x) * m) >> 64);
        uint64_t r = x - q * p;
        while (r >= p) r -= p;
        return r;
    }
};

uint64_t det_mod(uint64_t* a, int k, uint64_t p) {
    const Barrett br(p);
    bool neg = false;
    uint64_t scale = 1;  // product of pv^(k - c - 1)
    for (int c = 0; c < k; ++c) {
        int piv = -1;
        for (int i = c; i < k; ++i)
            if (a[i * k + c] != 0) { piv = i; break; }
        if (piv < 0) return 0;
        if (piv != c) {
            for (int j = c; j < k; ++j) std::swap(a[c * k + j], a[piv * k + j]);
            neg = !neg;
        }
        uint64_t pv = a[c * k + c];
        for (int i = c + 1; i < k; ++i) {
            uint64_t f = a[i * k + c];
            if (f == 0) {
                for (int j = c + 1; j < k; ++j) a[i * k + j] = br.reduce(a[i * k + j] * pv);
            } else {
                // both products < 2^62: their sum fits 64 bits
                for (int j = c + 1; j < k; ++j)
                    a[i * k + j] = br.reduce(a[i * k + j] * pv + (p - f) * a[c * k + j]);
            }
            scale = br.reduce(scale * pv);
        }
    }
    uint64_t det = 1;
    for (int c = 0; c < k; ++c) det = br.reduce(det * a[c * k + c]);
    det = br.reduce(det * powmod(scale, p - 2, p));
    return neg ? (p - det) % p : det;
}

// (mag * 2^e) mod p for e >= 0.
inline uint64_t shl_mod(uint64_t mag, int e, uint64_t p) {
    const Barrett br(p);
    uint64_t v = br.reduce(mag);
    while (e >= 32) {
        v = br.reduce(v << 32);
        e -= 32;
    }
    return br.reduce(v << e);
}

}  // namespace

bool all_small_integers(const double* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        double x = v[i];
        if (!(std::fabs(x) < kTwo52) || x != std::nearbyint(x)) return false;
    }
    return true;
}

int det_sign_exact(const double* m, int k) {
    if (k == 0) return 1;
    // Per-row scaling to integers: row i = ints * 2^emin_i (positive scale keeps the sign).
    std::vector<int64_t> mant(static_cast<std::size_t>(k) * k);
    std::vector<int> ex(static_cast<std::size_t>(k) * k);
    std::vector<int> shift(k);
    double log2_hadamard = 0.0;
    bool fits128 = true;
    for (int i = 0; i < k; ++i) {
        int emin = 1 << 30;
        bool nonzero = false;
        for (int j = 0; j < k; ++j) {
            decompose(m[i * k + j], mant[i * k + j], ex[i * k + j]);
            if (mant[i * k + j] != 0) { emin = std::min(emin, ex[i * k + j]); nonzero = true; }
        }
        if (!nonzero) return 0;
        shift[i] = emin;
        int maxbits = 0;
        for (int j = 0; j < k; ++j) {
            int64_t mm = mant[i * k + j];
            if (mm == 0) continue;
            int bits = 64 - __builtin_clzll(static_cast<uint64_t>(mm < 0 ? -mm : mm)) +
                       (ex[i * k + j] - emin);
            maxbits = std::max(maxbits, bits);
        }
        double rowbits = maxbits + 0.5 * std::log2(static_cast<double>(k)) + 0.01;
        log2_hadamard += rowbits;
        if (maxbits > kMaxEntryBits) fits128 = false;
    }
    if (fits128 && log2_hadamard < kBareissBits) {
        std::vector<__int128> a(static_cast<std::size_t>(k) * k);
        for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j) {
                int64_t mm = mant[i * k + j];
                if (mm == 0) { a[i * k + j] = 0; continue; }
                // shift the magnitude (shifting a negative value is undefined in C++17)
                __int128 mag = static_cast<__int128>(mm < 0 ? -mm : mm) << (ex[i * k + j] - shift[i]);
                a[i * k + j] = mm < 0 ? -mag : mag;
            }
        return bareiss_sign(a, k);
    }
    // Modular determinants and a mixed-radix sign test.
    std::size_t np = static_cast<std::size_t>((log2_hadamard + 2.0) / kBitsPerPrime) + 2;
    const std::vector<uint64_t>& ps = primes(np);
    std::vector<uint64_t> res(np);
    uint64_t a_small[64];
    std::vector<uint64_t> a_big;
    uint64_t* a = a_small;
    if (k > 8) {
        a_big.resize(static_cast<std::size_t>(k) * k);
        a = a_big.data();
    }
    for (std::size_t t = 0; t < np; ++t) {
        uint64_t p = ps[t];
        for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j) {
                int64_t mm = mant[i * k + j];
                if (mm == 0) { a[i * k + j] = 0; continue; }
                uint64_t mag = static_cast<uint64_t>(mm < 0 ? -mm : mm);
                uint64_t v = shl_mod(mag, ex[i * k + j] - shift[i], p);
                a[i * k + j] = mm < 0 ? (p - v) % p : v;
            }
        res[t] = det_mod(a, k, p);
    }
    return sign_from_residues(res.data(), np);
}

int sign_from_residues(const uint64_t* res, std::size_t np) {
    const std::vector<uint64_t>& ps = primes(np);
    // Garner: x = c0 + c1 p0 + c2 p0 p1 + ...
    uint64_t c_small[kCachedPrimes];
    std::vector<uint64_t> c_big;
    uint64_t* c = c_small;
    if (np > kCachedPrimes) {
        c_big.resize(np);
        c = c_big.data();
    }
    bool zero = true;
    for (std::size_t t = 0; t < np; ++t) {
        uint64_t p = ps[t];
        // value of the already-built prefix modulo p
        uint64_t acc = 0, prod = 1;
        for (std::size_t s = 0; s < t; ++s) {
            acc = (acc + mulmod(c[s] % p, prod, p)) % p;
            prod = mulmod(prod, ps[s] % p, p);
        }
        uint64_t diff = (res[t] + p - acc) % p;
        uint64_t inv = t < kCachedPrimes ? garner_inverses()[t] : powmod(prod, p - 2, p);
        c[t] = mulmod(diff, inv, p);
        if (c[t]) zero = false;
    }
    if (zero) return 0;
    // compare x with (P-1)/2, whose digits are (p_t - 1)/2
    for (std::size_t t = np; t-- > 0;) {
        uint64_t h = (ps[t] - 1) / 2;
        if (c[t] > h) return -1;
        if (c[t] < h) return 1;
    }
    return 1;  // x == (P-1)/2 exactly: positive
}

std::size_t primes_for_bits(double log2_bound) {
    return static_cast<std::size_t>((log2_bound + 2.0) / kBitsPerPrime) + 2;
}

uint64_t det_prime(std::size_t t) { return primes(t + 1)[t]; }

uint64_t det_mod_prime(uint64_t* a, int k, uint64_t p) { return det_mod(a, k, p); }

double row_residues(const double* row, int r, std::size_t np, uint64_t* out) {
    if (r > 64) throw NumericalFailure("row_residues: rows of at most 64 entries");
    int64_t mant[64];
    int ex[64];
    int emin = 1 << 30;
    bool nonzero = false;
    for (int j = 0; j < r; ++j) {
        decompose(row[j], mant[j], ex[j]);
        if (mant[j] != 0) { emin = std::min(emin, ex[j]); nonzero = true; }
    }
    int maxbits = 0;
    for (int j = 0; j < r && nonzero; ++j) {
        int64_t mm = mant[j];
        if (mm == 0) continue;
        maxbits = std::max(maxbits, 64 - __builtin_clzll(static_cast<uint64_t>(mm < 0 ? -mm : mm)) +
                                        (ex[j] - emin));
    }
    const std::vector<uint64_t>& ps = primes(np);
    for (std::size_t t = 0; t < np; ++t) {
        uint64_t p = ps[t];
        for (int j = 0; j < r; ++j) {
            int64_t mm = mant[j];
            if (mm == 0) { out[t * r + j] = 0; continue; }
            uint64_t v = shl_mod(static_cast<uint64_t>(mm < 0 ? -mm : mm), ex[j] - emin, p);
            out[t * r + j] = mm < 0 ? (p - v) % p : v;
        }
    }
    return maxbits;
}

int sum_sign_exact(double* terms, int k) {
    // Shewchuk-style: accumulate into a nonoverlapping expansion (in place, no allocation
    // for up to 64 terms).
    double ebuf[2 * kStackTerms + 2], hbuf[2 * kStackTerms + 2];
    std::vector<double> ev, hv;
    double* e = ebuf;
    double* h = hbuf;
    if (k > kStackTerms) {
        ev.resize(2 * static_cast<std::size_t>(k) + 2);
        hv.resize(2 * static_cast<std::size_t>(k) + 2);
        e = ev.data();
        h = hv.data();
    }
    int ne = 0;
    for (int i = 0; i < k; ++i) {
        double q = terms[i];
        if (q == 0.0) continue;
        int nh = 0;
        for (int j = 0; j < ne; ++j) {
            double s, err;
            two_sum(q, e[j], s, err);
            if (err != 0.0) h[nh++] = err;
            q = s;
        }
        if (q != 0.0) h[nh++] = q;
        std::swap(e, h);
        ne = nh;
    }
    for (int i = ne; i-- > 0;)
        if (e[i] != 0.0) return e[i] > 0 ? 1 : -1;
    return 0;
}

double dot_with_bound(const double* a, const double* b, int k, double* err) {
    double s = 0.0, sabs = 0.0;
    for (int i = 0; i < k; ++i) {
        double p = a[i] * b[i];
        s += p;
        sabs += std::fabs(p);
    }
    *err = sabs * (k + 2) * kUnit * 1.0000001 + kTinyBound;
    return s;
}

namespace {

// a * b == c * d exactly (products and their fma residuals compared); false when a
// residual could be inexact (a product below 2^-900, or not finite) unless both are
// exactly 0 from a zero factor.
bool products_equal(double a, double b, double c, double d) {
    const double p = a * b, q = c * d;
    if (p != q) return false;
    if (p == 0.0) return (a == 0.0 || b == 0.0) && (c == 0.0 || d == 0.0);
    if (!(std::fabs(p) >= 0x1p-900) || !std::isfinite(p)) return false;
    return std::fma(a, b, -p) == std::fma(c, d, -q);
}

}  // namespace

bool proportional_columns(const double* const* R, int nr, const int* cols, int nc) {
    for (int x = 0; x < nc; ++x)
        for (int y = x + 1; y < nc; ++y) {
            const int cx = cols[x], cy = cols[y];
            bool prop = true;
            for (int a = 0; a < nr && prop; ++a)
                for (int b = a + 1; b < nr && prop; ++b)
                    prop = products_equal(R[a][cx], R[b][cy], R[b][cx], R[a][cy]);
            if (prop) return true;
        }
    return false;
}

int dot_sign_exact(const double* a, const double* b, int k) {
    double err;
    double s = dot_with_bound(a, b, k, &err);
    if (std::isfinite(s) && std::fabs(s) > err && err < 1e300) return s > 0 ? 1 : -1;
    std::vector<double> t(2 * static_cast<std::size_t>(k));
    for (int i = 0; i < k; ++i) two_prod(a[i], b[i], t[2 * i], t[2 * i + 1]);
    // fma residuals are exact unless a product underflows; rescale tiny rows.
    return sum_sign_exact(t.data(), 2 * k);
}

const MaskTables& mask_tables(int r) {
    thread_local MaskTables mt;
    if (mt.r != r) {
        mt.r = r;
        mt.by_k.assign(r + 1, {});
        mt.rank.assign(std::size_t{1} << r, 0);
        for (uint32_t mask = 0; mask < (1u << r); ++mask) {
            auto& v = mt.by_k[popcount32(mask)];
            mt.rank[mask] = static_cast<int>(v.size());
            v.push_back(mask);
        }
    }
    return mt;
}

void extend_minors(const std::vector<double>& pv, const std::vector<double>& ppa, int c,
                   const double* row, int r, std::vector<double>& v, std::vector<double>& pa) {
    // sign (-1)^(c + position of j among the mask's columns)
    const MaskTables& mt = mask_tables(r);
    const std::vector<uint32_t>& masks = mt.by_k[c + 1];
    v.resize(masks.size());
    pa.resize(masks.size());
    for (std::size_t t = 0; t < masks.size(); ++t) {
        uint32_t nm = masks[t];
        double sv = 0.0, sa = 0.0;
        int pos = 0;
        for (int j = 0; j < r; ++j) {
            if (!(nm & (1u << j))) continue;
            int sub = mt.rank[nm & ~(1u << j)];
            double term = row[j] * pv[sub];
            sv += ((c + pos) & 1) ? -term : term;
            sa += std::fabs(row[j]) * ppa[sub];
            ++pos;
        }
        v[t] = sv;
        pa[t] = sa;
    }
}

void MinorTable::compute(const double* rows, int kk, int rr, bool integral) {
    k = kk;
    r = rr;
    std::vector<double> v{1.0}, pa{1.0}, nv, npa;
    for (int t = 0; t < k; ++t) {
        extend_minors(v, pa, t, rows + static_cast<std::size_t>(t) * r, r, nv, npa);
        v.swap(nv);
        pa.swap(npa);
    }
    const std::size_t sz = std::size_t(1) << r;
    val.assign(sz, 0.0);
    err.assign(sz, 0.0);
    const std::vector<uint32_t>& masks = mask_tables(r).by_k[k];
    for (std::size_t t = 0; t < masks.size(); ++t) {
        val[masks[t]] = v[t];
        err[masks[t]] = minor_error_bound(pa[t], k, integral);
    }
}

double minor_error_bound(double pa, int k, bool integral) {
    double p = pa < kTinyBound ? 0.0 : pa;
    if (integral && p < kTwo52) return 0.0;  // every intermediate is an integer below 2^53: exact
    double gamma = (static_cast<double>(k) * (k + 1) + 4) * kUnit * kGammaSlack;
    return p * gamma + kMinorErrFloor;
}

}  // namespace exactrelu
