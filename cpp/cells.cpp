// Cells (docs/design.md, section 2): every cell has a line in its closure, so the
// cells are collected line by line during the walk (the cells around a line, read
// off the sorted sweep of its 2-flat), deduplicated in hash shards, then given
// witnesses; and their translation to the rows of the data matrix.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "arrangement.hpp"
#include "exact.hpp"
#include "walk.hpp"
#include "local_cells.hpp"
#include "witness.hpp"

namespace exactrelu {
namespace {

// Emissions are spread over 2^kShardBits hash shards (by the top bits of the hash),
// deduplicated independently (in parallel) afterwards.
constexpr int kShardBits = 6;
constexpr int kShards = 1 << kShardBits;
// Work over the cells (witnesses, the output's rows) runs in at most this many chunks:
// enough for load balance over any thread count in use, few enough that per-chunk
// buffers are cheap.
constexpr int kCellChunks = 256;
// The witness loop checks for cancellation every kCancelStride cells (a power of two).
constexpr std::size_t kCancelStride = 1024;
// The canonical emission (docs/design.md, section 2) runs at ranks kCanonMinRank to
// kCanonMaxRank (its determinants are expanded in full).
constexpr int kCanonMinRank = 3;
constexpr int kCanonMaxRank = 7;
// 64-bit mixing constants (the finalizer of MurmurHash3) and the golden-ratio seed.
constexpr uint64_t kMix1 = 0xff51afd7ed558ccdull;
constexpr uint64_t kMix2 = 0xc4ceb9fe1a85ec53ull;
constexpr uint64_t kHashSeed = 0x9e3779b97f4a7c15ull;

// The context for work that is no stage of its own (no progress report; cancellation
// and polling as in ctx).
RunContext quiet(const RunContext& ctx) {
    RunContext q = ctx;
    q.report = nullptr;
    return q;
}

// fn(lo, hi) over the contiguous chunks [lo, hi) of [0, n), at most kCellChunks of
// them, on ctx's threads (run_tasks: stage, cancellation).
void run_chunks(std::size_t n, const RunContext& ctx, const std::function<void(std::size_t, std::size_t)>& fn,
                const char* stage) {
    const int nchunks = static_cast<int>(std::min<std::size_t>(n, kCellChunks));
    run_tasks(nchunks, ctx, [&](int ch) { fn(n * ch / nchunks, n * (ch + 1) / nchunks); }, stage);
}

// 64-bit words in a sign pattern of m hyperplanes (at least one).
inline int pattern_words(int m) { return std::max(1, (m + 63) / 64); }

inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= kMix1;
    x ^= x >> 33;
    x *= kMix2;
    x ^= x >> 33;
    return x;
}

inline uint64_t hash_words(const uint64_t* p, int W) {
    uint64_t h = kHashSeed;
    for (int i = 0; i < W; ++i) h = mix64(h ^ p[i]) + static_cast<uint64_t>(i);
    return h;
}

// The cells one task found (with repeats: a cell is found at each line of its closure).
struct CellTaskOut {
    std::vector<uint64_t> pats;     // emitted patterns
    std::vector<int32_t> line_of;   // per emission: task-local line index
    std::vector<int32_t> local_of;  // per emission: local cell id (sigma mask or index)
    std::vector<int8_t> orient;     // per emission: +1 / -1
    std::vector<uint64_t> hash;     // per emission
    std::vector<std::vector<int32_t>> shard{std::vector<std::vector<int32_t>>(kShards)};
    std::vector<double> vdir;       // per line: r doubles
    std::vector<int32_t> inc_ptr{0};
    std::vector<int32_t> inc;       // per line: incident hyperplanes (sorted)
    std::vector<int32_t> loc_ptr;   // per line: -1 generic, else offset into loc_wit (cells)
    std::vector<double> loc_wit;    // local witnesses, r each
    // emissions with line_of < 0 (the cells of the chart's restriction) carry their own
    // witness: r doubles at local_of * r (and their double-double parts, when any)
    std::vector<double> direct_wit, direct_lo;

    // Record the emission of pattern p (W words, hash hv) at task-local line `line`
    // (-1: a cell of the chart's restriction), local cell `local`, on the side `side`.
    void record(const uint64_t* p, int W, uint64_t hv, int32_t line, int32_t local, int side) {
        pats.insert(pats.end(), p, p + W);
        shard[hv >> (64 - kShardBits)].push_back(static_cast<int32_t>(line_of.size()));
        hash.push_back(hv);
        line_of.push_back(line);
        local_of.push_back(local);
        orient.push_back(static_cast<int8_t>(side));
    }

