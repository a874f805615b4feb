// The flat walk (docs/design.md, section 2): generators of a flat from its basis,
// the exact angular sweep of the hyperplanes around it, canonical children, and the
// threaded walk over the lines that cells, rays and pricing share.
#include "walk.hpp"

#include <algorithm>
#include <initializer_list>
#include <climits>
#include <cstring>
#include <cmath>
#include <memory>
#include <numeric>

#include "ddouble.hpp"
#include "simd.hpp"

namespace exactrelu {
namespace {

// Relative safety factor on float error bounds: covers the rounding of the bound's
// own computation (a few ulps) with a wide margin.
constexpr double kBoundSafety = 1.000001;

}  // namespace

FlatWalker::FlatWalker(const HypMatrix& hm, std::vector<int> rows, int maxc,
                       const std::atomic<bool>* cancel)
    : hm_(hm), rows_(std::move(rows)), maxc_(maxc), cancel_(cancel) {
    static std::atomic<uint64_t> next_uid{1};
    uid_ = next_uid.fetch_add(1, std::memory_order_relaxed);
    const int nrows = static_cast<int>(rows_.size()), r = hm_.r;
    mp_ = (nrows + 3) & ~3;
    cols_.assign(static_cast<std::size_t>(mp_) * r, 0.0);
    for (int s = 0; s < nrows; ++s)
        for (int l = 0; l < r; ++l) cols_[static_cast<std::size_t>(l) * mp_ + s] = row(s)[l];
    wide_ = cpu_has_avx();
}

namespace {

// The coordinates of every row on a generator N (error bounds Ne), by columns: v = a.N
// and its error bound err from sa = sum_l |a_l N_l| and eb = sum_l |a_l| Ne_l (0 for
// integral rows and generators when every product is an integer below 2^52), each sum
// over l in order from 0 (the same rounding as a loop over l per row). The loops over
// rows vectorize.
inline __attribute__((always_inline)) void flat_products_body(const double* __restrict c, int mp, int r,
                                                              const double* N, const double* Ne,
                                                              bool integral, double* __restrict v,
                                                              double* __restrict sa, double* __restrict eb) {
    std::fill(v, v + mp, 0.0);
    std::fill(sa, sa + mp, 0.0);
    std::fill(eb, eb + mp, 0.0);
    for (int l = 0; l < r; ++l) {
        const double* __restrict cl = c + static_cast<std::size_t>(l) * mp;
        const double nl = N[l], el = Ne[l];
        for (int h = 0; h < mp; ++h) {
            const double p = cl[h] * nl;
            v[h] += p;
            sa[h] += std::fabs(p);
            eb[h] += std::fabs(cl[h]) * el;
        }
    }
    const double ce = 1 + 4 * r * kUnit, cs = (r + 2) * kUnit;
    for (int h = 0; h < mp; ++h) {
        const double err = (eb[h] * ce + sa[h] * cs) * kBoundSafety + kTinyBound;
        eb[h] = integral && eb[h] == 0.0 && sa[h] < kTwo52 ? 0.0 : err;
    }
}

// (err is written over eb; sa is a buffer)
void flat_products(const double* c, int mp, int r, const double* N, const double* Ne, bool integral, double* v,
                   double* sa, double* eb) {
    flat_products_body(c, mp, r, N, Ne, integral, v, sa, eb);
}

#if defined(EXACTRELU_AVX_DISPATCH)
EXACTRELU_TARGET_AVX void flat_products_avx(const double* c, int mp, int r, const double* N, const double* Ne,
                                            bool integral, double* v, double* sa, double* eb) {
    flat_products_body(c, mp, r, N, Ne, integral, v, sa, eb);
}
#endif

// Per-thread memo of exact full-rank minor signs: open addressing on a key that
// packs up to 8 sorted row ids of 16 bits (+1, so 0 marks an empty slot); emptied
// when it fills up or serves another walker.
struct MinorMemo {
    static constexpr std::size_t kSlots = std::size_t{1} << 17;
    std::vector<unsigned __int128> keys;
    std::vector<signed char> vals;
    std::size_t used = 0;
    uint64_t owner = 0;
    void reset(uint64_t uid) {
        if (keys.empty()) {
            keys.assign(kSlots, 0);
            vals.assign(kSlots, 0);
        } else if (used) {
            std::fill(keys.begin(), keys.end(), 0);
        }
        used = 0;
        owner = uid;
    }
};

}  // namespace

namespace {

// The class cache of same_class_zero: the 2-flat's basis, the class's first row (the
// representative), its cofactor residues (np x r) and the rows known to be in it.
struct ClassCache {
    uint64_t owner = 0;
    std::vector<int> T;
    int rep = -1;
    std::vector<uint64_t> cof;
    std::vector<int> members;
    bool has(int x) const { return std::find(members.begin(), members.end(), x) != members.end(); }
};
thread_local ClassCache g_class;

}  // namespace

namespace {

// The 2-flat's generators in double-double for flat_minor_filter (the minors of its
// basis T that set_generators rounds to doubles), the sums of |products| of their
// expansions, and each row's coordinates on them (computed when first asked, valid
// while `stamp` matches the row's).
struct FlatCoordsDD {
    uint64_t owner = 0;
    std::vector<int> T;
    std::vector<dd> N;          // e x r
    std::vector<double> Nabs;   // e x r
    uint64_t stamp = 0;
    std::vector<uint64_t> row_stamp;
    std::vector<dd> q;          // rows x e
    std::vector<double> qabs;   // rows x e
    bool ok = false;
};
thread_local FlatCoordsDD g_fcd;

// det of the c x c matrix rows[i][cols[j]] in double-double by Laplace expansion along
// the first row (c <= 4: at most 24 products), and the sum of |products| in `absum`.
dd laplace_dd(const double* const* rows, const int* cols, int c, double& absum) {
    if (c == 0) {
        absum = 1.0;
        return dd(1.0);
    }
    if (c == 1) {
        absum = std::fabs(rows[0][cols[0]]);
        return dd(rows[0][cols[0]]);
    }
    dd det(0.0);
    absum = 0.0;
    int sub[4];
    for (int j = 0; j < c; ++j) {
        double a = rows[0][cols[j]];
        if (a == 0.0) continue;
        int t = 0;
        for (int u = 0; u < c; ++u)
            if (u != j) sub[t++] = cols[u];
        double sabs;
        dd m = laplace_dd(rows + 1, sub, c - 1, sabs);
        dd term = m * dd(a);
        det = (j & 1) ? det - term : det + term;
        absum += std::fabs(a) * sabs;
    }
    return det;
}

// Bound on the double-double rounding of flat_minor_filter's 2 x 2 minor relative to
// the products of the coordinates' |product| sums (minors of at most 4 x 4, 24
// products of 4 factors, a dot product of r <= 6 terms, two products and a difference:
// under ~60 double-double operations deep, each off by <= ~4 * 2^-106): 2^-88 is
// > 100x that; plus an absolute term for underflowing partial products.
constexpr double kDdRelBound = 0x1p-88;
constexpr double kDdAbsBound = 0x1p-1000;

}  // namespace

int FlatWalker::flat_minor_filter(const Node& nd, int si, int sj, int k, int l) const {
    const int r = hm_.r, c = nd.c, e = r - c;
    if (c > 4 || e != 2) return 2;
    FlatCoordsDD& fc = g_fcd;
    if (fc.owner != uid_ || fc.T != nd.T) {
        fc.owner = uid_;
        fc.T = nd.T;
        ++fc.stamp;
        if (fc.row_stamp.size() != rows_.size()) {
            fc.row_stamp.assign(rows_.size(), 0);
            fc.q.assign(rows_.size() * 2, dd(0.0));
            fc.qabs.assign(rows_.size() * 2, 0.0);
        }
        fc.N.assign(static_cast<std::size_t>(e) * r, dd(0.0));
        fc.Nabs.assign(static_cast<std::size_t>(e) * r, 0.0);
        const double* trows[4];
        for (int i = 0; i < c; ++i) trows[i] = row(nd.T[i]);
        uint32_t best = 0;
        for (int jc : nd.J) best |= 1u << jc;
        fc.ok = true;
        // as set_generators: N_l[j] = (-1)^(c + position of j in cols) minor(T, cols - j)
        for (int li = 0; li < e; ++li) {
            uint32_t cols = best | (1u << nd.free_cols[li]);
            int pos = 0;
            for (int j = 0; j < r; ++j) {
                if (!(cols & (1u << j))) continue;
                int sub[4], t = 0;
                for (int u = 0; u < r; ++u)
                    if (u != j && (cols & (1u << u))) sub[t++] = u;
                double sabs;
                dd m = laplace_dd(trows, sub, c, sabs);
                fc.N[static_cast<std::size_t>(li) * r + j] = ((c + pos) & 1) ? -m : m;
                fc.Nabs[static_cast<std::size_t>(li) * r + j] = sabs;
                if (!std::isfinite(sabs)) fc.ok = false;
                ++pos;
            }
        }
    }
    if (!fc.ok) return 2;
    for (int s : {si, sj}) {
        if (fc.row_stamp[s] == fc.stamp) continue;
        fc.row_stamp[s] = fc.stamp;
        const double* a = row(s);
        for (int li = 0; li < 2; ++li) {
            dd v(0.0);
            double va = 0.0;
            for (int j = 0; j < r; ++j) {
                const std::size_t t = static_cast<std::size_t>(li) * r + j;
                if (fc.Nabs[t] == 0.0 || a[j] == 0.0) continue;
                v = v + fc.N[t] * dd(a[j]);
                va += std::fabs(a[j]) * fc.Nabs[t];
            }
            fc.q[2 * static_cast<std::size_t>(s) + li] = v;
            fc.qabs[2 * static_cast<std::size_t>(s) + li] = va;
        }
    }
    const dd* qi = fc.q.data() + 2 * static_cast<std::size_t>(si);
    const dd* qj = fc.q.data() + 2 * static_cast<std::size_t>(sj);
    const double* ai = fc.qabs.data() + 2 * static_cast<std::size_t>(si);
    const double* aj = fc.qabs.data() + 2 * static_cast<std::size_t>(sj);
    double absum = ai[k] * aj[l] + ai[l] * aj[k];
    if (!(absum < 0x1p600) || absum < 0x1p-600) return 2;  // overflow / underflow: exact
    dd m = qi[k] * qj[l] - qi[l] * qj[k];
    double bound = absum * kDdRelBound + kDdAbsBound;
    double v = m.hi + m.lo;
    if (v > bound) return 1;
    if (v < -bound) return -1;
    return 2;
}

bool FlatWalker::same_class_zero(const std::vector<int>& T, int x, int y) const {
    ClassCache& cc = g_class;
    if (np_ == 0 || cc.owner != uid_ || cc.rep < 0 || cc.T != T) return false;
    int other;
    if (cc.has(x)) other = y;
    else if (cc.has(y)) other = x;
    else return false;
    // the cofactors cost about 2.5 determinants: worth it from the fourth row of a class
    if (cc.members.size() < 3) return false;
    if (cc.cof.empty()) class_cofactors();
    const int r = hm_.r;
    for (std::size_t t = 0; t < np_; ++t) {
        const uint64_t p = primes_[t];
        const uint64_t* a = res_.data() + (static_cast<std::size_t>(other) * np_ + t) * r;
        const uint64_t* cf = cc.cof.data() + t * r;
        // residues < 2^31: three products and a reduced sum fit 64 bits, so one
        // division per three terms
        uint64_t acc = 0;
        int pending = 0;
        for (int j = 0; j < r; ++j) {
            acc += a[j] * cf[j];
            if (++pending == 3) {
                acc %= p;
                pending = 0;
            }
        }
        if (acc % p != 0) return false;
    }
    cc.members.push_back(other);
    return true;
}

void FlatWalker::note_zero(const std::vector<int>& T, int x, int y) const {
    ClassCache& cc = g_class;
    if (np_ == 0) return;
    if (cc.owner == uid_ && cc.rep >= 0 && cc.T == T && (cc.has(x) || cc.has(y))) {
        if (!cc.has(x)) cc.members.push_back(x);
        if (!cc.has(y)) cc.members.push_back(y);
        return;
    }
    // a new class; its cofactors are computed when a fourth row is tested against it
    cc.owner = uid_;
    cc.T = T;
    cc.rep = y;
    cc.members.assign({x, y});
    cc.cof.clear();
}

void FlatWalker::class_cofactors() const {
    // the cofactors of [T; a_rep] (signs irrelevant for a zero test)
    ClassCache& cc = g_class;
    const std::vector<int>& T = cc.T;
    const int r = hm_.r, c = static_cast<int>(T.size());
    cc.cof.resize(np_ * r);
    std::vector<int> rws(T);
    rws.push_back(cc.rep);
    uint64_t m[64];
    for (std::size_t t = 0; t < np_; ++t) {
        for (int l = 0; l < r; ++l) {
            for (int i = 0; i <= c; ++i) {
                const uint64_t* src = res_.data() + (static_cast<std::size_t>(rws[i]) * np_ + t) * r;
                int jj = 0;
                for (int j = 0; j < r; ++j)
                    if (j != l) m[i * (r - 1) + jj++] = src[j];
            }
            uint64_t v = det_mod_prime(m, r - 1, primes_[t]);
            cc.cof[t * r + l] = (l & 1) && v ? primes_[t] - v : v;
        }
    }
}

void FlatWalker::prepare_exact() {
    const int r = hm_.r;
    const int nrows = static_cast<int>(rows_.size());
    if (r > 8 || nrows == 0 || !res_.empty()) return;
    // bits of each row, then enough primes for the r widest rows together
    std::vector<double> bits(nrows);
    for (int s = 0; s < nrows; ++s) bits[s] = row_residues(row(s), r, 0, nullptr);
    std::vector<double> top(bits);
    std::sort(top.begin(), top.end(), std::greater<double>());
    double bound = r * (0.5 * std::log2(static_cast<double>(r)) + 0.01);
    for (int i = 0; i < r && i < nrows; ++i) bound += top[i];
    std::size_t np = primes_for_bits(bound);
    if (np > 64) return;  // absurd exponent ranges: the general fallback
    np_ = np;
    rowbits_ = std::move(bits);
    res_.resize(static_cast<std::size_t>(nrows) * np * r);
    for (int s = 0; s < nrows; ++s)
        row_residues(row(s), r, np, res_.data() + static_cast<std::size_t>(s) * np * r);
    primes_.resize(np);
    for (std::size_t t = 0; t < np; ++t) primes_[t] = det_prime(t);
}

int FlatWalker::full_minor_sign(const int* ids) const {
    const int r = hm_.r;
    unsigned __int128 key = 0;
    for (int i = 0; i < r; ++i) key = (key << 16) | static_cast<unsigned __int128>(ids[i] + 1);
    thread_local MinorMemo memo;
    if (memo.owner != uid_ || memo.used * 2 > MinorMemo::kSlots) memo.reset(uid_);
    uint64_t h = static_cast<uint64_t>(key) ^ static_cast<uint64_t>(key >> 64);
    h *= 0x9E3779B97F4A7C15ull;
    std::size_t slot = static_cast<std::size_t>(h >> 47) & (MinorMemo::kSlots - 1);
    while (memo.keys[slot] != 0) {
        if (memo.keys[slot] == key) return memo.vals[slot];
        slot = (slot + 1) & (MinorMemo::kSlots - 1);
    }
    int d;
    if (np_ > 0) {
        // from the precomputed residues: a determinant per prime, then the sign
        double bound = r * (0.5 * std::log2(static_cast<double>(r)) + 0.01);
        for (int i = 0; i < r; ++i) bound += rowbits_[ids[i]];
        std::size_t np = std::min(np_, primes_for_bits(bound));
        uint64_t a[64], res[64];
        bool zero = true;
        for (std::size_t t = 0; t < np; ++t) {
            for (int i = 0; i < r; ++i) {
                const uint64_t* src = res_.data() + (static_cast<std::size_t>(ids[i]) * np_ + t) * r;
                for (int j = 0; j < r; ++j) a[i * r + j] = src[j];
            }
            res[t] = det_mod_prime(a, r, primes_[t]);
            if (res[t]) zero = false;
        }
        d = zero ? 0 : sign_from_residues(res, np);
    } else {
        double m[64];
        for (int i = 0; i < r; ++i)
            for (int j = 0; j < r; ++j) m[i * r + j] = row(ids[i])[j];
        d = det_sign_exact(m, r);
    }
    memo.keys[slot] = key;
    memo.vals[slot] = static_cast<signed char>(d);
    ++memo.used;
    return d;
}

FlatWalker FlatWalker::over_lines(const HypMatrix& hm, const std::atomic<bool>* cancel) {
    std::vector<int> rows(hm.m);
    std::iota(rows.begin(), rows.end(), 0);
    return FlatWalker(hm, std::move(rows), hm.r - 1, cancel);
}

Node FlatWalker::root() const {
    Node nd;
    nd.c = 0;
    nd.mv.assign(1, 1.0);
    nd.mpa.assign(1, 1.0);
    set_generators(nd);
    return nd;
}

void FlatWalker::set_generators(Node& nd) const {
    const int c = nd.c, r = hm_.r;
    const MaskTables& mtab = mask_tables(r);
    const std::vector<int>& rank = mtab.rank;
    auto val = [&](uint32_t mask) { return nd.mv[rank[mask]]; };
    auto err = [&](uint32_t mask) { return minor_error_bound(nd.mpa[rank[mask]], c, hm_.integral); };
    // pivot: the c-subset of columns with the largest certified minor
    uint32_t best = 0;
    double bestv = -1.0;
    for (uint32_t mask : mtab.by_k[c]) {
        double v = std::fabs(val(mask));
        if (v > err(mask) && v > bestv) { bestv = v; best = mask; }
    }
    int dsg = 0;
    if (bestv < 0.0) {
        // nothing certified by the filter: exact search
        for (uint32_t mask : mtab.by_k[c]) {
            if (dsg != 0) break;
            std::vector<double> m(static_cast<std::size_t>(c) * c);
            int jj = 0;
            for (int j = 0; j < r; ++j) {
                if (!(mask & (1u << j))) continue;
                for (int i = 0; i < c; ++i) m[i * c + jj] = row(nd.T[i])[j];
                ++jj;
            }
            dsg = det_sign_exact(m.data(), c);
            if (dsg != 0) best = mask;
        }
        if (dsg == 0) throw NumericalFailure("flat basis is singular (internal error)");
    } else {
        dsg = val(best) > 0 ? 1 : -1;
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
            int pos = popcount32(cols & ((1u << j) - 1));
            double sg = ((c + pos) & 1) ? -1.0 : 1.0;
            uint32_t sub = cols & ~(1u << j);
            nd.N[static_cast<std::size_t>(li) * r + j] = sg * val(sub);
            nd.Nerr[static_cast<std::size_t>(li) * r + j] = err(sub);
        }
    }
}

