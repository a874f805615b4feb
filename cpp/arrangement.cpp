#include "arrangement.hpp"
#include "ddouble.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>

namespace exactrelu {

// ---------------------------------------------------------------------------------
void run_tasks(int ntasks, int threads, const std::function<void(int)>& fn,
               std::atomic<bool>& cancel, const std::function<bool()>& poll) {
    if (ntasks <= 0) return;
    if (threads <= 0) {  // inline (nested calls): no threads, no polling
        for (int t = 0; t < ntasks; ++t) {
            if (cancel.load(std::memory_order_relaxed)) throw Cancelled("cancelled");
            fn(t);
        }
        return;
    }
    std::atomic<int> next{0};
    int nt = std::max(1, std::min(threads, ntasks));
    std::mutex mu;
    std::condition_variable cv;
    int finished = 0;
    std::exception_ptr err;
    bool interrupted = false;
    auto worker = [&]() {
        try {
            while (!cancel.load(std::memory_order_relaxed)) {
                int t = next.fetch_add(1);
                if (t >= ntasks) break;
                fn(t);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lk(mu);
            if (!err) err = std::current_exception();
            cancel.store(true);
        }
        {
            std::lock_guard<std::mutex> lk(mu);
            ++finished;
        }
        cv.notify_all();
    };
    std::vector<std::thread> pool;
    pool.reserve(nt);
    try {
        for (int i = 0; i < nt; ++i) pool.emplace_back(worker);
    } catch (...) {
        cancel.store(true);
        for (auto& th : pool) th.join();
        throw;
    }
    {
        std::unique_lock<std::mutex> lk(mu);
        while (finished < nt) {
            cv.wait_for(lk, std::chrono::milliseconds(50));
            if (finished >= nt) break;
            lk.unlock();
            bool stop = poll ? poll() : false;
            lk.lock();
            if (stop) {
                interrupted = true;
                cancel.store(true);
            }
        }
    }
    for (auto& th : pool) th.join();
    if (err) {
        if (interrupted) throw Cancelled("interrupted");
        std::rethrow_exception(err);
    }
    if (interrupted) throw Cancelled("interrupted");
}

// ---------------------------------------------------------------------------------
void line_direction(const LineRef& L, int r, double* v) {
    const Sweep& sw = *L.sweep;
    const Node& nd = *L.node;
    int p = sw.cls_start[L.cls];
    double f = sw.flip[p];
    double q0 = f * sw.q[static_cast<std::size_t>(p) * 2];
    double q1 = f * sw.q[static_cast<std::size_t>(p) * 2 + 1];
    for (int j = 0; j < r; ++j) v[j] = q1 * nd.N[j] - q0 * nd.N[r + j];
}

namespace {

void descend(const FlatWalker& W, const Node& nd, int task,
             const std::function<void(int, const LineRef&)>& on_line) {
    W.check_cancel();
    Sweep sw;
    W.sweep(nd, sw);
    int ncls = static_cast<int>(sw.cls_start.size()) - 1;
    int r = W.r();
    for (int cls = 0; cls < ncls; ++cls) {
        if (!W.canonical(nd, sw, cls)) continue;
        if (nd.c == r - 2) {
            on_line(task, LineRef{&W, &nd, &sw, cls});
        } else {
            Node ch = W.child(nd, sw, cls);
            descend(W, ch, task, on_line);
        }
    }
}

}  // namespace

int walk_lines(const double* H, int m, int r, bool integral, int threads,
               std::atomic<bool>& cancel, const std::function<bool()>& poll,
               const std::function<void(int)>& on_tasks_known,
               const std::function<void(int, const LineRef&)>& on_line) {
    std::vector<int> rows(m);
    std::iota(rows.begin(), rows.end(), 0);
    FlatWalker W(H, r, integral, rows, r - 1, &cancel);
    Node root = W.root();
    if (r == 2) {
        on_tasks_known(1);
        run_tasks(1, threads, [&](int t) { descend(W, root, t, on_line); }, cancel, poll);
        return 1;
    }
    Sweep rs;
    W.sweep(root, rs);
    std::vector<int> classes;
    for (int cls = 0; cls + 1 < static_cast<int>(rs.cls_start.size()); ++cls)
        if (W.canonical(root, rs, cls)) classes.push_back(cls);
    int ntasks = static_cast<int>(classes.size());
    on_tasks_known(ntasks);
    run_tasks(
        ntasks, threads,
        [&](int t) {
            Node ch = W.child(root, rs, classes[t]);
            descend(W, ch, t, on_line);
        },
        cancel, poll);
    return ntasks;
}

// ---------------------------------------------------------------------------------
namespace {

constexpr int kShards = 64;

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
    // sweep cache
    uint64_t sw_id = 0;
    int next_pos = 0;
    std::vector<uint64_t> fpos, fneg, before, clsb, base, flipb;
};

inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

inline uint64_t hash_words(const uint64_t* p, int W) {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < W; ++i) h = mix64(h ^ p[i]) + static_cast<uint64_t>(i);
    return h;
}

inline void set_bit(uint64_t* p, int h) { p[h >> 6] |= (uint64_t(1) << (h & 63)); }
inline bool get_bit(const uint64_t* p, int h) { return (p[h >> 6] >> (h & 63)) & 1u; }

// Solve the r x r system M x = b in place (partial pivoting); returns false if singular.
bool solve_small(std::vector<double>& M, std::vector<double>& b, int r) {
    for (int c = 0; c < r; ++c) {
        int piv = c;
        for (int i = c + 1; i < r; ++i)
            if (std::fabs(M[i * r + c]) > std::fabs(M[piv * r + c])) piv = i;
        if (M[piv * r + c] == 0.0) return false;
        if (piv != c) {
            for (int j = 0; j < r; ++j) std::swap(M[c * r + j], M[piv * r + j]);
            std::swap(b[c], b[piv]);
        }
        for (int i = c + 1; i < r; ++i) {
            double f = M[i * r + c] / M[c * r + c];
            if (f == 0.0) continue;
            for (int j = c; j < r; ++j) M[i * r + j] -= f * M[c * r + j];
            b[i] -= f * b[c];
        }
    }
    for (int i = r - 1; i >= 0; --i) {
        double s = b[i];
        for (int j = i + 1; j < r; ++j) s -= M[i * r + j] * b[j];
        b[i] = s / M[i * r + i];
    }
    return true;
}

bool verify_witness(const double* H, int m, int r, const uint64_t* pat, const double* u) {
    for (int h = 0; h < m; ++h) {
        int sg = dot_sign_exact(H + static_cast<std::size_t>(h) * r, u, r);
        int want = get_bit(pat, h) ? 1 : -1;
        if (sg != want) return false;
    }
    return true;
}

bool verify_witness2(const double* H, int m, int r, const uint64_t* pat, const double* hi,
                     const double* lo) {
    std::vector<double> a2(2 * r), u2(2 * r);
    for (int l = 0; l < r; ++l) {
        u2[l] = hi[l];
        u2[r + l] = lo[l];
    }
    for (int h = 0; h < m; ++h) {
        const double* a = H + static_cast<std::size_t>(h) * r;
        for (int l = 0; l < r; ++l) a2[l] = a2[r + l] = a[l];
        int want = get_bit(pat, h) ? 1 : -1;
        if (dot_sign_exact(a2.data(), u2.data(), 2 * r) != want) return false;
    }
    return true;
}

// Fallback for thin cells: the line direction recomputed in double-double from the
// incident hyperplanes, the step chosen from margins computed in double-double, the
// point rounded to doubles and verified exactly; several steps are tried.
// Returns 1 with a double witness in u, 2 with a double-double one (u + ulo), 0 on failure.
int witness_dd(const double* H, int m, int r, const int32_t* inc, int k, const uint64_t* pat,
               const double* vflt, const double* w, double* u, double* ulo) {
    std::vector<dd> M(static_cast<std::size_t>(k) * r);
    for (int j = 0; j < k; ++j) {
        const double* a = H + static_cast<std::size_t>(inc[j]) * r;
        double an = 0;
        for (int l = 0; l < r; ++l) an = std::max(an, std::fabs(a[l]));
        int ex;
        std::frexp(an, &ex);
        for (int l = 0; l < r; ++l) M[j * r + l] = dd(std::ldexp(a[l], -ex));
    }
    std::vector<dd> v;
    if (!dd_null_vector(M, k, r, v)) return 0;
    double dot = 0, vmax = 0;
    for (int l = 0; l < r; ++l) {
        dot += v[l].hi * vflt[l];
        vmax = std::max(vmax, ddabs(v[l]));
    }
    double sc = (dot < 0 ? -1.0 : 1.0) / vmax;
    for (int l = 0; l < r; ++l) v[l] = v[l] * dd(sc);
    std::vector<double> wbuf(w, w + r);
    if (k == r - 1) {
        // recompute the step direction in dd: a_j . w = +-1 on the incident rows, v . w = 0
        std::vector<dd> Aug(static_cast<std::size_t>(r) * (r + 1));
        for (int j = 0; j < k; ++j) {
            for (int l = 0; l < r; ++l) Aug[j * (r + 1) + l] = M[j * r + l];
            Aug[j * (r + 1) + r] = dd(get_bit(pat, inc[j]) ? -1.0 : 1.0);
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
    double eps = 0.5;
    int jj = 0;
    for (int h = 0; h < m; ++h) {
        if (jj < k && inc[jj] == h) { ++jj; continue; }
        const double* a = H + static_cast<std::size_t>(h) * r;
        // the largest t with the sign of a . (v + t w) kept: |a.v| / |a.w| when a.w opposes it
        dd dv(0.0), dw(0.0);
        for (int l = 0; l < r; ++l) {
            dv = dv + dd(a[l]) * v[l];
            dw = dw + dd(a[l]) * dd(w[l]);
        }
        if (dv.hi * dw.hi < 0) eps = std::min(eps, 0.5 * ddabs(dv) / ddabs(dw));
    }
    if (!(eps > 0)) return 0;
    const double eps0 = eps;
    // A cell thinner than the spacing of doubles near the chosen point may still hold
    // doubles elsewhere along its cone: the rounding grid moves relative to the cell when
    // the point is scaled by a non-power of two. Try several depths, scales, and the +-1
    // ulp neighbours of each rounded point (all 3^r of them for r <= 4).
    int combos = 1;
    for (int l = 0; l < r && l < 4; ++l) combos *= 3;
    std::vector<dd> pt(r);
    for (int it = 0; it < 12; ++it) {
        for (int l = 0; l < r; ++l) pt[l] = v[l] + dd(eps) * dd(w[l]);
        for (int js = 0; js < 48; ++js) {
            dd lam = dd(1.0) + dd(static_cast<double>(js)) / dd(47.0);
            double base[64];
            for (int l = 0; l < r; ++l) base[l] = (pt[l] * lam).to_double();
            for (int c = 0; c < combos; ++c) {
                int cc = c;
                for (int l = 0; l < r; ++l) {
                    int dlt = l < 4 ? cc % 3 : 0;
                    cc /= 3;
                    u[l] = dlt == 0 ? base[l]
                                    : std::nextafter(base[l], dlt == 1 ? HUGE_VAL : -HUGE_VAL);
                }
                if (verify_witness(H, m, r, pat, u)) return 1;
            }
        }
        eps *= 0.5;
    }
    // no double found: keep the point in double-double (exact as the sum hi + lo)
    eps = eps0;
    for (int it = 0; it < 12; ++it) {
        for (int l = 0; l < r; ++l) {
            dd p = v[l] + dd(eps) * dd(w[l]);
            p = quick_two_sum(p.hi, p.lo);
            u[l] = p.hi;
            ulo[l] = p.lo;
        }
        if (verify_witness2(H, m, r, pat, u, ulo)) return 2;
        eps *= 0.5;
    }
    return 0;    return 0;
}


}  // namespace

CellsResult enumerate_cells_core(const double* H, int m, int r, bool integral, int threads,
                                 long long max_cells, bool want_witnesses,
                                 std::atomic<bool>& cancel, const std::function<bool()>& poll) {
    CellsResult res;
    int W = std::max(1, (m + 63) / 64);
    res.words = W;
    if (r == 0) {
        res.bits.assign(W, 0);
        res.witnesses.clear();
        return res;
    }
    if (r == 1) {
        res.bits.assign(2 * static_cast<std::size_t>(W), 0);
        for (int h = 0; h < m; ++h) {
            if (H[h] > 0) set_bit(res.bits.data(), h);
            else set_bit(res.bits.data() + W, h);
        }
        res.witnesses = {1.0, -1.0};
        return res;
    }
    std::vector<CellTaskOut> outs;
    auto nopoll = []() { return false; };
    walk_lines(
        H, m, r, integral, threads, cancel, poll, [&](int nt) { outs.resize(nt); },
        [&](int task, const LineRef& L) {
            CellTaskOut& o = outs[task];
            const Sweep& sw = *L.sweep;
            int ni = static_cast<int>(sw.items.size());
            if (o.sw_id != sw.id) {
                o.sw_id = sw.id;
                o.next_pos = 0;
                o.fpos.assign(W, 0);
                o.fneg.assign(W, 0);
                o.before.assign(W, 0);
                o.clsb.assign(W, 0);
                o.base.assign(W, 0);
                o.flipb.assign(W, 0);
                for (int p = 0; p < ni; ++p) set_bit((sw.flip[p] > 0 ? o.fpos : o.fneg).data(), sw.items[p]);
            }
            int a = sw.cls_start[L.cls], b = sw.cls_start[L.cls + 1];
            for (int p = o.next_pos; p < a; ++p) set_bit(o.before.data(), sw.items[p]);
            o.next_pos = std::max(o.next_pos, a);
            std::fill(o.clsb.begin(), o.clsb.end(), 0);
            for (int p = a; p < b; ++p) set_bit(o.clsb.data(), sw.items[p]);
            for (int w = 0; w < W; ++w) {
                uint64_t after = ~(o.before[w] | o.clsb[w]);
                o.base[w] = (o.fpos[w] & o.before[w]) | (o.fneg[w] & after);
                o.flipb[w] = (o.fneg[w] & o.before[w]) | (o.fpos[w] & after);
            }
            int line_id = static_cast<int>(o.inc_ptr.size()) - 1;
            std::size_t voff = o.vdir.size();
            o.vdir.resize(voff + r);
            line_direction(L, r, o.vdir.data() + voff);
            std::size_t ioff = o.inc.size();
            o.inc.insert(o.inc.end(), L.node->S.begin(), L.node->S.end());
            for (int p = a; p < b; ++p) o.inc.push_back(sw.items[p]);
            std::sort(o.inc.begin() + static_cast<std::ptrdiff_t>(ioff), o.inc.end());
            o.inc_ptr.push_back(static_cast<int32_t>(o.inc.size()));
            const int32_t* inc = o.inc.data() + ioff;
            int k = static_cast<int>(o.inc.size() - ioff);
            bool zero_inc = k > 0 && inc[0] == 0;
            bool base0 = get_bit(o.base.data(), 0);
            auto emit = [&](const std::vector<uint64_t>& bse, const char* lp, int orient, int32_t lid) {
                std::size_t off = o.pats.size();
                o.pats.insert(o.pats.end(), bse.begin(), bse.end());
                uint64_t* dst = o.pats.data() + off;
                for (int j = 0; j < k; ++j)
                    if (lp[j]) set_bit(dst, inc[j]);
                int32_t eidx = static_cast<int32_t>(o.line_of.size());
                uint64_t hv = hash_words(dst, W);
                o.hash.push_back(hv);
                o.shard[hv >> 58].push_back(eidx);
                o.line_of.push_back(line_id);
                o.local_of.push_back(lid);
                o.orient.push_back(static_cast<int8_t>(orient));
            };
            auto emit_local = [&](const char* lp, int32_t lid) {
                if (zero_inc) {
                    if (!lp[0]) return;  // hyperplane 0 must be positive
                    emit(o.base, lp, 1, lid);
                    emit(o.flipb, lp, -1, lid);
                } else if (base0) {
                    emit(o.base, lp, 1, lid);
                } else {
                    emit(o.flipb, lp, -1, lid);
                }
            };
            if (k == r - 1) {
                o.loc_ptr.push_back(-1);
                char lp[64];
                for (int mask = 0; mask < (1 << k); ++mask) {
                    for (int j = 0; j < k; ++j) lp[j] = (mask >> j) & 1;
                    emit_local(lp, mask);
                }
            } else {
                std::vector<double> sub;
                std::vector<int> pcols;
                std::vector<int> incv(inc, inc + k);
                int kk = essentialize_rows(H, r, incv, integral, sub, pcols);
                std::atomic<bool> sub_cancel{false};
                CellsResult lc = enumerate_cells_core(sub.data(), k, kk, integral, 0, -1, true,
                                                      sub_cancel, nopoll);
                int off = static_cast<int>(o.loc_wit.size() / r);
                o.loc_ptr.push_back(off);
                std::size_t nl = lc.n_cells();
                std::vector<char> lp(k);
                for (std::size_t c = 0; c < nl; ++c) {
                    for (int j = 0; j < k; ++j) lp[j] = get_bit(lc.bits.data() + c * lc.words, j);
                    std::vector<double> w(r, 0.0);
                    for (int t = 0; t < kk; ++t) w[pcols[t]] = lc.witnesses[c * kk + t];
                    o.loc_wit.insert(o.loc_wit.end(), w.begin(), w.end());
                    emit_local(lp.data(), static_cast<int32_t>(c));
                }
            }
        });
    // ---- deduplicate per hash shard (first occurrence in task order kept) ----
    int nt = static_cast<int>(outs.size());
    std::vector<std::vector<std::pair<int32_t, int32_t>>> uniq_sh(kShards);
    run_tasks(
        kShards, threads,
        [&](int sh) {
            std::size_t cnt = 0;
            for (auto& o : outs) cnt += o.shard[sh].size();
            std::size_t cap = 16;
            while (cap < 2 * cnt + 16) cap <<= 1;
            // open addressing with the pattern stored inline: [hash, task, e, words...]
            const std::size_t stride = static_cast<std::size_t>(W) + 2;
            std::vector<uint64_t> table(cap * stride, 0);
            std::vector<char> used(cap, 0);
            auto& u = uniq_sh[sh];
            for (int t = 0; t < nt; ++t) {
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
                            bool same = true;
                            for (int w = 0; w < W; ++w)
                                if (p[w] != slot[2 + w]) { same = false; break; }
                            if (same) break;
                        }
                        h = (h + 1) & (cap - 1);
                    }
                }
            }
        },
        cancel, threads > 0 ? poll : std::function<bool()>());
    std::vector<std::pair<int32_t, int32_t>> uniq;
    for (auto& u : uniq_sh) uniq.insert(uniq.end(), u.begin(), u.end());
    std::sort(uniq.begin(), uniq.end());  // emission order: deterministic and thread-independent
    std::size_t K = uniq.size();
    if (max_cells >= 0 && static_cast<long long>(2 * K) > max_cells)
        throw SizeLimit("the arrangement has " + std::to_string(2 * K) + " cells, more than max_cells=" +
                        std::to_string(max_cells));
    res.bits.resize(2 * K * W);
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
    if (!want_witnesses) return res;
    res.witnesses.assign(2 * K * static_cast<std::size_t>(r), 0.0);
    int nchunks = static_cast<int>(std::min<std::size_t>(K, 256));
    if (nchunks == 0) return res;
    std::mutex lo_mutex;
    auto do_chunk = [&](int ch) {
        std::size_t lo = K * ch / nchunks, hi = K * (ch + 1) / nchunks;
        std::vector<double> M(static_cast<std::size_t>(r) * r), b(r), u(r), v(r), w(r), ulo(r);
        for (std::size_t c = lo; c < hi; ++c) {
            if ((c & 1023) == 0 && cancel.load()) throw Cancelled("cancelled");
            auto [t, e] = uniq[c];
            const CellTaskOut& o = outs[t];
            int line = o.line_of[e];
            int orient = o.orient[e];
            const int32_t* inc = o.inc.data() + o.inc_ptr[line];
            int k = o.inc_ptr[line + 1] - o.inc_ptr[line];
            const uint64_t* pat = res.bits.data() + 2 * c * W;
            double vmax = 0;
            for (int j = 0; j < r; ++j) {
                v[j] = orient * o.vdir[static_cast<std::size_t>(line) * r + j];
                vmax = std::max(vmax, std::fabs(v[j]));
            }
            for (int j = 0; j < r; ++j) v[j] /= vmax;
            if (o.loc_ptr[line] < 0) {
                for (int j = 0; j < k; ++j) {
                    const double* a = H + static_cast<std::size_t>(inc[j]) * r;
                    double an = 0;
                    for (int l = 0; l < r; ++l) an = std::max(an, std::fabs(a[l]));
                    for (int l = 0; l < r; ++l) M[j * r + l] = a[l] / an;
                    b[j] = get_bit(pat, inc[j]) ? 1.0 : -1.0;
                }
                for (int l = 0; l < r; ++l) M[(r - 1) * r + l] = v[l];
                b[r - 1] = 0.0;
                if (!solve_small(M, b, r)) throw NumericalFailure("singular local system for a witness");
                w = b;
            } else {
                const double* lw = o.loc_wit.data() + static_cast<std::size_t>(o.loc_ptr[line] + o.local_of[e]) * r;
                std::copy(lw, lw + r, w.begin());
            }
            double wmax = 0;
            for (int j = 0; j < r; ++j) wmax = std::max(wmax, std::fabs(w[j]));
            for (int j = 0; j < r; ++j) w[j] /= wmax;
            // largest step keeping the non-incident signs: min |a.v| / |a|_1 (|w|_inf = 1)
            double eps = 0.5;
            {
                std::vector<char> isinc(0);
                int jj = 0;
                for (int h = 0; h < m; ++h) {
                    if (jj < k && inc[jj] == h) { ++jj; continue; }
                    const double* a = H + static_cast<std::size_t>(h) * r;
                    double dv = 0, an = 0;
                    for (int l = 0; l < r; ++l) { dv += a[l] * v[l]; an += std::fabs(a[l]); }
                    eps = std::min(eps, 0.5 * std::fabs(dv) / an);
                }
            }
            bool ok = false;
            for (int it = 0; it < 60 && !ok; ++it) {
                for (int j = 0; j < r; ++j) u[j] = v[j] + eps * w[j];
                ok = verify_witness(H, m, r, pat, u.data());
                eps *= 0.25;
            }
            if (!ok) {
                int how = witness_dd(H, m, r, inc, k, pat, v.data(), w.data(), u.data(), ulo.data());
                ok = how > 0;
                if (how == 2) {
                    std::lock_guard<std::mutex> lk(lo_mutex);
                    if (res.witnesses_lo.empty()) res.witnesses_lo.assign(res.witnesses.size(), 0.0);
                    for (int j = 0; j < r; ++j) {
                        res.witnesses_lo[2 * c * r + j] = ulo[j];
                        res.witnesses_lo[2 * c * r + r + j] = -ulo[j];
                    }
                }
            }
            if (!ok)
                throw NumericalFailure(
                    "could not construct an exactly verified interior point in double precision for "
                    "a cell that is extremely thin; the patterns are exact: call with witnesses=False");
            double* dst = res.witnesses.data() + 2 * c * r;
            for (int j = 0; j < r; ++j) {
                dst[j] = u[j];
                dst[r + j] = -u[j];
            }
        }
    };
    std::atomic<bool>& cc = cancel;
    run_tasks(nchunks, threads, do_chunk, cc, threads > 0 ? poll : std::function<bool()>());
    return res;
}