    // The line emission e was found at, for its witness.
    CellLine line(int e, int r) const {
        int l = line_of[e];
        const double* lw = loc_ptr[l] < 0 ? nullptr
                                           : loc_wit.data() + static_cast<std::size_t>(loc_ptr[l] + local_of[e]) * r;
        return CellLine{vdir.data() + static_cast<std::size_t>(l) * r, orient[e], inc.data() + inc_ptr[l],
                        inc_ptr[l + 1] - inc_ptr[l], lw};
    }
};

// The expansion steps of every column mask of NC columns, by increasing number of
// columns (a mask's sub-masks come before it): for mask m with j columns, the j pairs
// (column c, m without c) in increasing c. Built once per NC.
template <int NC>
struct MinorSteps {
    static constexpr int kMasks = 1 << NC;
    uint32_t mask[kMasks];
    int bits[kMasks];
    int first[kMasks + 1];        // steps of entry i: [first[i], first[i + 1])
    int by_bits[NC + 2];          // entries with fewer than j columns: [0, by_bits[j])
    int col[NC * kMasks / 2 + 1];
    uint32_t sub[NC * kMasks / 2 + 1];
    MinorSteps() {
        int e = 0, st = 0;
        for (int j = 0; j <= NC; ++j) {
            by_bits[j] = e;
            for (uint32_t m = 0; m < kMasks; ++m) {
                if (popcount32(m) != j) continue;
                mask[e] = m;
                bits[e] = j;
                first[e] = st;
                for (int c = 0; c < NC; ++c)
                    if (m & (1u << c)) {
                        col[st] = c;
                        sub[st] = m & ~(1u << c);
                        ++st;
                    }
                ++e;
            }
        }
        by_bits[NC + 1] = e;
        first[e] = st;
    }
};

// Every minor of the rows R[0..k-1] on the columns C[0..nc-1] that uses the last rows:
// for a column mask with j <= k bits, val[mask] is the determinant of the rows
// R[k-j..k-1] on the columns of the mask (in order), by Laplace expansion along its
// first row, and pa[mask] the sum of the |products| of that expansion (for
// minor_error_bound). val and pa hold 1 << nc entries; nc <= kCanonMaxRank.
// (NC is a template parameter: one table of expansion steps per number of columns, so
// that no branch depends on the mask's bits)
template <int NC>
void suffix_minors_n(const double* const* R, int k, const int* C, double* val, double* pa) {
    static const MinorSteps<NC> steps;
    val[0] = 1.0;
    pa[0] = 1.0;
    const int end = steps.by_bits[std::min(k, NC) + 1];
    for (int e = 1; e < end; ++e) {
        const double* row = R[k - steps.bits[e]];
        double v = 0.0, p = 0.0;
        for (int t = steps.first[e], i = 0; t < steps.first[e + 1]; ++t, ++i) {
            const double a = row[C[steps.col[t]]];
            const uint32_t sub = steps.sub[t];
            v += (i & 1) ? -(a * val[sub]) : a * val[sub];
            p += std::fabs(a) * pa[sub];
        }
        val[steps.mask[e]] = v;
        pa[steps.mask[e]] = p;
    }
}

void suffix_minors(const double* const* R, int k, const int* C, int nc, double* val, double* pa) {
    static_assert(kCanonMaxRank == 7, "one instance per number of columns");
    switch (nc) {
        case 0: val[0] = pa[0] = 1.0; return;
        case 1: return suffix_minors_n<1>(R, k, C, val, pa);
        case 2: return suffix_minors_n<2>(R, k, C, val, pa);
        case 3: return suffix_minors_n<3>(R, k, C, val, pa);
        case 4: return suffix_minors_n<4>(R, k, C, val, pa);
        case 5: return suffix_minors_n<5>(R, k, C, val, pa);
        case 6: return suffix_minors_n<6>(R, k, C, val, pa);
        default: return suffix_minors_n<7>(R, k, C, val, pa);
    }
}

// Exact sign of a determinant from its expansion (value v, sum of |products| pa, size
// k) or, where the certified bound cannot decide, of the k x k matrix of the rows R on
// the columns C by the exact path.
int det_sign_expanded(double v, double pa, const double* const* R, const int* C, int k, bool integral) {
    const double err = minor_error_bound(pa, k, integral);
    if (v > err) return 1;
    if (v < -err) return -1;
    double mat[kCanonMaxRank * kCanonMaxRank];
    for (int i = 0; i < k; ++i)
        for (int j = 0; j < k; ++j) mat[i * k + j] = R[i][C[j]];
    return det_sign_exact(mat, k);
}

// The patterns one task has recorded (indices into its pats, by open addressing on
// their hashes): repeats within a task never reach the task's output.
class TaskPatternSet {
  public:
    explicit TaskPatternSet(int W) : W_(W) {}

    // Record the pattern p (hash hv) as pattern `index` of pats (about to be stored there);
    // false if already there.
    bool insert(uint64_t hv, const uint64_t* p, const std::vector<uint64_t>& pats, std::size_t index) {
        if (2 * (count_ + 1) > slots_.size()) grow();
        std::size_t mask = slots_.size() - 1;
        for (std::size_t h = hv & mask;; h = (h + 1) & mask) {
            Slot& sl = slots_[h];
            if (sl.ref == 0) {
                sl = Slot{hv, static_cast<uint32_t>(index + 1)};
                ++count_;
                return true;
            }
            if (sl.hash == hv && same(p, pats.data() + static_cast<std::size_t>(sl.ref - 1) * W_)) return false;
        }
    }

