// pybind11 bindings of the private module exactrelu._core: glue only.
//
// Every entry point validates its arrays, releases the GIL for the work, polls for
// Ctrl-C from the waiting thread (which also calls the optional progress callback),
// and lets translate_exception map C++ failures onto exactrelu.errors.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <string>

#include "arrangement.hpp"
#include "pricing.hpp"
#include "simplex.hpp"

namespace py = pybind11;
using namespace exactrelu;

namespace {

// Exact enumeration works on at most this many columns (minor tables have 2^D entries).
constexpr int kMaxDim = 24;
// Row counts must fit the core's 32-bit row indices.
constexpr long long kMaxRows = 2000000000LL;

using Arr = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Set the Python error exactrelu.errors.<cls>(msg); the module is imported lazily.
void set_error(const char* cls, const std::string& msg) {
    py::object exc = py::module_::import("exactrelu.errors").attr(cls);
    PyErr_SetString(exc.ptr(), msg.c_str());
}

[[noreturn]] void raise_error(const char* cls, const std::string& msg) {
    set_error(cls, msg);
    throw py::error_already_set();
}

// C++ failures -> exactrelu.errors (runs with the GIL held). A Python error already
// set (KeyboardInterrupt, or whatever a signal handler raised) is left as it is.
void translate_exception(std::exception_ptr p) {
    try {
        if (p) std::rethrow_exception(p);
    } catch (const py::error_already_set&) {
        throw;  // pybind11 restores it unchanged
    } catch (const Cancelled& e) {
        if (PyErr_Occurred()) return;  // the poll's KeyboardInterrupt (or handler's error)
        set_error("ExactReLUError", std::string("computation cancelled: ") + e.what());
    } catch (const SizeLimit& e) {
        set_error("SizeError", e.what());
    } catch (const NumericalFailure& e) {
        set_error("NumericalError", e.what());
    } catch (const std::bad_alloc&) {
        set_error("SizeError", "out of memory during the enumeration");
    } catch (const std::length_error& e) {  // a container asked for more than it can hold
        set_error("SizeError", std::string("too large for the C++ core: ") + e.what());
    } catch (const std::exception& e) {
        set_error("ExactReLUError", std::string("internal error in the C++ core: ") + e.what());
    }
}

struct Matrix {
    const double* data;
    int n, D;
};

Matrix check_matrix(const Arr& A, const char* name) {
    const std::string nm(name);
    if (A.ndim() != 2) raise_error("ShapeError", nm + " must be 2-D, got " + std::to_string(A.ndim()) + "-D");
    if (A.shape(0) < 1) raise_error("ShapeError", nm + " must have at least one row");
    if (A.shape(1) < 1) raise_error("ShapeError", nm + " must have at least one column");
    if (A.shape(0) > kMaxRows) raise_error("SizeError", nm + " has too many rows");
    Matrix M{A.data(), static_cast<int>(A.shape(0)), static_cast<int>(A.shape(1))};
    if (M.D > kMaxDim)
        raise_error("SizeError", nm + " has " + std::to_string(M.D) +
                                     " columns; exact enumeration supports at most " + std::to_string(kMaxDim));
    for (std::size_t i = 0; i < static_cast<std::size_t>(M.n) * M.D; ++i)
        if (!std::isfinite(M.data[i]))
            raise_error("NonFiniteError", nm + " must be finite; found " + std::to_string(M.data[i]) +
                                              " at flat index " + std::to_string(i));
    return M;
}

// A run context whose poll takes the GIL and checks for signals (Ctrl-C), and, when
// `progress` is not None, whose report takes the GIL and calls progress(stage, done,
// total). Both run on the waiting thread only (see run_tasks); an exception raised by
// the callback stops the work and propagates unchanged, like a KeyboardInterrupt.
struct PyRun {
    std::atomic<bool> cancel{false};
    RunContext ctx;
    PyRun(int threads, const py::object& progress) {
        ctx.threads = threads;
        ctx.cancel = &cancel;
        ctx.poll = []() -> bool {
            py::gil_scoped_acquire gil;
            return PyErr_CheckSignals() != 0;
        };
        if (progress.is_none()) return;  // no reporting: nothing is called, nothing costs
        if (!PyCallable_Check(progress.ptr())) raise_error("InputError", "progress must be callable or None");
        // borrowed: the argument outlives the call, and copies of the std::function
        // (made without the GIL) must not touch a reference count
        PyObject* cb = progress.ptr();
        ctx.report = [cb](const char* stage, long long done, long long total) -> bool {
            py::gil_scoped_acquire gil;
            PyObject* r = PyObject_CallFunction(cb, "sLL", stage, done, total);
            if (r == nullptr) return true;  // the callback raised: stop, its error stays set
            Py_DECREF(r);
            return false;
        };
    }
};

// Runs fn with the GIL released.
template <class F>
auto nogil(F&& fn) -> decltype(fn()) {
    py::gil_scoped_release release;
    return fn();
}

py::object to_pyint(unsigned __int128 v) {
    if (v == 0) return py::int_(0);
    std::string s;
    while (v) {
        s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
        v /= 10;
    }
    std::reverse(s.begin(), s.end());
    return py::reinterpret_steal<py::object>(PyLong_FromString(s.c_str(), nullptr, 10));
}

py::ssize_t ss(std::size_t v) { return static_cast<py::ssize_t>(v); }

py::tuple analyze(const Arr& A) {
    Matrix M = check_matrix(A, "A");
    Hyperplanes hp = nogil([&] { return preprocess(M.data, M.n, M.D); });
    return py::make_tuple(hp.r, hp.m);
}

void set_shard(RunContext& ctx, int shard_index, int shard_count) {
    if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count)
        raise_error("InputError", "need 0 <= shard_index < shard_count, got shard_index=" +
                                      std::to_string(shard_index) + ", shard_count=" + std::to_string(shard_count));
    ctx.shard_index = shard_index;
    ctx.shard_count = shard_count;
}