// ---------------------------------------------------------------------------------
RaysResult enumerate_lines_core(const double* H, int m, int r, bool integral, int threads,
                                long long max_lines, std::atomic<bool>& cancel,
                                const std::function<bool()>& poll) {
    RaysResult res;
    if (r == 0) return res;
    if (r == 1) {
        res.dirs = {1.0};
        res.indptr = {0, 0};
        return res;
    }
    struct Out {
        std::vector<double> dirs;
        std::vector<int32_t> ptr{0};
        std::vector<int32_t> inc;
    };
    std::vector<Out> outs;
    std::atomic<long long> nlines{0};
    walk_lines(
        H, m, r, integral, threads, cancel, poll, [&](int nt) { outs.resize(nt); },
        [&](int task, const LineRef& L) {
            if (max_lines >= 0 && nlines.fetch_add(1) + 1 > max_lines)
                throw SizeLimit("more than max_rays/2=" + std::to_string(max_lines) + " lines");
            Out& o = outs[task];
            std::size_t off = o.dirs.size();
            o.dirs.resize(off + r);
            line_direction(L, r, o.dirs.data() + off);
            std::vector<int> inc = L.node->S;
            for (int p = L.sweep->cls_start[L.cls]; p < L.sweep->cls_start[L.cls + 1]; ++p)
                inc.push_back(L.sweep->items[p]);
            std::sort(inc.begin(), inc.end());
            o.inc.insert(o.inc.end(), inc.begin(), inc.end());
            o.ptr.push_back(static_cast<int32_t>(o.inc.size()));
        });
    for (auto& o : outs) {
        res.dirs.insert(res.dirs.end(), o.dirs.begin(), o.dirs.end());
        int64_t base = res.indices.size();
        for (std::size_t i = 1; i < o.ptr.size(); ++i) res.indptr.push_back(base + o.ptr[i]);
        res.indices.insert(res.indices.end(), o.inc.begin(), o.inc.end());
    }
    return res;
}

