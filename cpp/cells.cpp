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
#include "walk.hpp"
#include "witness.hpp"

namespace exactrelu {
namespace {

// Emissions are spread over 2^kShardBits hash shards (by the top bits of the hash),
// deduplicated independently (in parallel) afterwards.
constexpr int kShardBits = 6;
constexpr int kShards = 1 << kShardBits;
// Witnesses are computed in at most this many chunks of cells: enough for load
// balance over any thread count in use, few enough that per-chunk buffers are cheap.
constexpr int kWitnessChunks = 256;
// The witness loop checks for cancellation every kCancelStride cells (a power of two).
constexpr std::size_t kCancelStride = 1024;
// 64-bit mixing constants (the finalizer of MurmurHash3) and the golden-ratio seed.
constexpr uint64_t kMix1 = 0xff51afd7ed558ccdull;
constexpr uint64_t kMix2 = 0xc4ceb9fe1a85ec53ull;
constexpr uint64_t kHashSeed = 0x9e3779b97f4a7c15ull;

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

    // The line emission e was found at, for its witness.
    CellLine line(int e, int r) const {
        int l = line_of[e];
        const double* lw = loc_ptr[l] < 0 ? nullptr
                                           : loc_wit.data() + static_cast<std::size_t>(loc_ptr[l] + local_of[e]) * r;
        return CellLine{vdir.data() + static_cast<std::size_t>(l) * r, orient[e], inc.data() + inc_ptr[l],
                        inc_ptr[l + 1] - inc_ptr[l], lw};
    }
};

// The patterns one task has recorded (indices into its pats, by open addressing on
// their hashes): repeats within a task never reach the task's output.
class TaskPatternSet {
  public:
    explicit TaskPatternSet(int W) : W_(W) {}