namespace {

// proportional_columns on the rows of T and then `extra` (the flat's rows, then one or
// two more), and the columns J and then `more`: a sufficient, exact test that their
// minor is 0 (at most 16 rows and columns; false above).
bool proportional_on(const FlatWalker& W, const std::vector<int>& T, std::initializer_list<const double*> extra,
                     const std::vector<int>& J, std::initializer_list<int> more) {
    const double* R[16];
    int cols[16];
    const std::size_t nr = T.size() + extra.size(), nc = J.size() + more.size();
    if (nr > 16 || nc > 16) return false;
    int i = 0;
    for (int t : T) R[i++] = W.row(t);
    for (const double* a : extra) R[i++] = a;
    int j = 0;
    for (int c : J) cols[j++] = c;
    for (int c : more) cols[j++] = c;
    return proportional_columns(R, static_cast<int>(nr), cols, static_cast<int>(nc));
}

}  // namespace

int FlatWalker::coord_sign(const Node& nd, int s, int li, double val, double err) const {
    if (val > err) return 1;
    if (val < -err) return -1;
    // exact: det([T; a] on sorted(J + {l}))
    const double* a = row(s);
    int c = nd.c, k = c + 1;
    int l = nd.free_cols[li];
    // a row that is 0 on every column of that minor (the coordinate hyperplanes of the
    // pricing arrangement, mostly) has the coordinate 0 without computing it
    if (a[l] == 0.0) {
        bool zero = true;
        for (int j : nd.J) zero = zero && a[j] == 0.0;
        if (zero) return 0;
    }
    if (proportional_on(*this, nd.T, {a}, nd.J, {l})) return 0;  // (ties)
    if (np_ > 0 && k <= 8) {
        // from the rows' precomputed residues (each row scaled by a positive power of
        // two: the sign is unchanged), on the columns J + {l} in increasing order
        int cols[8], nc = 0;
        for (int j = 0; j < hm_.r; ++j)
            if (j == l || std::binary_search(nd.J.begin(), nd.J.end(), j)) cols[nc++] = j;
        double bound = k * (0.5 * std::log2(static_cast<double>(k)) + 0.01) + rowbits_[s];
        for (int i = 0; i < c; ++i) bound += rowbits_[nd.T[i]];
        std::size_t np = std::min(np_, primes_for_bits(bound));
        uint64_t m[64], res[64];
        bool zero = true;
        const int r = hm_.r;
        for (std::size_t t = 0; t < np; ++t) {
            for (int i = 0; i < k; ++i) {
                int id = i < c ? nd.T[i] : s;
                const uint64_t* src = res_.data() + (static_cast<std::size_t>(id) * np_ + t) * r;
                for (int j = 0; j < k; ++j) m[i * k + j] = src[cols[j]];
            }
            res[t] = det_mod_prime(m, k, primes_[t]);
            if (res[t]) zero = false;
        }
        return zero ? 0 : sign_from_residues(res, np);
    }
    std::vector<int> cols = nd.J;
    cols.push_back(l);
    std::sort(cols.begin(), cols.end());
    std::vector<double> m(static_cast<std::size_t>(k) * k);
    for (int i = 0; i < c; ++i)
        for (int j = 0; j < k; ++j) m[i * k + j] = row(nd.T[i])[cols[j]];
    for (int j = 0; j < k; ++j) m[c * k + j] = a[cols[j]];
    return det_sign_exact(m.data(), k);
}