// ---------------------------------------------------------------------------------
namespace {

void count_subtree(const FlatWalker& W, const Node& nd, std::vector<uint64_t>& w,
                   std::vector<uint64_t>& nflats, const double* H, int r, bool integral,
                   bool want_mu) {
    W.check_cancel();
    Sweep sw;
    W.sweep(nd, sw);
    int ncls = static_cast<int>(sw.cls_start.size()) - 1;
    for (int cls = 0; cls < ncls; ++cls) {
        if (!W.canonical(nd, sw, cls)) continue;
        int c = nd.c + 1;
        nflats[c] += 1;
        if (want_mu) {
            std::size_t sz = nd.S.size() + static_cast<std::size_t>(sw.cls_start[cls + 1] - sw.cls_start[cls]);
            if (sz == static_cast<std::size_t>(c)) {
                w[c] += 1;
            } else if (c == 2) {
                w[c] += sz - 1;
            } else {
                std::vector<int> S = nd.S;
                for (int p = sw.cls_start[cls]; p < sw.cls_start[cls + 1]; ++p) S.push_back(sw.items[p]);
                std::sort(S.begin(), S.end());
                w[c] += mobius_abs(H, r, integral, S, c);
            }
        }
        if (c < W.maxc()) {
            Node ch = W.child(nd, sw, cls);
            count_subtree(W, ch, w, nflats, H, r, integral, want_mu);
        }
    }
}

}  // namespace