py::array_t<int64_t> keys_array(const std::vector<int64_t>& keys) {
    return py::array_t<int64_t>(ss(keys.size()), keys.data());
}

// The cells of one shard (all of them: shard 0 of 1) with their keys.
py::tuple cells_of_shard(const Arr& A, int threads, long long max_cells, bool witnesses,
                         const py::object& progress, int shard_index, int shard_count) {
    Matrix M = check_matrix(A, "A");
    PyRun run(threads, progress);
    set_shard(run.ctx, shard_index, shard_count);
    Hyperplanes hp;
    CellsResult cr = nogil([&] {
        hp = preprocess(M.data, M.n, M.D);
        return enumerate_cells_core(hp.matrix(), run.ctx, max_cells, witnesses);
    });
    std::size_t nc = cr.n_cells();
    bool has_lo = witnesses && !cr.witnesses_lo.empty();
    py::array_t<uint8_t> packed({ss(nc), ss((M.n + 7) / 8)});
    py::array_t<double> wit({ss(witnesses ? nc : 0), ss(M.D)});
    py::array_t<double> wlo({ss(has_lo ? nc : 0), ss(M.D)});
    uint8_t* pk = packed.mutable_data();
    double* wt = witnesses ? wit.mutable_data() : nullptr;
    double* wl = has_lo ? wlo.mutable_data() : nullptr;
    nogil([&] { cells_to_rows(hp, cr, pk, wt, wl, run.ctx); });
    py::object lo = has_lo ? py::object(wlo) : py::object(py::none());
    return py::make_tuple(packed, wit, lo, keys_array(cr.keys));
}

py::tuple enumerate_cells(const Arr& A, int threads, long long max_cells, bool witnesses,
                          const py::object& progress) {
    py::tuple t = cells_of_shard(A, threads, max_cells, witnesses, progress, 0, 1);
    return py::make_tuple(t[0], t[1], t[2]);
}