// Per-thread buffers of a sweep, reused from one node to the next.
struct SweepScratch {
    std::vector<char> inS;
    std::vector<int> items, first, order;
    std::vector<double> q, qerr, key, slope;
    std::vector<double> pv, pe;  // every row's coordinates and their error bounds (e x mp)
    std::vector<double> ps;      // (a buffer, mp)
    std::vector<uint64_t> keys64, keys_tmp;
    std::vector<signed char> flip, rel;
};

namespace {

// The sign of q_i[k] q_j[l] - q_i[l] q_j[k] where the float value certifies it (the
// errors of the coordinates ei, ej and of the products bounded), else 0 (undecided).
inline int minor2_float(const double* qi, const double* ei, const double* qj, const double* ej, int k, int l) {
    const double x1 = qi[k], y2 = qj[l], x2 = qi[l], y1 = qj[k];
    const double v = x1 * y2 - x2 * y1;
    double bound = std::fabs(x1) * ej[l] + ei[k] * std::fabs(y2) + ei[k] * ej[l] + std::fabs(x2) * ej[k] +
                   ei[l] * std::fabs(y1) + ei[l] * ej[k] + (std::fabs(x1 * y2) + std::fabs(x2 * y1)) * 3 * kUnit;
    bound = bound * kBoundSafety + kTinyBound;
    return (v > bound) - (v < -bound);  // (no branch: the sign is random, the caller's use not)
}

// 2-flats with at least this many items sort their float keys by radix (below it they
// are counted into place, see rank_sort_slopes).
constexpr int kRadixMinItems = 128;

// Sort keys by their top 32 bits, stably (LSD radix, 8 bits a pass; a pass whose byte
// is the same for every key is skipped). tmp: a buffer.
void radix_sort_high32(std::vector<uint64_t>& keys, std::vector<uint64_t>& tmp) {
    const std::size_t n = keys.size();
    tmp.resize(n);
    uint64_t* src = keys.data();
    uint64_t* dst = tmp.data();
    for (int shift = 32; shift < 64; shift += 8) {
        std::size_t cnt[256] = {};
        for (std::size_t i = 0; i < n; ++i) ++cnt[(src[i] >> shift) & 0xff];
        if (cnt[(src[0] >> shift) & 0xff] == n) continue;
        std::size_t pos = 0;
        for (int b = 0; b < 256; ++b) {
            const std::size_t c = cnt[b];
            cnt[b] = pos;
            pos += c;
        }
        for (std::size_t i = 0; i < n; ++i) dst[cnt[(src[i] >> shift) & 0xff]++] = src[i];
        std::swap(src, dst);
    }
    if (src != keys.data()) std::copy(src, src + n, keys.data());
}

// Below kRadixMinItems, 2-flats order their float slopes by counting: an item's
// position is the number of items with a smaller slope, found by branch-free vector
// comparisons of four items at a time against all (on random slopes a comparison sort
// mispredicts about every other branch: 56 items took 950 ns, counting 200 ns with
// AVX). Items with equal slopes take consecutive positions in index order. s holds n
// slopes without NaN, padded with +inf to a multiple of 4; order gets the permutation.
inline void place_counted(const int* counts, int i, int k_end, int* order) {
    for (int k = 0; k < k_end; ++k) {
        int c = counts[k];
        while (order[c] >= 0) ++c;  // (equal slopes: the next free position)
        order[c] = i + k;
    }
}

void rank_sort_slopes(const double* s, int n, int* order) {
    std::fill(order, order + n, -1);
    for (int i = 0; i < n; i += 4) {
        int counts[4];
#if defined(EXACTRELU_SSE2)
        const __m128d one = _mm_set1_pd(1.0);
        __m128d x[4], c[4];
        for (int k = 0; k < 4; ++k) {
            x[k] = _mm_set1_pd(s[i + k]);
            c[k] = _mm_setzero_pd();
        }
        for (int j = 0; j < n; j += 2) {
            const __m128d v = _mm_loadu_pd(s + j);
            for (int k = 0; k < 4; ++k) c[k] = _mm_add_pd(c[k], _mm_and_pd(_mm_cmplt_pd(v, x[k]), one));
        }
        for (int k = 0; k < 4; ++k) {
            double t[2];
            _mm_storeu_pd(t, c[k]);
            counts[k] = static_cast<int>(t[0] + t[1]);
        }
#else
        for (int k = 0; k < 4; ++k) {
            int c = 0;
            for (int j = 0; j < n; ++j) c += s[j] < s[i + k];
            counts[k] = c;
        }
#endif
        place_counted(counts, i, std::min(4, n - i), order);
    }
}

#if defined(EXACTRELU_AVX_DISPATCH)
EXACTRELU_TARGET_AVX void rank_sort_slopes_avx(const double* s, int n, int* order) {
    std::fill(order, order + n, -1);
    const __m256d one = _mm256_set1_pd(1.0);
    for (int i = 0; i < n; i += 4) {
        __m256d x[4], c[4];
        for (int k = 0; k < 4; ++k) {
            x[k] = _mm256_broadcast_sd(s + i + k);
            c[k] = _mm256_setzero_pd();
        }
        for (int j = 0; j < n; j += 4) {
            const __m256d v = _mm256_loadu_pd(s + j);
            for (int k = 0; k < 4; ++k)
                c[k] = _mm256_add_pd(c[k], _mm256_and_pd(_mm256_cmp_pd(v, x[k], _CMP_LT_OQ), one));
        }
        // the four horizontal sums at once
        const __m256d h01 = _mm256_hadd_pd(c[0], c[1]), h23 = _mm256_hadd_pd(c[2], c[3]);
        const __m256d tot = _mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x21), _mm256_blend_pd(h01, h23, 0xC));
        int counts[4];
        _mm_storeu_si128(reinterpret_cast<__m128i*>(counts), _mm256_cvttpd_epi32(tot));
        place_counted(counts, i, std::min(4, n - i), order);
    }
}
#endif