  private:
    struct Slot {
        uint64_t hash = 0;
        uint32_t ref = 0;  // 1 + the pattern's index in pats; 0: empty
    };
    bool same(const uint64_t* a, const uint64_t* b) const {
        for (int w = 0; w < W_; ++w)
            if (a[w] != b[w]) return false;
        return true;
    }
    void grow() {
        std::vector<Slot> old(std::max<std::size_t>(64, 2 * slots_.size()));
        old.swap(slots_);
        std::size_t mask = slots_.size() - 1;
        for (const Slot& sl : old) {
            if (sl.ref == 0) continue;
            std::size_t h = sl.hash & mask;
            while (slots_[h].ref != 0) h = (h + 1) & mask;
            slots_[h] = sl;
        }
    }
    int W_;
    std::size_t count_ = 0;
    std::vector<Slot> slots_;
};

CellsResult enumerate_cells_run(const HypMatrix& hm, const RunContext& ctx, long long max_cells,
                                bool want_witnesses, bool canonical_ok);

// Collects the cells around each line of one task. The signs of the hyperplanes not
// containing the line are read off the sorted sweep of its 2-flat: items before the
// line's class have the sign of their flip on one side, items after it the opposite.
class CellCollector {
  public:
    // canonical: emit by the canonical rule with the chart u_a = 1 and c = u_b
    CellCollector(const HypMatrix& hm, CellTaskOut& out, bool canonical, int a, int b)
        : hm_(hm), W_(pattern_words(hm.m)), o_(out), canon_(canonical), a_(a), b_(b), cur_(W_), seen_(W_) {}

    void on_line(const LineRef& L) {
        refresh_sweep(*L.sweep);
        split_signs(*L.sweep, L.first(), L.last());
        line_id_ = static_cast<int>(o_.inc_ptr.size()) - 1;
        std::size_t voff = o_.vdir.size();
        o_.vdir.resize(voff + hm_.r);
        line_direction(L, hm_.r, o_.vdir.data() + voff);
        ioff_ = o_.inc.size();
        append_line_incidence(L, o_.inc);
        o_.inc_ptr.push_back(static_cast<int32_t>(o_.inc.size()));
        k_ = static_cast<int>(o_.inc.size() - ioff_);
        if (k_ == hm_.r - 1) {
            o_.loc_ptr.push_back(-1);  // no local witnesses
            if (!canon_ || !emit_canonical()) emit_generic();
        } else {
            emit_nongeneric();
        }
    }

  private:
    const int32_t* inc() const { return o_.inc.data() + ioff_; }

    // A new 2-flat: the flip masks of its items; nothing is before the first line yet.
    void refresh_sweep(const Sweep& sw) {
        if (sw_id_ == sw.id) return;
        sw_id_ = sw.id;
        next_pos_ = 0;
        for (auto* v : {&fpos_, &fneg_, &before_, &clsb_, &base_, &flipb_}) v->assign(W_, 0);
        for (std::size_t p = 0; p < sw.items.size(); ++p)
            set_bit((sw.flip[p] > 0 ? fpos_ : fneg_).data(), sw.items[p]);
    }

    // base_ / flipb_: the signs of the non-incident hyperplanes on the two sides of the
    // line whose class is [a, b) in the sweep.
    void split_signs(const Sweep& sw, int a, int b) {
        for (int p = next_pos_; p < a; ++p) set_bit(before_.data(), sw.items[p]);
        next_pos_ = std::max(next_pos_, a);
        std::fill(clsb_.begin(), clsb_.end(), 0);
        for (int p = a; p < b; ++p) set_bit(clsb_.data(), sw.items[p]);
        for (int w = 0; w < W_; ++w) {
            uint64_t after = ~(before_[w] | clsb_[w]);
            base_[w] = (fpos_[w] & before_[w]) | (fneg_[w] & after);
            flipb_[w] = (fneg_[w] & before_[w]) | (fpos_[w] & after);
        }
    }

    // Record the cell with the signs bse off the line and lp[j] on incident hyperplane j,
    // unless this task has recorded it already (a cell is found at every line of its
    // closure: most repeats are found by the same task, and are dropped here at once).
    // The canonical rule repeats a cell only where it is lowest at several vertices
    // (rare): its emissions skip the task's set (not once) and repeats are left to the
    // deduplication, which keeps the first emission just the same.
    void emit(const std::vector<uint64_t>& bse, const char* lp, int orient, int32_t lid, bool once = true) {
        std::copy(bse.begin(), bse.end(), cur_.begin());
        for (int j = 0; j < k_; ++j)
            if (lp[j]) set_bit(cur_.data(), inc()[j]);
        uint64_t hv = hash_words(cur_.data(), W_);
        if (once && !seen_.insert(hv, cur_.data(), o_.pats, o_.line_of.size())) return;
        o_.record(cur_.data(), W_, hv, line_id_, lid, orient);
    }