py::tuple enumerate_cells_shard(const Arr& A, int shard_index, int shard_count, long long max_cells,
                                bool witnesses, int threads) {
    return cells_of_shard(A, threads, max_cells, witnesses, py::none(), shard_index, shard_count);
}

py::tuple rays_of_shard(const Arr& A, int threads, long long max_rays, const py::object& progress,
                        int shard_index, int shard_count) {
    Matrix M = check_matrix(A, "A");
    PyRun run(threads, progress);
    set_shard(run.ctx, shard_index, shard_count);
    Hyperplanes hp;
    long long max_lines = max_rays < 0 ? -1 : max_rays / 2;
    RaysResult rr = nogil([&] {
        hp = preprocess(M.data, M.n, M.D);
        return enumerate_lines_core(hp.matrix(), run.ctx, max_lines);
    });
    py::array_t<double> dirs({ss(2 * rr.n_lines(hp.r)), ss(M.D)});
    double* d = dirs.mutable_data();
    std::vector<int64_t> indptr, indices;
    nogil([&] { rays_to_data(hp, M.data, rr, d, indptr, indices, run.ctx); });
    py::array_t<int64_t> ip(ss(indptr.size()), indptr.data());
    py::array_t<int64_t> ix(ss(indices.size()), indices.data());
    return py::make_tuple(dirs, ip, ix, keys_array(rr.keys));
}

py::tuple enumerate_rays(const Arr& A, int threads, long long max_rays, const py::object& progress) {
    py::tuple t = rays_of_shard(A, threads, max_rays, progress, 0, 1);
    return py::make_tuple(t[0], t[1], t[2]);
}

py::tuple enumerate_rays_shard(const Arr& A, int shard_index, int shard_count, long long max_rays,
                               int threads) {
    return rays_of_shard(A, threads, max_rays, py::none(), shard_index, shard_count);
}

Counts count(const Arr& A, int threads, bool want_cells, const py::object& progress) {
    Matrix M = check_matrix(A, "A");
    PyRun run(threads, progress);
    return nogil([&] {
        Hyperplanes hp = preprocess(M.data, M.n, M.D);
        return count_core(hp.matrix(), run.ctx, want_cells);
    });
}

py::object count_cells(const Arr& A, int threads, const py::object& progress) {
    return to_pyint(count(A, threads, true, progress).cells);
}

py::object count_rays(const Arr& A, int threads, const py::object& progress) {
    return to_pyint(2 * count(A, threads, false, progress).lines);
}

using U64Arr = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>;

// (r, tallies): the rank and one row per task of the shard, (flats, |mu|) by codimension.
py::tuple count_shard(const Arr& A, bool want_cells, int shard_index, int shard_count, int threads) {
    Matrix M = check_matrix(A, "A");
    PyRun run(threads, py::none());
    set_shard(run.ctx, shard_index, shard_count);
    int r = 0;
    std::vector<FlatTally> t = nogil([&] {
        Hyperplanes hp = preprocess(M.data, M.n, M.D);
        r = hp.r;
        return count_shard_core(hp.matrix(), run.ctx, want_cells);
    });
    U64Arr out({ss(t.size()), ss(2), ss(r + 1)});
    uint64_t* p = out.mutable_data();
    for (std::size_t i = 0; i < t.size(); ++i)
        for (int c = 0; c <= r; ++c) {
            p[(2 * i) * (r + 1) + c] = t[i].flats[c];
            p[(2 * i + 1) * (r + 1) + c] = t[i].mu[c];
        }
    return py::make_tuple(r, out);
}

