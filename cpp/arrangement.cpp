#include "arrangement.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
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

struct LineSigns {
    // Signs of every hyperplane at the line (+1, -1, 0 for incident) and the incident list.
    std::vector<signed char> sign;
    std::vector<int> incident;
};

void line_signs(const LineRef& L, int m, LineSigns& out) {
    const Sweep& sw = *L.sweep;
    out.sign.assign(m, 0);
    int a = sw.cls_start[L.cls], b = sw.cls_start[L.cls + 1];
    int ni = static_cast<int>(sw.items.size());
    for (int p = 0; p < ni; ++p) {
        int s = sw.items[p];
        if (p < a) out.sign[s] = sw.flip[p];
        else if (p >= b) out.sign[s] = static_cast<signed char>(-sw.flip[p]);
    }
    out.incident = L.node->S;
    for (int p = a; p < b; ++p) out.incident.push_back(sw.items[p]);
    std::sort(out.incident.begin(), out.incident.end());
}

// Open-addressing set of patterns (first occurrence kept).
struct PatternSet {
    int words;
    const std::vector<uint64_t>* pats;
    std::vector<int64_t> table;
    uint64_t mask;
    explicit PatternSet(int w, const std::vector<uint64_t>* p, std::size_t expected)
        : words(w), pats(p) {
        std::size_t cap = 16;
        while (cap < expected * 2 + 16) cap <<= 1;
        table.assign(cap, -1);
        mask = cap - 1;
    }
    static uint64_t mix(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 33;
        return x;
    }
    uint64_t hash(int64_t idx) const {
        const uint64_t* p = pats->data() + static_cast<std::size_t>(idx) * words;
        uint64_t h = 0x9e3779b97f4a7c15ull;
        for (int i = 0; i < words; ++i) h = mix(h ^ p[i]) + i;
        return h;
    }
    // Returns true if inserted (new).
    bool insert(int64_t idx) {
        uint64_t h = hash(idx) & mask;
        const uint64_t* p = pats->data() + static_cast<std::size_t>(idx) * words;
        while (true) {
            int64_t t = table[h];
            if (t < 0) {
                table[h] = idx;
                return true;
            }
            const uint64_t* q = pats->data() + static_cast<std::size_t>(t) * words;
            if (std::memcmp(p, q, sizeof(uint64_t) * words) == 0) return false;
            h = (h + 1) & mask;
        }
    }
};