    // The local cell lp at the line, on one side or both. Of each pair of opposite
    // cells only the one with hyperplane 0 positive is kept (the other is its negation).
    void emit_local(const char* lp, int32_t lid) {
        bool zero_inc = k_ > 0 && inc()[0] == 0;
        if (zero_inc) {
            if (!lp[0]) return;  // hyperplane 0 must be positive
            emit(base_, lp, 1, lid);
            emit(flipb_, lp, -1, lid);
        } else if (get_bit(base_.data(), 0)) {
            emit(base_, lp, 1, lid);
        } else {
            emit(flipb_, lp, -1, lid);
        }
    }

    // The pair of opposite cells holding the cell with the local signs lp on the base
    // side of the line (base) or on the other side, as emit_local records pairs.
    void emit_pair(bool base, const char* lp, int32_t lid) {
        const std::vector<uint64_t>& side = base ? base_ : flipb_;
        const bool pos0 = (k_ > 0 && inc()[0] == 0) ? lp[0] != 0 : get_bit(side.data(), 0);
        if (pos0) {
            emit(side, lp, base ? 1 : -1, lid, false);
            return;
        }
        nlp_.resize(k_);
        for (int j = 0; j < k_; ++j) nlp_[j] = !lp[j];
        emit(base ? flipb_ : base_, nlp_.data(), base ? -1 : 1, lid, false);
    }

    // The canonical rule at a generic line (docs/design.md, section 2): in the chart
    // u_a = 1 a pair of cells is emitted only at the vertices where no edge of the cell
    // descends in c = u_b. With H the incident rows (in order), v* the line's direction
    // with x . v* = det([x; H]) and A = [H; e_a], the edge g_j = A^-1 e_j leaves
    // hyperplane j on its positive side, and
    //   sign(c . g_j) = (-1)^(a + a' + b + j + 1) sign(det H_-j[cols - {a, b}]) sign(det H[cols - a]),
    // a' = a - [a > b]; the chart vertex is (-1)^a sign(det H[cols - a]) v*. An edge level
    // in c leaves both signs. Returns false (nothing emitted) when the line lies in the
    // chart's hyperplane at infinity: every local cell is emitted there.
    bool emit_canonical() {
        const int r = hm_.r, k = k_, a = a_, b = b_;
        const bool integral = hm_.integral;
        const double* R[kCanonMaxRank + 1];
        int cols[kCanonMaxRank];
        for (int j = 0; j < k; ++j) R[j + 1] = hm_.row(inc()[j]);
        const double* const* H = R + 1;
        // every (r - 1)-minor M_l = det H[cols - l] (and the smaller ones)
        for (int l = 0; l < r; ++l) cols[l] = l;
        suffix_minors(H, k, cols, r, mval_, mpa_);
        const uint32_t full = (1u << r) - 1;
        int ca[kCanonMaxRank];
        for (int l = 0, t = 0; l < r; ++l)
            if (l != a) ca[t++] = l;
        const uint32_t ma = full & ~(1u << a);
        const int sa = det_sign_expanded(mval_[ma], mpa_[ma], H, ca, k, integral);
        if (sa == 0) return false;
        // the side of v*: any hyperplane x not through the line has x . v* = det([x; H]) != 0
        int x = 0;
        for (int j = 0; j < k && inc()[j] == x; ++j) ++x;
        R[0] = hm_.row(x);
        double xv = 0.0, xpa = 0.0;
        for (int l = 0; l < r; ++l) {
            const uint32_t ml = full & ~(1u << l);
            xv += (l & 1) ? -(R[0][l] * mval_[ml]) : R[0][l] * mval_[ml];
            xpa += std::fabs(R[0][l]) * mpa_[ml];
        }
        const int sx = det_sign_expanded(xv, xpa, R, cols, r, integral);
        const bool vstar_base = (sx > 0) == get_bit(base_.data(), x);
        const int sv = (a & 1) ? -sa : sa;
        const bool chart_base = (sv > 0) == vstar_base;
        // the signs of the cell whose edges at the chart vertex all ascend in c
        const int ap = a - (a > b ? 1 : 0);
        int cab[kCanonMaxRank];
        int t = 0;
        for (int l = 0; l < r; ++l)
            if (l != a && l != b) cab[t++] = l;
        lp_.resize(k);
        free_.clear();
        const uint32_t mab = (1u << t) - 1;
        for (int j = 0; j < k; ++j) {
            const double* Rj[kCanonMaxRank];
            int u = 0;
            for (int i = 0; i < k; ++i)
                if (i != j) Rj[u++] = H[i];
            suffix_minors(Rj, k - 1, cab, t, mval_, mpa_);
            int s = det_sign_expanded(mval_[mab], mpa_[mab], Rj, cab, k - 1, integral) * sa;
            if ((a + ap + b + j + 1) & 1) s = -s;
            lp_[j] = s > 0;
            if (s == 0) free_.push_back(j);
        }
        const int nf = static_cast<int>(free_.size());
        for (int mask = 0; mask < (1 << nf); ++mask) {
            int lid = 0;
            for (int f = 0; f < nf; ++f) lp_[free_[f]] = (mask >> f) & 1;
            for (int j = 0; j < k; ++j) lid |= lp_[j] ? (1 << j) : 0;
            emit_pair(chart_base, lp_.data(), lid);
        }
        return true;
    }