// (cells, rays) from the rank and the tallies of every shard (stacked in any order).
py::tuple merge_counts(int r, const U64Arr& tallies) {
    if (r < 0 || r > kMaxDim) raise_error("InputError", "count_merge: rank out of range");
    if (tallies.ndim() != 3 || tallies.shape(1) != 2 || tallies.shape(2) != r + 1)
        raise_error("ShapeError", "count_merge: tallies must have shape (k, 2, r + 1)");
    std::vector<FlatTally> t(tallies.shape(0), FlatTally(r));
    const uint64_t* p = tallies.data();
    for (std::size_t i = 0; i < t.size(); ++i)
        for (int c = 0; c <= r; ++c) {
            t[i].flats[c] = p[(2 * i) * (r + 1) + c];
            t[i].mu[c] = p[(2 * i + 1) * (r + 1) + c];
        }
    Counts cn = exactrelu::count_merge(r, t);
    return py::make_tuple(to_pyint(cn.cells), to_pyint(2 * cn.lines));
}

// The validated pricing problem of the arguments (the arrays must outlive it).
PricingProblem pricing_problem(const Arr& A, int n_data, const Arr& lam, const py::array_t<bool>& norm_mask,
                               int top_k, int pool_size) {
    Matrix M = check_matrix(A, "A");
    if (n_data < 0 || n_data > M.n) raise_error("ShapeError", "n_data must be in [0, rows of A]");
    if (lam.ndim() != 1 || lam.shape(0) != n_data)
        raise_error("ShapeError", "lam must be 1-D of length n_data=" + std::to_string(n_data) +
                                      ", got shape (" + std::to_string(lam.shape(0)) + ")");
    if (norm_mask.ndim() != 1 || norm_mask.shape(0) != M.D)
        raise_error("ShapeError", "norm_mask must be 1-D of length " + std::to_string(M.D));
    if (top_k < 1) raise_error("InputError", "top_k must be >= 1");
    if (pool_size < 0) raise_error("InputError", "pool_size must be >= 0");
    for (int i = 0; i < n_data; ++i)
        if (!std::isfinite(lam.data()[i])) raise_error("NonFiniteError", "lam must be finite");
    PricingProblem pb;
    pb.A = M.data;
    pb.n = M.n;
    pb.D = M.D;
    pb.n_data = n_data;
    pb.lam = lam.data();
    pb.mask.resize(M.D);
    for (int j = 0; j < M.D; ++j) pb.mask[j] = norm_mask.at(j);
    pb.top_k = top_k;
    pb.pool_size = pool_size;
    return pb;
}

py::tuple priced_to_python(const PricedRays& pr, int D) {
    std::size_t k = pr.scores.size();
    py::array_t<double> scores(ss(k), pr.scores.data());
    py::array_t<double> dirs({ss(k), ss(D)}, pr.dirs.data());
    std::size_t kp = pr.pool_scores.size();
    py::array_t<double> pool_scores(ss(kp), pr.pool_scores.data());
    py::array_t<double> pool_dirs({ss(kp), ss(D)}, pr.pool_dirs.data());
    return py::make_tuple(scores, dirs, pr.n_priced, pool_scores, pool_dirs, pr.n_shards);
}

py::tuple price_rays(const Arr& A, int n_data, const Arr& lam, py::array_t<bool> norm_mask,
                     int top_k, int threads, const py::object& progress, int pool_size) {
    PricingProblem pb = pricing_problem(A, n_data, lam, norm_mask, top_k, pool_size);
    PyRun run(threads, progress);
    PricedRays pr = nogil([&] { return price_rays_core(pb, run.ctx); });
    return priced_to_python(pr, pb.D);
}