    // Record the pattern p (hash hv) as the next one of pats; false if already there.
    bool insert(uint64_t hv, const uint64_t* p, const std::vector<uint64_t>& pats) {
        if (2 * (count_ + 1) > slots_.size()) grow();
        std::size_t mask = slots_.size() - 1;
        for (std::size_t h = hv & mask;; h = (h + 1) & mask) {
            Slot& sl = slots_[h];
            if (sl.ref == 0) {
                sl = Slot{hv, static_cast<uint32_t>(count_ + 1)};
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

// Collects the cells around each line of one task. The signs of the hyperplanes not
// containing the line are read off the sorted sweep of its 2-flat: items before the
// line's class have the sign of their flip on one side, items after it the opposite.
class CellCollector {
  public:
    CellCollector(const HypMatrix& hm, CellTaskOut& out)
        : hm_(hm), W_(pattern_words(hm.m)), o_(out), cur_(W_), seen_(W_) {}

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
        if (k_ == hm_.r - 1) emit_generic();
        else emit_nongeneric();
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
    void emit(const std::vector<uint64_t>& bse, const char* lp, int orient, int32_t lid) {
        std::copy(bse.begin(), bse.end(), cur_.begin());
        for (int j = 0; j < k_; ++j)
            if (lp[j]) set_bit(cur_.data(), inc()[j]);
        uint64_t hv = hash_words(cur_.data(), W_);
        if (!seen_.insert(hv, cur_.data(), o_.pats)) return;
        o_.pats.insert(o_.pats.end(), cur_.begin(), cur_.end());
        int32_t eidx = static_cast<int32_t>(o_.line_of.size());
        o_.hash.push_back(hv);
        o_.shard[hv >> (64 - kShardBits)].push_back(eidx);
        o_.line_of.push_back(line_id_);
        o_.local_of.push_back(lid);
        o_.orient.push_back(static_cast<int8_t>(orient));
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

    // A generic line (r - 1 incident hyperplanes): every sign vector on them is a cell.
    void emit_generic() {
        o_.loc_ptr.push_back(-1);
        lp_.resize(k_);
        for (int mask = 0; mask < (1 << k_); ++mask) {
            for (int j = 0; j < k_; ++j) lp_[j] = (mask >> j) & 1;
            emit_local(lp_.data(), mask);
        }
    }

    // A nongeneric line: the local cells are those of the arrangement of the incident
    // hyperplanes, enumerated recursively (inline, in this thread), with witnesses.
    void emit_nongeneric() {
        const int r = hm_.r;
        std::vector<double> sub;
        std::vector<int> pcols;
        std::vector<int> incv(inc(), inc() + k_);
        int kk = essentialize_rows(hm_, incv, sub, pcols);
        std::atomic<bool> sub_cancel{false};
        RunContext inline_ctx{0, &sub_cancel, {}};
        CellsResult lc = enumerate_cells_core(HypMatrix{sub.data(), k_, kk, hm_.integral}, inline_ctx, -1, true);
        int off = static_cast<int>(o_.loc_wit.size() / r);
        o_.loc_ptr.push_back(off);
        std::size_t nl = lc.n_cells();
        lp_.resize(k_);
        std::vector<double> w(r);
        for (std::size_t c = 0; c < nl; ++c) {
            for (int j = 0; j < k_; ++j) lp_[j] = get_bit(lc.bits.data() + c * lc.words, j);
            std::fill(w.begin(), w.end(), 0.0);
            for (int t = 0; t < kk; ++t) w[pcols[t]] = lc.witnesses[c * kk + t];
            o_.loc_wit.insert(o_.loc_wit.end(), w.begin(), w.end());
            emit_local(lp_.data(), static_cast<int32_t>(c));
        }
    }

    const HypMatrix& hm_;
    const int W_;
    CellTaskOut& o_;
    // the 2-flat being swept: its id, how far `before_` has been filled, bit masks
    uint64_t sw_id_ = 0;
    int next_pos_ = 0;
    std::vector<uint64_t> fpos_, fneg_, before_, clsb_, base_, flipb_;
    // the current line
    int line_id_ = 0;
    std::size_t ioff_ = 0;
    int k_ = 0;
    std::vector<char> lp_;
    std::vector<uint64_t> cur_;  // the pattern being emitted
    TaskPatternSet seen_;
};

using Emission = std::pair<int32_t, int32_t>;  // (task, emission index)

// The distinct patterns of one shard, first occurrence in task order kept. Open
// addressing, with the pattern stored inline in the table: [hash, task|e, words...].
std::vector<Emission> dedupe_shard(const std::vector<CellTaskOut>& outs, int sh, int W) {
    std::vector<Emission> u;
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
                    u.emplace_back(t, e);
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
    return u;
}

// Witnesses of the cells (res.bits holds each kept cell c at 2c and its negation at
// 2c + 1; so do the witnesses).
void compute_witnesses(const HypMatrix& hm, const RunContext& ctx, const std::vector<CellTaskOut>& outs,
                       const std::vector<Emission>& uniq, CellsResult& res) {
    const int r = hm.r, W = res.words;
    const std::size_t K = uniq.size();
    res.witnesses.assign(2 * K * static_cast<std::size_t>(r), 0.0);
    int nchunks = static_cast<int>(std::min<std::size_t>(K, kWitnessChunks));
    if (nchunks == 0) return;
    std::mutex lo_mutex;
    run_tasks(nchunks, ctx, [&](int ch) {
        std::size_t lo = K * ch / nchunks, hi = K * (ch + 1) / nchunks;
        WitnessScratch scratch(r);
        std::vector<double> u(r), ulo(r);
        for (std::size_t c = lo; c < hi; ++c) {
            if ((c & (kCancelStride - 1)) == 0 && ctx.cancel->load()) throw Cancelled("cancelled");
            auto [t, e] = uniq[c];
            const uint64_t* pat = res.bits.data() + 2 * c * W;
            int how = cell_witness(hm, outs[t].line(e, r), pat, scratch, u.data(), ulo.data());
            if (how == 0)
                throw NumericalFailure(
                    "could not construct an exactly verified interior point in double precision for "
                    "a cell that is extremely thin; the patterns are exact: call with witnesses=False");
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

}  // namespace

CellsResult enumerate_cells_core(const HypMatrix& hm, const RunContext& ctx, long long max_cells,
                                 bool want_witnesses) {
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
    std::vector<CellTaskOut> outs;
    std::vector<CellCollector> collectors;
    walk_lines(
        hm, ctx,
        [&](int nt) {
            outs.resize(nt);
            for (auto& o : outs) collectors.emplace_back(hm, o);
        },
        [&](int task, const LineRef& L) { collectors[task].on_line(L); });
    // 2. deduplicate per hash shard; sort into emission order (deterministic and
    // independent of the thread count)
    std::vector<std::vector<Emission>> uniq_sh(kShards);
    run_tasks(kShards, ctx, [&](int sh) { uniq_sh[sh] = dedupe_shard(outs, sh, W); }, "dedup");
    std::vector<Emission> uniq;
    for (auto& u : uniq_sh) uniq.insert(uniq.end(), u.begin(), u.end());
    std::sort(uniq.begin(), uniq.end());
    const std::size_t K = uniq.size();
    if (max_cells >= 0 && static_cast<long long>(2 * K) > max_cells)
        throw SizeLimit("the arrangement has " + std::to_string(2 * K) + " cells, more than max_cells=" +
                        std::to_string(max_cells));
    // 3. each kept cell and its negation
    res.bits.resize(2 * K * W);
    res.keys.resize(K);
    for (std::size_t c = 0; c < K; ++c)
        res.keys[c] = (static_cast<int64_t>(uniq[c].first) << 32) | static_cast<int64_t>(uniq[c].second);
    uint64_t lastmask = (m % 64) ? ((uint64_t(1) << (m % 64)) - 1) : ~uint64_t(0);
    for (std::size_t c = 0; c < K; ++c) {
        const uint64_t* p = outs[uniq[c].first].pats.data() + static_cast<std::size_t>(uniq[c].second) * W;
        uint64_t* dst = res.bits.data() + 2 * c * W;
        for (int w = 0; w < W; ++w) {
            dst[w] = p[w];
            dst[W + w] = ~p[w];
        }
        dst[W + W - 1] &= lastmask;
    }
    // 4. witnesses
    if (want_witnesses) compute_witnesses(hm, ctx, outs, uniq, res);
    return res;
}

void cells_to_rows(const Hyperplanes& hp, const CellsResult& cr, uint8_t* packed, double* wit,
                   double* wlo) {
    const int n = hp.n, D = hp.D, r = hp.r;
    const std::size_t nc = cr.n_cells();
    const int nbytes = (n + 7) / 8;
    std::fill(packed, packed + nc * nbytes, 0);
    bool identity = hp.m == n;  // rows are the hyperplanes, in order, positively scaled
    for (int i = 0; identity && i < n; ++i) identity = hp.row_h[i] == i && hp.row_scale[i] > 0;
    for (std::size_t c = 0; c < nc; ++c) {
        const uint64_t* bits = cr.bits.data() + c * cr.words;
        uint8_t* dst = packed + c * nbytes;
        if (identity) {  // little-endian words hold the bytes in packbits order
            std::memcpy(dst, bits, static_cast<std::size_t>(nbytes));
        } else {
            for (int i = 0; i < n; ++i) {
                int h = hp.row_h[i];
                if (h < 0) continue;
                bool pos = get_bit(bits, h);
                if (hp.row_scale[i] < 0) pos = !pos;
                if (pos) dst[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
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
}

}  // namespace exactrelu