// rank_sort_slopes on n slopes in s, whose room up to a multiple of 4 is padded here
// with +inf; the AVX version where wide.
void count_slopes(double* s, int n, bool wide, int* order) {
    std::fill(s + n, s + ((n + 3) & ~3), HUGE_VAL);
#if defined(EXACTRELU_AVX_DISPATCH)
    if (wide) {
        rank_sort_slopes_avx(s, n, order);
        return;
    }
#endif
    (void)wide;
    rank_sort_slopes(s, n, order);
}

}  // namespace

int FlatWalker::sweep_coordinates(const Node& nd, SweepScratch& sc) const {
    const int r = hm_.r, e = r - nd.c;
    const int nrows = static_cast<int>(rows_.size());
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
    // the products with each generator, for every row at once
    const std::size_t cm = static_cast<std::size_t>(mp_);
    sc.pv.resize(e * cm);
    sc.ps.resize(cm);
    sc.pe.resize(e * cm);
    for (int li = 0; li < e; ++li) {
        const double* N = Nd + static_cast<std::size_t>(li) * r;
        const double* Ne = Ned + static_cast<std::size_t>(li) * r;
        double* v = sc.pv.data() + li * cm;
        double* sa = sc.ps.data();
        double* eb = sc.pe.data() + li * cm;
#if defined(EXACTRELU_AVX_DISPATCH)
        if (wide_) {
            flat_products_avx(cols_.data(), mp_, r, N, Ne, hm_.integral, v, sa, eb);
            continue;
        }
#endif
        flat_products(cols_.data(), mp_, r, N, Ne, hm_.integral, v, sa, eb);
    }
    for (int s = 0; s < nrows; ++s) {
        if (sc.inS[s]) continue;
        double* qv = sc.q.data() + static_cast<std::size_t>(ni) * e;
        double* qe = sc.qerr.data() + static_cast<std::size_t>(ni) * e;
        for (int li = 0; li < e; ++li) {
            qv[li] = sc.pv[li * cm + s];
            qe[li] = sc.pe[li * cm + s];
        }
        int fz = -1, fs = 0;
        for (int li = 0; li < e; ++li) {
            const double v = qv[li], err = qe[li];
            // (|v| > err almost always: a predictable branch; the sign itself without one)
            const int sg = std::fabs(v) > err ? (v > 0) - (v < 0)
                           : err == 0.0     ? 0
                                            : coord_sign(nd, s, li, v, err);
            if (sg != 0) { fz = li; fs = sg; break; }
        }
        if (fz < 0) continue;  // contains the flat (cannot happen: S is complete)
        sc.items[ni] = s;
        sc.flip[ni] = static_cast<signed char>(fs);
        sc.first[ni] = fz;
        ++ni;
    }
    return ni;
}