// A shard's candidates as a tuple of plain values and arrays (picklable):
// (r, n_tasks, n_priced, n_skipped, n_rescored, n_top, scores, orders, norms, dirs,
// inc_ptr, inc); the first n_top candidates are the shard's top, the rest its pool.
py::tuple shard_to_python(const PriceShard& sh) {
    std::vector<const PriceCand*> cs;
    for (auto& c : sh.top) cs.push_back(&c);
    for (auto& c : sh.pool) cs.push_back(&c);
    const std::size_t k = cs.size();
    const int r = sh.r;
    py::array_t<double> scores(ss(k)), norms(ss(k)), dirs({ss(k), ss(r)});
    py::array_t<int64_t> orders(ss(k)), inc_ptr(ss(k + 1));
    std::size_t ninc = 0;
    for (auto* c : cs) ninc += c->inc.size();
    py::array_t<int32_t> inc(ss(ninc));
    double *ps = scores.mutable_data(), *pn = norms.mutable_data(), *pd = dirs.mutable_data();
    int64_t *po = orders.mutable_data(), *pp = inc_ptr.mutable_data();
    int32_t* pi = inc.mutable_data();
    pp[0] = 0;
    for (std::size_t i = 0; i < k; ++i) {
        const PriceCand& c = *cs[i];
        if (static_cast<int>(c.v.size()) != r) raise_error("ExactReLUError", "internal error: candidate size");
        ps[i] = c.score;
        pn[i] = c.norm;
        po[i] = c.order;
        std::copy(c.v.begin(), c.v.end(), pd + i * r);
        std::copy(c.inc.begin(), c.inc.end(), pi + pp[i]);
        pp[i + 1] = pp[i] + static_cast<int64_t>(c.inc.size());
    }
    return py::make_tuple(r, sh.n_tasks, sh.n_priced, sh.n_skipped, sh.n_rescored, ss(sh.top.size()), scores,
                          orders, norms, dirs, inc_ptr, inc);
}

PriceShard shard_from_python(const py::tuple& t) {
    if (t.size() != 12) raise_error("InputError", "a pricing shard is a tuple of 12 items");
    PriceShard sh;
    sh.r = t[0].cast<int>();
    sh.n_tasks = t[1].cast<int>();
    sh.n_priced = t[2].cast<long long>();
    sh.n_skipped = t[3].cast<long long>();
    sh.n_rescored = t[4].cast<long long>();
    auto ntop = t[5].cast<py::ssize_t>();
    auto scores = t[6].cast<Arr>();
    auto orders = t[7].cast<py::array_t<int64_t, py::array::c_style | py::array::forcecast>>();
    auto norms = t[8].cast<Arr>();
    auto dirs = t[9].cast<Arr>();
    auto inc_ptr = t[10].cast<py::array_t<int64_t, py::array::c_style | py::array::forcecast>>();
    auto inc = t[11].cast<py::array_t<int32_t, py::array::c_style | py::array::forcecast>>();
    const py::ssize_t k = scores.shape(0);
    const int r = sh.r;
    if (scores.ndim() != 1 || orders.ndim() != 1 || orders.shape(0) != k || norms.ndim() != 1 ||
        norms.shape(0) != k || dirs.ndim() != 2 || dirs.shape(0) != k || dirs.shape(1) != r ||
        inc_ptr.ndim() != 1 || inc_ptr.shape(0) != k + 1 || inc.ndim() != 1 || ntop < 0 || ntop > k)
        raise_error("ShapeError", "inconsistent arrays in a pricing shard");
    const int64_t* pp = inc_ptr.data();
    if (pp[0] != 0 || pp[k] != inc.shape(0)) raise_error("ShapeError", "inconsistent inc_ptr in a pricing shard");
    for (py::ssize_t i = 0; i < k; ++i) {
        if (pp[i + 1] < pp[i]) raise_error("ShapeError", "inconsistent inc_ptr in a pricing shard");
        PriceCand c;
        c.score = scores.data()[i];
        c.absval = std::fabs(c.score);
        c.order = orders.data()[i];
        c.norm = norms.data()[i];
        c.v.assign(dirs.data() + i * r, dirs.data() + (i + 1) * r);
        c.inc.assign(inc.data() + pp[i], inc.data() + pp[i + 1]);
        (i < ntop ? sh.top : sh.pool).push_back(std::move(c));
    }
    return sh;
}