    // A generic line (r - 1 incident hyperplanes): every sign vector on them is a cell.
    void emit_generic() {
        lp_.resize(k_);
        for (int mask = 0; mask < (1 << k_); ++mask) {
            for (int j = 0; j < k_; ++j) lp_[j] = (mask >> j) & 1;
            emit_local(lp_.data(), mask);
        }
    }

    // A nongeneric line: the local cells are those of the arrangement of the incident
    // hyperplanes, with witnesses: read off directly at local rank 2 and 3
    // (local_cells), else enumerated recursively (inline, in this thread).
    void emit_nongeneric() {
        const int r = hm_.r;
        std::vector<double>& sub = sub_;
        std::vector<int>& pcols = pcols_;
        if ((r == 3 || r == 4) && k_ <= kLocalMaxRows) {
            // Local rank 2 and 3: from the angular order of the lines in each plane. The
            // incident rows are orthogonal to the line's direction v, so dropping a
            // column c with v_c != 0 keeps every sign (a . x = P(a) . y, y_t = x_t -
            // v_t x_c / v_c); c = argmax |v| of the float direction, and local_cells
            // refuses rows of lower rank, i.e. a c with v_c = 0 after all.
            const double* v = o_.vdir.data() + static_cast<std::size_t>(line_id_) * r;
            int c = 0;
            for (int t = 1; t < r; ++t)
                if (std::fabs(v[t]) > std::fabs(v[c])) c = t;
            pcols.clear();
            for (int t = 0; t < r; ++t)
                if (t != c) pcols.push_back(t);
            const int kk = r - 1;
            sub.resize(static_cast<std::size_t>(k_) * kk);
            for (int j = 0; j < k_; ++j)
                for (int t = 0; t < kk; ++t) sub[j * kk + t] = hm_.row(inc()[j])[pcols[t]];
            if (local_cells(sub.data(), k_, kk, hm_.integral, local_pats_, local_wit_)) {
                emit_local_cells(local_pats_.size(), local_pats_.data(), 1, local_wit_.data(), kk, pcols);
                return;
            }
        }
        incv_.assign(inc(), inc() + k_);
        int kk = essentialize_rows(hm_, incv_, sub, pcols);
        std::atomic<bool> sub_cancel{false};
        RunContext inline_ctx{0, &sub_cancel, {}};
        // (the local arrangements are small: the canonical rule's minors and restriction
        // would cost more than the repeats they save)
        CellsResult lc =
            enumerate_cells_run(HypMatrix{sub.data(), k_, kk, hm_.integral}, inline_ctx, -1, true, false);
        emit_local_cells(lc.n_cells(), lc.bits.data(), lc.words, lc.witnesses.data(), kk, pcols);
    }

    // Emit the n local cells of the current line: cell c has the pattern at pats + c words
    // (bit j: incident row j positive) and the local witness wit + c kk on the columns pcols.
    void emit_local_cells(std::size_t n, const uint64_t* pats, int words, const double* wit, int kk,
                          const std::vector<int>& pcols) {
        const int r = hm_.r;
        o_.loc_ptr.push_back(static_cast<int32_t>(o_.loc_wit.size() / r));
        lp_.resize(k_);
        for (std::size_t c = 0; c < n; ++c) {
            for (int j = 0; j < k_; ++j) lp_[j] = get_bit(pats + c * words, j);
            const std::size_t off = o_.loc_wit.size();
            o_.loc_wit.resize(off + r, 0.0);
            for (int t = 0; t < kk; ++t) o_.loc_wit[off + pcols[t]] = wit[c * kk + t];
            emit_local(lp_.data(), static_cast<int32_t>(c));
        }
    }