void FlatWalker::sweep(const Node& nd, Sweep& sw) const {
    static std::atomic<uint64_t> next_id{1};
    sw.id = next_id.fetch_add(1, std::memory_order_relaxed);
    const int e = hm_.r - nd.c;
    sw.e = e;
    thread_local SweepScratch sc;
    const int ni = sweep_coordinates(nd, sc);
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
            int sg = minor2_float(qi, ei, qj, ej, k, c0);  // (inline: most pairs stop here)
            if (sg == 0) sg = minor2(nd, qi, ei, items[i], qj, ej, items[j], k, c0);
            sg *= flip[i] * flip[j];
            if (sg != 0) return sg;
        }
        return 0;
    };
    // Float keys (first nonzero coordinate, then the ratios q[k] / q[first]) give a
    // nearly sorted order cheaply; an insertion sort with the exact comparator then
    // makes it exact (it only does work where float keys were too close to call).
    sc.order.resize(ni);
    int* order = sc.order.data();
    if (e == 2 && ni < kRadixMinItems) {
        // 2-flats (most sweeps), small: the slopes q1 / q0 counted into place (NaN, 0 / 0
        // from underflowed coordinates, as 0; items with q0 == 0 last; padded with +inf
        // to a multiple of 4)
        const int np = (ni + 3) & ~3;
        sc.key.resize(np);
        double* s = sc.key.data();
        for (int i = 0; i < ni; ++i) {
            const double t = first[i] == 0 ? q[2 * i + 1] / q[2 * i] : HUGE_VAL;
            s[i] = t == t ? t : 0.0;
        }
        count_slopes(s, ni, wide_, order);
    } else if (e == 2) {
        // large 2-flats: one integer key per item, the order-preserving bits of the
        // slope (items with q0 == 0 last) with the item's index in its low 32 bits,
        // sorted by radix on the top 32 bits (~20 bits of the slope's mantissa; the
        // exact pass below orders what that leaves tied; it is stable on the index)
        const uint64_t low = 0xffffffff;
        sc.keys64.resize(ni);
        for (int i = 0; i < ni; ++i) {
            uint64_t k;
            if (first[i] == 0) {
                double slope = q[2 * i + 1] / q[2 * i];
                uint64_t b;
                std::memcpy(&b, &slope, sizeof b);
                b = (b >> 63) ? ~b : (b | (uint64_t{1} << 63));
                k = b >> 1;
            } else {
                k = uint64_t{1} << 63;
            }
            sc.keys64[i] = (k & ~low) | static_cast<uint64_t>(i);
        }
        radix_sort_high32(sc.keys64, sc.keys_tmp);
        for (int i = 0; i < ni; ++i) order[i] = static_cast<int>(sc.keys64[i] & low);
    } else {
        // higher flats: the ratios q[k] / q[first] for k > first (NaN as 0), compared
        // after the first nonzero coordinate; below kRadixMinItems the items are counted
        // into place by their first ratio (items whose coordinate 0 is 0 last, as
        // +inf), then each run of equal first ratios is sorted by the whole key
        sc.key.resize(static_cast<std::size_t>(ni) * e);
        for (int i = 0; i < ni; ++i) {
            const double* qi = q + static_cast<std::size_t>(i) * e;
            double* ki = sc.key.data() + static_cast<std::size_t>(i) * e;
            const double den = qi[first[i]];
            for (int k = 0; k < e; ++k) {
                const double t = k <= first[i] ? 0.0 : qi[k] / den;
                ki[k] = t == t ? t : 0.0;
            }
        }
        const double* key = sc.key.data();
        auto float_less = [&](int x, int y) {
            if (first[x] != first[y]) return first[x] < first[y];
            const double* kx = key + static_cast<std::size_t>(x) * e;
            const double* ky = key + static_cast<std::size_t>(y) * e;
            for (int k = first[x] + 1; k < e; ++k)
                if (kx[k] != ky[k]) return kx[k] < ky[k];
            return items[x] < items[y];
        };
        if (ni < kRadixMinItems) {
            const int np = (ni + 3) & ~3;
            sc.slope.resize(np);
            double* s = sc.slope.data();
            for (int i = 0; i < ni; ++i) s[i] = first[i] == 0 ? key[static_cast<std::size_t>(i) * e + 1] : HUGE_VAL;
            count_slopes(s, ni, wide_, order);
            for (int a = 0; a < ni;) {
                int b = a + 1;
                while (b < ni && s[order[b]] == s[order[a]]) ++b;
                if (b - a > 1) std::sort(order + a, order + b, float_less);
                a = b;
            }
        } else {
            for (int i = 0; i < ni; ++i) order[i] = i;
            std::sort(order, order + ni, float_less);
        }
    }
    // Exact insertion sort: one exact comparison per adjacent pair when the float order
    // was right (the common case); rel[p] = cmp3(order[p - 1], order[p]) is kept for
    // the class boundaries (2: unknown, after an element moved past position p).
    auto exact_less = [&](int i, int j, int& c) {
        c = cmp3(i, j);
        if (c != 0) return c < 0;
        return items[i] < items[j];  // deterministic order inside a class
    };
    sc.rel.assign(ni, 2);
    signed char* rel = sc.rel.data();
    for (int p = 1; p < ni; ++p) {
        int x = order[p];
        int t = p, c = 0;
        bool less = exact_less(x, order[t - 1], c);
        if (!less) {
            rel[p] = static_cast<signed char>(-c);  // cmp3(order[p - 1], x)
            continue;
        }
        while (less) {
            order[t] = order[t - 1];
            --t;
            if (t == 0) break;
            less = exact_less(x, order[t - 1], c);
        }
        order[t] = x;
        for (int u = std::max(t, 1); u <= p; ++u) rel[u] = 2;
        if (t + 1 < ni) rel[t + 1] = 2;
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
        if (p == 0) {
            sw.cls_start.push_back(p);
            continue;
        }
        int c = rel[p] == 2 ? cmp3(order[p - 1], o) : rel[p];
        if (c != 0) sw.cls_start.push_back(p);
    }
    sw.cls_start.push_back(ni);
}