py::tuple price_shard(const Arr& A, int n_data, const Arr& lam, py::array_t<bool> norm_mask, int top_k,
                      int pool_size, int shard_index, int shard_count, int threads) {
    PricingProblem pb = pricing_problem(A, n_data, lam, norm_mask, top_k, pool_size);
    PyRun run(threads, py::none());
    set_shard(run.ctx, shard_index, shard_count);
    PriceShard sh = nogil([&] { return price_rays_shard(pb, run.ctx); });
    return shard_to_python(sh);
}

py::tuple price_merge(const Arr& A, int n_data, const Arr& lam, py::array_t<bool> norm_mask, int top_k,
                      int pool_size, const py::list& shards) {
    PricingProblem pb = pricing_problem(A, n_data, lam, norm_mask, top_k, pool_size);
    std::vector<PriceShard> sh;
    for (const py::handle& t : shards) sh.push_back(shard_from_python(t.cast<py::tuple>()));
    for (const PriceShard& s : sh)
        if (s.n_tasks != sh.front().n_tasks) raise_error("InputError", "shards of different passes");
    PricedRays pr = nogil([&] { return price_rays_merge(pb, sh); });
    return priced_to_python(pr, pb.D);
}

py::tuple simplex_search_py(const Arr& A, const Arr& lam, bool bias, double R, double prune_below,
                            double gap_tol, long long max_nodes, int top_k, int threads,
                            long long max_vertex_bytes) {
    Matrix M = check_matrix(A, "A");
    if (lam.ndim() != 1 || lam.shape(0) != M.n)
        raise_error("ShapeError", "lam must be 1-D of length " + std::to_string(M.n) + " (rows of A)");
    for (int i = 0; i < M.n; ++i)
        if (!std::isfinite(lam.data()[i])) raise_error("NonFiniteError", "lam must be finite");
    if (bias && M.D < 2) raise_error("ShapeError", "with bias, A needs a weight column and the bias column");
    const int d = bias ? M.D - 1 : M.D;
    if (d > 16)
        raise_error("SizeError", "the simplex search starts from 2^d (d + 2) simplices; d = " +
                                     std::to_string(d) + " is more than its limit 16");
    if (!std::isfinite(R) || R < 0) raise_error("InputError", "R must be finite and >= 0");
    if (!std::isfinite(prune_below) || !std::isfinite(gap_tol) || gap_tol < 0)
        raise_error("InputError", "prune_below and gap_tol must be finite (gap_tol >= 0)");
    if (max_nodes < 1 || top_k < 1 || threads < 1 || max_vertex_bytes < 1)
        raise_error("InputError", "max_nodes, top_k, threads and max_vertex_bytes must be >= 1");
    SimplexProblem pb;
    pb.A = M.data;
    pb.n = M.n;
    pb.D = M.D;
    pb.lam = lam.data();
    pb.bias = bias;
    pb.R = R;
    pb.prune_below = prune_below;
    pb.gap_tol = gap_tol;
    pb.max_nodes = max_nodes;
    pb.max_vertex_bytes = max_vertex_bytes;
    pb.top_k = top_k;
    PyRun run(threads, py::none());
    SimplexResult r = nogil([&] { return simplex_search(pb, run.ctx); });
    const std::size_t k = r.scores.size();
    py::array_t<double> scores(ss(k), r.scores.data());
    py::array_t<double> dirs({ss(k), ss(M.D)}, r.dirs.data());
    return py::make_tuple(r.upper, r.proven, r.nodes, r.max_depth, r.open, scores, dirs);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "exactrelu's C++ core: exact hyperplane arrangements and ray pricing (private)";
    py::register_local_exception_translator(translate_exception);
    m.def("analyze", &analyze, py::arg("A"),
          "Exact rank and number of distinct hyperplanes of the rows of A.");
    m.def("enumerate_cells", &enumerate_cells, py::arg("A"), py::arg("threads") = 1,
          py::arg("max_cells") = -1, py::arg("witnesses") = true, py::arg("progress") = py::none(),
          "Cells of the central arrangement of the rows of A: (packed patterns, witnesses, "
          "witnesses_lo or None).");
    m.def("enumerate_rays", &enumerate_rays, py::arg("A"), py::arg("threads") = 1,
          py::arg("max_rays") = -1, py::arg("progress") = py::none(),
          "Rays: (directions, indptr, indices).");
    m.def("count_cells", &count_cells, py::arg("A"), py::arg("threads") = 1,
          py::arg("progress") = py::none(), "Exact number of cells (Zaslavsky).");
    m.def("count_rays", &count_rays, py::arg("A"), py::arg("threads") = 1,
          py::arg("progress") = py::none(), "Exact number of rays (twice the number of 1-flats).");
    m.def("price_rays", &price_rays, py::arg("A"), py::arg("n_data"), py::arg("lam"),
          py::arg("norm_mask"), py::arg("top_k") = 1, py::arg("threads") = 1,
          py::arg("progress") = py::none(), py::arg("pool_size") = 0,
          "Top-k oriented rays by |lam . relu(A[:n_data] theta)| / ||theta[mask]||_1, and a "
          "candidate pool of about pool_size more (the best of every shard): (scores, dirs, "
          "rays priced, pool scores, pool dirs, shards).");
    // Shards (docs/design.md section 9): shard s of S computes the root tasks t with
    // t % S == s; the merges give exactly the answers of the one-shard functions above.
    m.def("price_shard", &price_shard, py::arg("A"), py::arg("n_data"), py::arg("lam"), py::arg("norm_mask"),
          py::arg("top_k"), py::arg("pool_size"), py::arg("shard_index"), py::arg("shard_count"),
          py::arg("threads") = 1, "The candidates of one shard of a pricing pass (a picklable tuple).");
    m.def("price_merge", &price_merge, py::arg("A"), py::arg("n_data"), py::arg("lam"), py::arg("norm_mask"),
          py::arg("top_k"), py::arg("pool_size"), py::arg("shards"),
          "The pass of price_rays from the results of price_shard for every shard.");
    m.def("enumerate_cells_shard", &enumerate_cells_shard, py::arg("A"), py::arg("shard_index"),
          py::arg("shard_count"), py::arg("max_cells") = -1, py::arg("witnesses") = true, py::arg("threads") = 1,
          "The cells one shard finds: (packed, witnesses, witnesses_lo or None, keys); pairs of "
          "opposite cells, in key order, one key per pair.");
    m.def("enumerate_rays_shard", &enumerate_rays_shard, py::arg("A"), py::arg("shard_index"),
          py::arg("shard_count"), py::arg("max_rays") = -1, py::arg("threads") = 1,
          "The rays of one shard: (directions, indptr, indices, keys); one key per line (pair of rays).");
    m.def("count_shard", &count_shard, py::arg("A"), py::arg("want_cells"), py::arg("shard_index"),
          py::arg("shard_count"), py::arg("threads") = 1,
          "(rank, tallies (k, 2, rank + 1)): flats and |mu| per codimension of the shard's tasks.");
    m.def("count_merge", &merge_counts, py::arg("r"), py::arg("tallies"),
          "(cells, rays) from the stacked tallies of every shard.");
    m.def("simplex_search", &simplex_search_py, py::arg("A"), py::arg("lam"), py::arg("bias"),
          py::arg("R"), py::arg("prune_below"), py::arg("gap_tol"), py::arg("max_nodes"),
          py::arg("top_k") = 1, py::arg("threads") = 1, py::arg("max_vertex_bytes") = 1LL << 28,
          "Simplicial branch and bound on max lam . relu(A theta) over ||w||_1 <= 1, |b| <= R: "
          "(upper, proven, nodes, max_depth, open, scores, dirs).");
}