    const HypMatrix& hm_;
    const int W_;
    CellTaskOut& o_;
    const bool canon_;  // canonical emission at generic lines, chart u_a = 1, c = u_b
    const int a_, b_;
    // the 2-flat being swept: its id, how far `before_` has been filled, bit masks
    uint64_t sw_id_ = 0;
    int next_pos_ = 0;
    std::vector<uint64_t> fpos_, fneg_, before_, clsb_, base_, flipb_;
    // the current line
    int line_id_ = 0;
    std::size_t ioff_ = 0;
    int k_ = 0;
    std::vector<char> lp_, nlp_;
    std::vector<int> free_;      // canonical rule: local signs left free (level edges)
    double mval_[1u << kCanonMaxRank], mpa_[1u << kCanonMaxRank];  // canonical rule: minors
    std::vector<uint64_t> cur_;  // the pattern being emitted
    TaskPatternSet seen_;
    // nongeneric lines: the incident rows in essential coordinates, their local cells
    std::vector<double> sub_, local_wit_;
    std::vector<int> pcols_, incv_;
    std::vector<uint64_t> local_pats_;
};

using Emission = std::pair<int32_t, int32_t>;  // (task, emission index)

// The distinct patterns of one shard, first occurrence in task order kept (keep[t][e]
// set; the shards touch distinct emissions). Open addressing, with the pattern stored
// inline in the table: [hash, task|e, words...].
void dedupe_shard(const std::vector<CellTaskOut>& outs, int sh, int W, std::vector<std::vector<char>>& keep) {
    std::size_t cnt = 0;
    for (auto& o : outs) cnt += o.shard[sh].size();
    std::size_t cap = 16;
    while (cap < 2 * cnt + 16) cap <<= 1;  // load factor below 1/2
    const std::size_t stride = static_cast<std::size_t>(W) + 2;
    std::vector<uint64_t> table(cap * stride, 0);
    std::vector<char> used(cap, 0);
    for (int t = 0; t < static_cast<int>(outs.size()); ++t) {
        const CellTaskOut& o = outs[t];
        for (int32_t e : o.shard[sh]) {
            const uint64_t* p = o.pats.data() + static_cast<std::size_t>(e) * W;
            uint64_t hv = o.hash[e];
            std::size_t h = hv & (cap - 1);
            while (true) {
                uint64_t* slot = table.data() + h * stride;
                if (!used[h]) {
                    used[h] = 1;
                    slot[0] = hv;
                    slot[1] = (static_cast<uint64_t>(t) << 32) | static_cast<uint32_t>(e);
                    std::copy(p, p + W, slot + 2);
                    keep[t][e] = 1;
                    break;
                }
                if (slot[0] == hv) {
                    int w = 0;
                    while (w < W && p[w] == slot[2 + w]) ++w;
                    if (w == W) break;
                }
                h = (h + 1) & (cap - 1);
            }
        }
    }
}

// Witnesses of the cells (res.bits holds each kept cell c at 2c and its negation at
// 2c + 1; so do the witnesses). False when some cell's line gave no witness.
bool compute_witnesses(const HypMatrix& hm, const RunContext& ctx, const std::vector<CellTaskOut>& outs,
                       const std::vector<Emission>& uniq, CellsResult& res) {
    const int r = hm.r, W = res.words;
    const std::size_t K = uniq.size();
    res.witnesses.resize(2 * K * static_cast<std::size_t>(r));  // (every entry written below)
    std::mutex lo_mutex;
    std::atomic<bool> failed{false};
    run_chunks(K, ctx, [&](std::size_t lo, std::size_t hi) {
        WitnessScratch scratch(r);
        std::vector<double> u(r), ulo(r);
        for (std::size_t c = lo; c < hi; ++c) {
            if ((c & (kCancelStride - 1)) == 0 && ctx.cancel->load()) throw Cancelled("cancelled");
            if (failed.load(std::memory_order_relaxed)) return;
            auto [t, e] = uniq[c];
            const uint64_t* pat = res.bits.data() + 2 * c * W;
            const CellTaskOut& o = outs[t];
            int how;
            if (o.line_of[e] < 0) {  // a cell of the chart's restriction: its own witness
                const std::size_t off = static_cast<std::size_t>(o.local_of[e]) * r;
                std::copy(o.direct_wit.begin() + off, o.direct_wit.begin() + off + r, u.begin());
                how = 1;
                if (!o.direct_lo.empty()) {
                    std::copy(o.direct_lo.begin() + off, o.direct_lo.begin() + off + r, ulo.begin());
                    for (int j = 0; j < r; ++j) how = ulo[j] != 0.0 ? 2 : how;
                }
            } else {
                try {
                    how = cell_witness(hm, o.line(e, r), pat, scratch, u.data(), ulo.data());
                } catch (const NumericalFailure&) {
                    how = 0;
                }
            }
            if (how == 0) {
                failed.store(true);
                return;
            }
            if (how == 2) {
                std::lock_guard<std::mutex> lk(lo_mutex);
                if (res.witnesses_lo.empty()) res.witnesses_lo.assign(res.witnesses.size(), 0.0);
                for (int j = 0; j < r; ++j) {
                    res.witnesses_lo[2 * c * r + j] = ulo[j];
                    res.witnesses_lo[2 * c * r + r + j] = -ulo[j];
                }
            }
            double* dst = res.witnesses.data() + 2 * c * r;
            for (int j = 0; j < r; ++j) {
                dst[j] = u[j];
                dst[r + j] = -u[j];
            }
        }
    }, "witnesses");
    return !failed.load();
}

// The cells met by the plane L = {u_a = u_b = 0} of the canonical rule's chart
// (docs/design.md, section 2), those the rule emits at no line, as task `out`: the
// arrangement restricted to L (the rows without columns a and b, exactly) is enumerated
// on its own (inline, stopped by `cancel`), and each of its pairs of cells is the pair
// of cells of hm it lies in.
void restriction_cells(const HypMatrix& hm, int a, int b, bool want_witnesses, std::atomic<bool>* cancel,
                       CellTaskOut& out) {
    const int m = hm.m, r = hm.r, rs = r - 2, W = pattern_words(m);
    std::vector<double> sub(static_cast<std::size_t>(m) * rs);
    std::vector<int> fullcol;
    for (int l = 0; l < r; ++l)
        if (l != a && l != b) fullcol.push_back(l);
    for (int h = 0; h < m; ++h) {
        bool zero = true;
        for (int t = 0; t < rs; ++t) {
            sub[static_cast<std::size_t>(h) * rs + t] = hm.row(h)[fullcol[t]];
            zero = zero && sub[static_cast<std::size_t>(h) * rs + t] == 0.0;
        }
        if (zero) return;  // L lies in hyperplane h: no open cell meets it
    }
    const Hyperplanes hp = preprocess(sub.data(), m, rs);
    RunContext inline_ctx{0, cancel, {}};
    const CellsResult cr = enumerate_cells_core(hp.matrix(), inline_ctx, -1, want_witnesses);
    std::vector<uint64_t> pat(W);
    for (std::size_t c = 0; c < cr.n_cells(); ++c) {
        const uint64_t* bits = cr.bits.data() + c * cr.words;
        std::fill(pat.begin(), pat.end(), 0);
        for (int h = 0; h < m; ++h)
            if (get_bit(bits, hp.row_h[h]) != (hp.row_scale[h] < 0)) set_bit(pat.data(), h);
        if (!get_bit(pat.data(), 0)) continue;  // of each pair, the cell with hyperplane 0 positive
        const uint64_t hv = hash_words(pat.data(), W);
        const int32_t e = static_cast<int32_t>(out.line_of.size());
        out.record(pat.data(), W, hv, -1, e, 1);
        if (!want_witnesses) continue;
        const std::size_t off = out.direct_wit.size();
        out.direct_wit.resize(off + r, 0.0);
        for (int t = 0; t < hp.r; ++t) out.direct_wit[off + fullcol[hp.cols[t]]] = cr.witnesses[c * hp.r + t];
        if (!cr.witnesses_lo.empty()) {
            out.direct_lo.resize(out.direct_wit.size(), 0.0);
            for (int t = 0; t < hp.r; ++t)
                out.direct_lo[off + fullcol[hp.cols[t]]] = cr.witnesses_lo[c * hp.r + t];
        }
    }
    if (!out.direct_lo.empty()) out.direct_lo.resize(out.direct_wit.size(), 0.0);
}

// The arrangement of rank 0 (one cell) or 1 (two cells, split by every hyperplane).
CellsResult small_rank_cells(const HypMatrix& hm, int W) {
    CellsResult res;
    res.words = W;
    res.keys = {0};
    if (hm.r == 0) {
        res.bits.assign(W, 0);
        return res;
    }
    res.bits.assign(2 * static_cast<std::size_t>(W), 0);
    for (int h = 0; h < hm.m; ++h) set_bit(res.bits.data() + (hm.H[h] > 0 ? 0 : W), h);
    res.witnesses = {1.0, -1.0};
    return res;
}

// The enumeration, with the canonical emission where canonical_ok and the rank allow it.
CellsResult enumerate_cells_run(const HypMatrix& hm, const RunContext& ctx, long long max_cells,
                                bool want_witnesses, bool canonical_ok) {
    const int m = hm.m;
    const int W = pattern_words(m);
    if (hm.r <= 1) {
        if (ctx.in_shard(0)) return small_rank_cells(hm, W);
        CellsResult none;
        none.words = W;
        return none;
    }
    CellsResult res;
    res.words = W;
    // 1. collect the cells around every line, per task
    // canonical emission: each pair of cells from the vertices where it is lowest in a
    // chart, plus the cells of the chart's restriction (one more task)
    const bool canonical = canonical_ok && hm.r >= kCanonMinRank && hm.r <= kCanonMaxRank;
    const int chart_a = hm.r - 1, chart_b = 0;
    std::vector<CellTaskOut> outs;
    std::vector<CellCollector> collectors;
    const int ntasks = walk_flats(
        hm, ctx,
        [&](int nt) {
            outs.reserve(nt + 1);
            outs.resize(nt);
            for (auto& o : outs) collectors.emplace_back(hm, o, canonical, chart_a, chart_b);
        },
        [&](int task, const FlatLines& F) {
            for (int i = 0; i < F.count; ++i) collectors[task].on_line(F.line(i));
        });
    if (canonical && ctx.in_shard(ntasks)) {  // on a worker, so that Ctrl-C is polled meanwhile
        outs.emplace_back();
        run_tasks(1, ctx, [&](int) { restriction_cells(hm, chart_a, chart_b, want_witnesses, ctx.cancel, outs.back()); },
                  "restriction");
    }
    // 2. deduplicate per hash shard; the kept emissions in emission order (deterministic
    // and independent of the thread count)
    std::vector<std::vector<char>> keep(outs.size());
    for (std::size_t t = 0; t < outs.size(); ++t) keep[t].assign(outs[t].line_of.size(), 0);
    run_tasks(kShards, ctx, [&](int sh) { dedupe_shard(outs, sh, W, keep); }, "dedup");
    std::vector<Emission> uniq;
    for (std::size_t t = 0; t < outs.size(); ++t)
        for (std::size_t e = 0; e < keep[t].size(); ++e)
            if (keep[t][e]) uniq.emplace_back(static_cast<int32_t>(t), static_cast<int32_t>(e));
    const std::size_t K = uniq.size();
    if (max_cells >= 0 && static_cast<long long>(2 * K) > max_cells)
        throw SizeLimit("the arrangement has " + std::to_string(2 * K) + " cells, more than max_cells=" +
                        std::to_string(max_cells));
    // 3. each kept cell and its negation
    // (in parallel chunks, every word written: the pages are first touched there)
    res.bits.resize(2 * K * W);
    res.keys.resize(K);
    for (std::size_t c = 0; c < K; ++c)
        res.keys[c] = (static_cast<int64_t>(uniq[c].first) << 32) | static_cast<int64_t>(uniq[c].second);
    uint64_t lastmask = (m % 64) ? ((uint64_t(1) << (m % 64)) - 1) : ~uint64_t(0);
    run_chunks(K, quiet(ctx), [&](std::size_t lo, std::size_t hi) {
        for (std::size_t c = lo; c < hi; ++c) {
            const uint64_t* p = outs[uniq[c].first].pats.data() + static_cast<std::size_t>(uniq[c].second) * W;
            uint64_t* dst = res.bits.data() + 2 * c * W;
            for (int w = 0; w < W; ++w) {
                dst[w] = p[w];
                dst[W + w] = ~p[w];
            }
            dst[W + W - 1] &= lastmask;
        }
    }, "bits");
    // 4. witnesses
    if (!want_witnesses || compute_witnesses(hm, ctx, outs, uniq, res)) return res;
    // A witness is built from the line the cell was emitted at, and on nearly
    // rank-deficient data some lines give none in any precision tried. The canonical
    // rule emits a cell at one line only: then the enumeration is redone emitting every
    // cell at every line of its closure (its witness from the first line found).
    if (canonical) return enumerate_cells_run(hm, ctx, max_cells, want_witnesses, false);
    throw NumericalFailure(
        "could not construct an exactly verified interior point in double precision for "
        "a cell that is extremely thin; the patterns are exact: call with witnesses=False");
}

}  // namespace