int FlatWalker::minor2(const Node& nd, const double* qi, const double* ei, int si,
                       const double* qj, const double* ej, int sj, int k, int l) const {
    double x1 = qi[k], y2 = qj[l], x2 = qi[l], y1 = qj[k];
    if (ei[k] == 0 && ej[l] == 0 && ei[l] == 0 && ej[k] == 0) {
        double t[4];
        t[0] = x1 * y2;
        t[1] = std::fma(x1, y2, -t[0]);
        t[2] = -(x2 * y1);
        t[3] = -std::fma(x2, y1, -(x2 * y1));
        return sum_sign_exact(t, 4);
    }
    // at a 2-flat, the same minor from coordinates accurate to double-double first:
    // near-ties of rounded data (the common case) are not zero
    int f = nd.c + 2 == hm_.r ? flat_minor_filter(nd, si, sj, k, l) : 2;
#ifndef EXACTRELU_CHECK_FILTER
    if (f != 2) return f;
#endif
    // exact: sigma_k sigma_l det(P) det([T; a_i; a_j] on [J, k, l])
    int c = nd.c, n2 = c + 2;
    int kc = nd.free_cols[k], lc = nd.free_cols[l];
    int sk = 0, sl = 0;
    for (int jc : nd.J) {
        if (jc > kc) ++sk;
        if (jc > lc) ++sl;
    }
    int sigma = (((sk + sl) & 1) ? -1 : 1);
    int d;
    if (n2 == hm_.r && n2 <= 8 && rows_.size() < 65535) {
        // every column: the minor depends on the rows only (memoized, sorted), with the
        // parities of the row and column orders
        if (proportional_on(*this, nd.T, {row(si), row(sj)}, nd.J, {kc, lc})) return 0;
        if (same_class_zero(nd.T, si, sj)) return 0;
        int ids[8];
        for (int a = 0; a < c; ++a) ids[a] = nd.T[a];
        ids[c] = si;
        ids[c + 1] = sj;
        int parity = 0;
        for (int a = 1; a < n2; ++a)
            for (int b = a; b > 0 && ids[b - 1] > ids[b]; --b) {
                std::swap(ids[b - 1], ids[b]);
                parity ^= 1;
            }
        for (int a = 1; a < n2; ++a)
            if (ids[a] == ids[a - 1]) return 0;  // a repeated row (cannot happen)
        // columns [J, kc, lc]: J is sorted, so the inversions involve kc and lc only
        parity ^= (sk + sl + (kc > lc ? 1 : 0)) & 1;
        d = full_minor_sign(ids) * (parity ? -1 : 1);
        if (d == 0) note_zero(nd.T, si, sj);
    } else if (proportional_on(*this, nd.T, {row(si), row(sj)}, nd.J, {kc, lc})) {
        d = 0;  // (ties: two columns proportional on these rows)
    } else {
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
        d = det_sign_exact(m.data(), n2);
    }
#ifdef EXACTRELU_CHECK_FILTER
    if (f != 2 && f != sigma * nd.det_sign * d) throw NumericalFailure("flat_minor_filter disagrees");
#endif
    return sigma * nd.det_sign * d;
}

namespace {

// The smallest item of class cls: the hyperplane that joins the basis T of the child.
int class_min(const Sweep& sw, int cls) {
    int mn = INT_MAX;
    for (int p = sw.cls_start[cls]; p < sw.cls_start[cls + 1]; ++p) mn = std::min(mn, sw.items[p]);
    return mn;
}

}  // namespace

bool FlatWalker::canonical(const Node& nd, const Sweep& sw, int cls) const {
    int tlast = nd.T.empty() ? -1 : nd.T.back();
    return class_min(sw, cls) > tlast;
}