Counts count_core(const double* H, int m, int r, bool integral, int threads, bool want_cells,
                  std::atomic<bool>& cancel, const std::function<bool()>& poll) {
    Counts out;
    if (r == 0) {
        out.cells = 1;
        out.lines = 0;
        return out;
    }
    if (r == 1) {
        out.cells = 2;
        out.lines = 1;
        return out;
    }
    std::vector<int> rows(m);
    std::iota(rows.begin(), rows.end(), 0);
    FlatWalker W(H, r, integral, rows, r - 1, &cancel);
    Node root = W.root();
    Sweep rs;
    W.sweep(root, rs);
    std::vector<int> classes;
    for (int cls = 0; cls + 1 < static_cast<int>(rs.cls_start.size()); ++cls)
        if (W.canonical(root, rs, cls)) classes.push_back(cls);
    int nt = static_cast<int>(classes.size());
    std::vector<std::vector<uint64_t>> ws(nt, std::vector<uint64_t>(r + 1, 0));
    std::vector<std::vector<uint64_t>> fs(nt, std::vector<uint64_t>(r + 1, 0));
    run_tasks(
        nt, threads,
        [&](int t) {
            // the class itself is a flat of codimension 1 (a single distinct hyperplane)
            fs[t][1] += 1;
            ws[t][1] += 1;
            if (1 < W.maxc()) {
                Node ch = W.child(root, rs, classes[t]);
                count_subtree(W, ch, ws[t], fs[t], H, r, integral, want_cells);
            }
        },
        cancel, poll);
    std::vector<unsigned __int128> w(r + 1, 0), f(r + 1, 0);
    w[0] = 1;
    for (int t = 0; t < nt; ++t)
        for (int c = 0; c <= r; ++c) {
            w[c] += ws[t][c];
            f[c] += fs[t][c];
        }
    out.lines = f[r - 1];
    unsigned __int128 s = 0;
    for (int k = 0; k <= r - 1; ++k)
        if (((r - 1 - k) & 1) == 0) s += w[k];
    out.cells = 2 * s;
    return out;
}

}  // namespace exactrelu