CellsResult enumerate_cells_core(const HypMatrix& hm, const RunContext& ctx, long long max_cells,
                                 bool want_witnesses) {
    return enumerate_cells_run(hm, ctx, max_cells, want_witnesses, true);
}

void cells_to_rows(const Hyperplanes& hp, const CellsResult& cr, uint8_t* packed, double* wit,
                   double* wlo, const RunContext& ctx) {
    const int n = hp.n, D = hp.D, r = hp.r;
    const std::size_t nc = cr.n_cells();
    const int nbytes = (n + 7) / 8;
    bool identity = hp.m == n;  // rows are the hyperplanes, in order, positively scaled
    for (int i = 0; identity && i < n; ++i) identity = hp.row_h[i] == i && hp.row_scale[i] > 0;
    // otherwise row i reads bit src[i] of the pattern, flipped by flip[i] and kept by
    // keep[i] (0 for a zero row); 64 rows are assembled into one little-endian word
    // without branches (the bytes of a word are in packbits order)
    std::vector<int32_t> src(identity ? 0 : n);
    std::vector<uint64_t> flip(src.size()), keep(src.size());
    for (std::size_t i = 0; i < src.size(); ++i) {
        const int h = hp.row_h[i];
        src[i] = std::max(h, 0);
        keep[i] = h >= 0 ? 1 : 0;
        flip[i] = h >= 0 && hp.row_scale[i] < 0 ? 1 : 0;
    }
    run_chunks(nc, quiet(ctx), [&](std::size_t c0, std::size_t c1) {
        std::fill(packed + c0 * nbytes, packed + c1 * nbytes, 0);
        for (std::size_t c = c0; c < c1; ++c) {
            const uint64_t* bits = cr.bits.data() + c * cr.words;
            uint8_t* dst = packed + c * nbytes;
            if (identity) {
                std::memcpy(dst, bits, static_cast<std::size_t>(nbytes));
            } else {
                for (int i0 = 0; i0 < n; i0 += 64) {
                    const int i1 = std::min(n, i0 + 64);
                    uint64_t word = 0;
                    for (int i = i0; i < i1; ++i) {
                        const int h = src[i];
                        const uint64_t b = (((bits[h >> 6] >> (h & 63)) & 1) ^ flip[i]) & keep[i];
                        word |= b << (i - i0);
                    }
                    std::memcpy(dst + i0 / 8, &word, static_cast<std::size_t>(std::min(8, nbytes - i0 / 8)));
                }
            }
            if (!wit) continue;
            double* w = wit + c * D;
            std::fill(w, w + D, 0.0);
            if (r == 0) {
                w[0] = 1.0;
            } else {
                for (int t = 0; t < r; ++t) w[hp.cols[t]] = cr.witnesses[c * r + t];
            }
            if (wlo) {
                double* lo = wlo + c * D;
                std::fill(lo, lo + D, 0.0);
                for (int t = 0; t < r; ++t) lo[hp.cols[t]] = cr.witnesses_lo[c * r + t];
            }
        }
    }, "rows");
}

}  // namespace exactrelu