namespace {

// The covering family's members by the parts of their rows (docs/design.md section 8):
// len 3, parts mod 3: Turan's construction (the three in one part, or two in part p and
// one in part p + 1), 4/9 of the sets; len 4 and 5, parts mod 4: the families below,
// the least dense by parts mod 4 (a set-cover program over the multisets of parts; every
// (len + 1)-multiset holds a member), 3/8 and 0.35 of the sets in the limit; otherwise
// parts mod 2: an even number of odd indices or all odd, about 1/2.
int family_parts(int len) { return len == 3 ? 3 : (len == 4 || len == 5) ? 4 : 2; }

// Members of the families by parts mod 4, as the sorted parts of their rows.
constexpr const char* kFamily4[] = {"0000", "0001", "0003", "0011", "0022", "0033", "0123",
                                    "1111", "1112", "1113", "1122", "1133", "1222", "1333",
                                    "2222", "2223", "2233", "2333", "3333"};
constexpr const char* kFamily5[] = {"00000", "00002", "00003", "00011", "00023", "00113", "00122",
                                    "00133", "00222", "00333", "01111", "01112", "01133", "01222",
                                    "02233", "11111", "11112", "11133", "11222", "11223", "12333",
                                    "13333", "22222", "22223", "22233", "23333", "33333"};

// A multiset of parts mod 4 of len <= 5 rows, from its counts per part.
inline int parts_code(const int* c) { return c[0] + 6 * (c[1] + 6 * (c[2] + 6 * c[3])); }

// Membership in the covering family of a set of len rows from its count of rows per
// part, c[p] for p < family_parts(len).
bool family_by_parts(const int* c, int len) {
    if (len < 2) return true;
    if (len == 3) {
        for (int p = 0; p < 3; ++p)
            if (c[p] == 3 || (c[p] == 2 && c[(p + 1) % 3] == 1)) return true;
        return false;
    }
    if (len == 4 || len == 5) {
        static const std::vector<char> member = [] {
            std::vector<char> m(6 * 6 * 6 * 6, 0);
            auto add = [&m](const char* t) {
                int cnt[4] = {0, 0, 0, 0};
                for (const char* x = t; *x; ++x) ++cnt[*x - '0'];
                m[parts_code(cnt)] = 1;
            };
            for (const char* t : kFamily4) add(t);
            for (const char* t : kFamily5) add(t);
            return m;
        }();
        return member[parts_code(c)] != 0;
    }
    return c[1] % 2 == 0 || c[1] == len;
}

}  // namespace

bool in_covering_family(const int* t, int len) {
    const int m = family_parts(len);
    int c[4] = {0, 0, 0, 0};
    for (int i = 0; i < len; ++i) ++c[index_part(t[i], m)];
    return family_by_parts(c, len);
}

bool FlatWalker::minor_nonzero(int* ids) const {
    const int r = hm_.r;
    std::sort(ids, ids + r);
    for (int i = 1; i < r; ++i)
        if (ids[i] == ids[i - 1]) return false;
    if (r <= 8 && rows_.size() < 65535) return full_minor_sign(ids) != 0;
    std::vector<double> m(static_cast<std::size_t>(r) * r);
    for (int i = 0; i < r; ++i)
        for (int j = 0; j < r; ++j) m[static_cast<std::size_t>(i) * r + j] = row(ids[i])[j];
    return det_sign_exact(m.data(), r) != 0;
}

// Every row through the line lies in the (r - 1)-space V spanned by B0 = T + {class
// min}; a row x not through the line is outside V. A set P of such rows is independent
// iff some completion of P by rows of B0 to r - 1 rows, with x, has a nonzero minor.
void FlatWalker::line_basis(const Node& nd, const Sweep& sw, int cls, int* B) const {
    const int r = hm_.r;
    const int k0 = sw.cls_start[cls], k1 = sw.cls_start[cls + 1];
    std::vector<int> B0(nd.T);
    B0.push_back(class_min(sw, cls));
    // a row not through the line: an item of another class, else any row outside M(L)
    int x = -1;
    const int ni = static_cast<int>(sw.items.size());
    if (k0 > 0) x = sw.items[0];
    else if (k1 < ni) x = sw.items[k1];
    else {
        std::vector<int> on(nd.S);
        for (int p = k0; p < k1; ++p) on.push_back(sw.items[p]);
        std::sort(on.begin(), on.end());
        for (int h = 0; h < static_cast<int>(rows_.size()) && x < 0; ++h)
            if (!std::binary_search(on.begin(), on.end(), h)) x = h;
        if (x < 0) throw NumericalFailure("walk: no row off a line of a full-rank arrangement");
    }
    // candidates in increasing order: T and the class (rows of S outside T are spanned
    // by the basis rows before them, so never picked)
    std::vector<int> cand(nd.T);
    for (int p = k0; p < k1; ++p) cand.push_back(sw.items[p]);
    std::sort(cand.begin(), cand.end());
    int P[16], ids[16];
    int np = 0;
    for (int h : cand) {
        if (np == r - 1) break;
        // is P + {h} independent?
        const int need = r - 1 - (np + 1);   // rows of B0 to complete with
        bool indep = false;
        if (h == B0.back()) {
            indep = true;   // the class's first row is off span(T); P (rows of T) is in it
        } else {
            // subsets of B0 of size `need` (bitmasks over r - 1 <= 15 rows)
            const int nb = r - 1;
            for (uint32_t mask = 0; mask < (1u << nb) && !indep; ++mask) {
                if (popcount32(mask) != need) continue;
                int k = 0;
                for (int i = 0; i < np; ++i) ids[k++] = P[i];
                ids[k++] = h;
                for (int i = 0; i < nb; ++i)
                    if (mask & (1u << i)) ids[k++] = B0[i];
                ids[k++] = x;
                indep = minor_nonzero(ids);
            }
        }
        if (indep) P[np++] = h;
    }
    if (np != r - 1) throw NumericalFailure("walk: the rows through a line do not have rank r - 1");
    std::copy(P, P + np, B);
}

CoveringRule::CoveringRule(const std::vector<int>& T)
    : T_(T), len_(static_cast<int>(T.size())), parts_(family_parts(len_)) {
    int c[4] = {0, 0, 0, 0};
    for (int t : T) ++c[part(t)];
    // Membership of T - t + k depends on t and k only through their parts: bad_[q]
    // holds the parts p of t for which T - t + k is a member when k has part q,
    // present_[j] the parts of the rows T[j..].
    for (int q = 0; q < parts_; ++q) {
        bad_[q] = 0;
        for (int p = 0; p < parts_; ++p) {
            if (c[p] == 0) continue;  // (no row t of T has part p)
            int d[4] = {c[0], c[1], c[2], c[3]};
            --d[p];
            ++d[q];
            if (family_by_parts(d, len_)) bad_[q] |= 1u << p;
        }
    }
    present_[len_] = 0;
    for (int i = len_ - 1; i >= 0; --i) present_[i] = present_[i + 1] | (1u << part(T_[i]));
}

bool CoveringRule::designated(int k) const {
    // B = T + {k} sorted; the subsets before T in lexicographic order are T - t + k for
    // the rows t > k of T (those from T[j] on); T is designated when none is a member.
    int j = 0;  // (the rows of T below k, counted without a branch: k falls anywhere)
    for (int i = 0; i < len_; ++i) j += T_[i] < k;
    return (present_[j] & bad_[part(k)]) == 0;
}