struct CellTaskOut {
    std::vector<uint64_t> pats;     // emitted patterns
    std::vector<int32_t> line_of;   // per emission: task-local line index
    std::vector<int32_t> local_of;  // per emission: local cell id (sigma mask or index)
    std::vector<int8_t> orient;     // per emission: +1 / -1
    std::vector<double> vdir;       // per line: r doubles
    std::vector<int32_t> inc_ptr{0};
    std::vector<int32_t> inc;       // per line: incident hyperplanes (sorted)
    std::vector<int32_t> loc_ptr;   // per line: -1 generic, else offset into loc_wit (cells)
    std::vector<double> loc_wit;    // local witnesses, r each
};

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
            LineSigns ls;
            line_signs(L, m, ls);
            int line_id = static_cast<int>(o.inc_ptr.size()) - 1;
            std::vector<double> v(r);
            line_direction(L, r, v.data());
            o.vdir.insert(o.vdir.end(), v.begin(), v.end());
            o.inc.insert(o.inc.end(), ls.incident.begin(), ls.incident.end());
            o.inc_ptr.push_back(static_cast<int32_t>(o.inc.size()));
            std::vector<uint64_t> base(W, 0), flipb(W, 0);
            for (int h = 0; h < m; ++h) {
                if (ls.sign[h] > 0) set_bit(base.data(), h);
                else if (ls.sign[h] < 0) set_bit(flipb.data(), h);
            }
            int k = static_cast<int>(ls.incident.size());
            bool zero_inc = !ls.incident.empty() && ls.incident[0] == 0;
            // local cells: patterns over the incident hyperplanes (bit j = incident[j] positive)
            std::vector<std::vector<char>> local_pos;
            std::vector<int32_t> local_ids;
            if (k == r - 1) {
                o.loc_ptr.push_back(-1);
                for (int mask = 0; mask < (1 << k); ++mask) {
                    std::vector<char> lp(k);
                    for (int j = 0; j < k; ++j) lp[j] = (mask >> j) & 1;
                    local_pos.push_back(lp);
                    local_ids.push_back(mask);
                }
            } else {
                std::vector<double> sub;
                std::vector<int> pcols;
                int kk = essentialize_rows(H, r, ls.incident, integral, sub, pcols);
                std::atomic<bool> sub_cancel{false};
                CellsResult lc = enumerate_cells_core(sub.data(), k, kk, integral, 0, -1, true,
                                                      sub_cancel, nopoll);
                int off = static_cast<int>(o.loc_wit.size() / r);
                o.loc_ptr.push_back(off);
                std::size_t nl = lc.n_cells();
                for (std::size_t c = 0; c < nl; ++c) {
                    std::vector<char> lp(k);
                    for (int j = 0; j < k; ++j) lp[j] = get_bit(lc.bits.data() + c * lc.words, j);
                    local_pos.push_back(lp);
                    local_ids.push_back(static_cast<int32_t>(c));
                    std::vector<double> w(r, 0.0);
                    for (int t = 0; t < kk; ++t) w[pcols[t]] = lc.witnesses[c * kk + t];
                    o.loc_wit.insert(o.loc_wit.end(), w.begin(), w.end());
                }
            }
            for (std::size_t li = 0; li < local_pos.size(); ++li) {
                const std::vector<char>& lp = local_pos[li];
                for (int orient = 1; orient >= -1; orient -= 2) {
                    if (zero_inc) {
                        if (!lp[0]) continue;  // hyperplane 0 must be positive
                    } else {
                        bool pos0 = orient > 0 ? ls.sign[0] > 0 : ls.sign[0] < 0;
                        if (!pos0) continue;
                    }
                    std::size_t off = o.pats.size();
                    const std::vector<uint64_t>& b = orient > 0 ? base : flipb;
                    o.pats.insert(o.pats.end(), b.begin(), b.end());
                    for (int j = 0; j < k; ++j)
                        if (lp[j]) set_bit(o.pats.data() + off, ls.incident[j]);
                    o.line_of.push_back(line_id);
                    o.local_of.push_back(local_ids[li]);
                    o.orient.push_back(static_cast<int8_t>(orient));
                }
            }
        });
    // ---- merge in task order and deduplicate (first occurrence kept) ----
    std::vector<uint64_t> all;
    std::vector<std::pair<int32_t, int32_t>> origin;  // (task, emission index in task)
    std::size_t total = 0;
    for (auto& o : outs) total += o.line_of.size();
    all.reserve(total * W);
    origin.reserve(total);
    for (int t = 0; t < static_cast<int>(outs.size()); ++t) {
        all.insert(all.end(), outs[t].pats.begin(), outs[t].pats.end());
        for (int32_t e = 0; e < static_cast<int32_t>(outs[t].line_of.size()); ++e) origin.emplace_back(t, e);
        std::vector<uint64_t>().swap(outs[t].pats);
    }
    PatternSet set(W, &all, total);
    std::vector<int64_t> uniq;
    for (std::size_t e = 0; e < total; ++e) {
        if ((e & 0xffff) == 0 && cancel.load()) throw Cancelled("cancelled");
        if (set.insert(static_cast<int64_t>(e))) uniq.push_back(static_cast<int64_t>(e));
    }
    std::size_t K = uniq.size();
    if (max_cells >= 0 && static_cast<long long>(2 * K) > max_cells)
        throw SizeLimit("the arrangement has " + std::to_string(2 * K) + " cells, more than max_cells=" +
                        std::to_string(max_cells));
    res.bits.assign(2 * K * W, 0);
    for (std::size_t c = 0; c < K; ++c) {
        const uint64_t* p = all.data() + static_cast<std::size_t>(uniq[c]) * W;
        uint64_t* dst = res.bits.data() + 2 * c * W;
        std::copy(p, p + W, dst);
        for (int w = 0; w < W; ++w) dst[W + w] = ~p[w];
        if (m % 64) dst[W + W - 1] &= (uint64_t(1) << (m % 64)) - 1;
    }
    if (!want_witnesses) return res;
    res.witnesses.assign(2 * K * static_cast<std::size_t>(r), 0.0);
    int nchunks = static_cast<int>(std::min<std::size_t>(K, 256));
    if (nchunks == 0) return res;
    auto do_chunk = [&](int ch) {
        std::size_t lo = K * ch / nchunks, hi = K * (ch + 1) / nchunks;
        std::vector<double> M(static_cast<std::size_t>(r) * r), b(r), u(r), v(r), w(r);
        for (std::size_t c = lo; c < hi; ++c) {
            if ((c & 1023) == 0 && cancel.load()) throw Cancelled("cancelled");
            auto [t, e] = origin[uniq[c]];
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
            if (!ok) throw NumericalFailure("could not construct an exactly verified witness");
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