// (inline: the walk calls it for every class of every swept 2-flat)
inline __attribute__((always_inline)) bool FlatWalker::emits(const Node& nd, const Sweep& sw, int cls,
                                                             const CoveringRule& rule) const {
    const int r = hm_.r;
    const int kmin = class_min(sw, cls);
    // The greedy basis B(L) holds kmin (off span(T)); T is one of its (r - 2)-subsets
    // only when B(L) = T + {kmin}, and then T is designated iff rule.designated(kmin):
    // that test is necessary in every case, and sufficient when B(L) = T + {kmin} is
    // known (kmin follows T, or exactly r - 1 independent rows pass through the line).
    if (!rule.designated(kmin)) return false;
    const int nk = sw.cls_start[cls + 1] - sw.cls_start[cls];
    if (kmin > nd.T.back() || (nk == 1 && nd.S.size() == nd.T.size())) return true;
    return emits_by_basis(nd, sw, cls, kmin);
}

bool FlatWalker::emits_by_basis(const Node& nd, const Sweep& sw, int cls, int kmin) const {
    int B[16];
    line_basis(nd, sw, cls, B);
    int k = 0;
    bool put = false;
    for (int t : nd.T) {   // B(L) == T + {kmin}, both increasing?
        if (!put && kmin < t) {
            if (B[k++] != kmin) return false;
            put = true;
        }
        if (B[k++] != t) return false;
    }
    return put || B[k] == kmin;
}

Node FlatWalker::child(const Node& nd, const Sweep& sw, int cls) const {
    Node ch;
    child_into(nd, sw, cls, ch);
    return ch;
}

void FlatWalker::child_into(const Node& nd, const Sweep& sw, int cls, Node& ch) const {
    ch.c = nd.c + 1;
    ch.S.clear();
    append_flat_members(nd, sw, cls, ch.S);
    ch.T.assign(nd.T.begin(), nd.T.end());
    ch.T.push_back(class_min(sw, cls));
    if (ch.c < hm_.r) {
        extend_minors(nd.mv, nd.mpa, nd.c, row(ch.T.back()), hm_.r, ch.mv, ch.mpa);
        set_generators(ch);
    } else {
        ch.J.clear();
        ch.free_cols.clear();
        ch.N.clear();
        ch.Nerr.clear();
        ch.mv.clear();
        ch.mpa.clear();
        ch.det_sign = 1;
    }
}

void append_flat_members(const Node& nd, const Sweep& sw, int cls, std::vector<int>& out) {
    std::size_t off = out.size();
    out.insert(out.end(), nd.S.begin(), nd.S.end());
    for (int p = sw.cls_start[cls]; p < sw.cls_start[cls + 1]; ++p) out.push_back(sw.items[p]);
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(off), out.end());
}

RootSplit split_root(const FlatWalker& W) {
    RootSplit rs;
    rs.root = W.root();
    W.sweep(rs.root, rs.sweep);
    for (int cls = 0; cls + 1 < static_cast<int>(rs.sweep.cls_start.size()); ++cls)
        if (W.canonical(rs.root, rs.sweep, cls)) rs.classes.push_back(cls);
    return rs;
}

// ----------------------------------------------------------------------------------
void line_direction(const LineRef& L, int r, double* v) {
    const Sweep& sw = *L.sweep;
    const Node& nd = *L.node;
    int p = L.first();
    double f = sw.flip[p];
    double q0 = f * sw.q[static_cast<std::size_t>(p) * 2];
    double q1 = f * sw.q[static_cast<std::size_t>(p) * 2 + 1];
    for (int j = 0; j < r; ++j) v[j] = q1 * nd.N[j] - q0 * nd.N[r + j];
}

namespace {

void descend(const FlatWalker& W, const Node& nd, int task,
             const std::function<void(int, const FlatLines&)>& on_flat) {
    W.check_cancel();
    SweepLease lease;
    Sweep& sw = *lease;
    W.sweep(nd, sw);
    int ncls = static_cast<int>(sw.cls_start.size()) - 1;
    int r = W.r();
    // rank >= 4: only the 2-flats of the covering family are swept, each emitting the
    // lines it is the designated 2-flat of (docs/design.md section 8)
    const bool covering = r >= 4 && r - 2 <= kCoveringMaxLen;
    if (nd.c == r - 2) {
        // (in the sweep's buffer: a callback may run a walk of its own on this thread)
        std::vector<int>& emitted = sw.emitted;
        emitted.clear();
        if (!covering) {
            for (int cls = 0; cls < ncls; ++cls)
                if (W.canonical(nd, sw, cls)) emitted.push_back(cls);
        } else {
            CoveringRule rule(nd.T);
            for (int cls = 0; cls < ncls; ++cls)
                if (W.emits(nd, sw, cls, rule)) emitted.push_back(cls);
        }
        if (!emitted.empty())
            on_flat(task, FlatLines{&W, &nd, &sw, emitted.data(), static_cast<int>(emitted.size())});
        return;
    }
    // the children that are 2-flats: only those of the family (T = nd.T + class min)
    const bool to_family = covering && nd.c == r - 3;
    std::vector<int> T;
    if (to_family) {
        T = nd.T;
        T.push_back(0);
    }
    NodeLease lease_ch;  // (one node for every child: its buffers keep their capacity)
    Node& ch = *lease_ch;
    for (int cls = 0; cls < ncls; ++cls) {
        if (!W.canonical(nd, sw, cls)) continue;
        if (to_family) {
            T.back() = class_min(sw, cls);
            if (!in_covering_family(T.data(), r - 2)) continue;
        }
        W.child_into(nd, sw, cls, ch);
        descend(W, ch, task, on_flat);
    }
}

}  // namespace

int walk_flats(const HypMatrix& hm, const RunContext& ctx,
               const std::function<void(int)>& on_tasks_known,
               const std::function<void(int, const FlatLines&)>& on_flat) {
    FlatWalker W = FlatWalker::over_lines(hm, ctx.cancel);
    W.prepare_exact();
    if (hm.r == 2) {  // the root is the only 2-flat: a single task
        Node root = W.root();
        on_tasks_known(1);
        if (ctx.in_shard(0)) run_tasks(1, ctx, [&](int t) { descend(W, root, t, on_flat); }, "lines");
        return 1;
    }
    RootSplit rs = split_root(W);
    int ntasks = static_cast<int>(rs.classes.size());
    on_tasks_known(ntasks);
    std::vector<int> mine = shard_tasks(ntasks, ctx);
    run_tasks(
        static_cast<int>(mine.size()), ctx,
        [&](int i) {
            int t = mine[i];
            Node ch = W.child(rs.root, rs.sweep, rs.classes[t]);
            descend(W, ch, t, on_flat);
        },
        "lines");
    return ntasks;
}

int walk_lines(const HypMatrix& hm, const RunContext& ctx,
               const std::function<void(int)>& on_tasks_known,
               const std::function<void(int, const LineRef&)>& on_line) {
    return walk_flats(hm, ctx, on_tasks_known, [&](int task, const FlatLines& F) {
        for (int i = 0; i < F.count; ++i) on_line(task, F.line(i));
    });
}

std::vector<int> shard_tasks(int ntasks, const RunContext& ctx) {
    std::vector<int> mine;
    for (int t = 0; t < ntasks; ++t)
        if (ctx.in_shard(t)) mine.push_back(t);
    return mine;
}

}  // namespace exactrelu
