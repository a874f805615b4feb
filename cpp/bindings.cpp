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

py::tuple enumerate_cells(const Arr& A, int threads, long long max_cells, bool witnesses,
                          const py::object& progress) {
    Matrix M = check_matrix(A, "A");
    PyRun run(threads, progress);
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
    nogil([&] { cells_to_rows(hp, cr, pk, wt, wl); });
    if (has_lo) return py::make_tuple(packed, wit, wlo);
    return py::make_tuple(packed, wit, py::none());
}

py::tuple enumerate_rays(const Arr& A, int threads, long long max_rays, const py::object& progress) {
    Matrix M = check_matrix(A, "A");
    PyRun run(threads, progress);
    Hyperplanes hp;
    long long max_lines = max_rays < 0 ? -1 : max_rays / 2;
    RaysResult rr = nogil([&] {
        hp = preprocess(M.data, M.n, M.D);
        return enumerate_lines_core(hp.matrix(), run.ctx, max_lines);
    });
    py::array_t<double> dirs({ss(2 * rr.n_lines(hp.r)), ss(M.D)});
    double* d = dirs.mutable_data();
    std::vector<int64_t> indptr, indices;
    nogil([&] { rays_to_data(hp, M.data, rr, d, indptr, indices); });
    py::array_t<int64_t> ip(ss(indptr.size()), indptr.data());
    py::array_t<int64_t> ix(ss(indices.size()), indices.data());
    return py::make_tuple(dirs, ip, ix);
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

py::tuple price_rays(const Arr& A, int n_data, const Arr& lam, py::array_t<bool> norm_mask,
                     int top_k, int threads, const py::object& progress, int pool_size) {
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
    PyRun run(threads, progress);
    PricedRays pr = nogil([&] { return price_rays_core(pb, run.ctx); });
    std::size_t k = pr.scores.size();
    py::array_t<double> scores(ss(k), pr.scores.data());
    py::array_t<double> dirs({ss(k), ss(M.D)}, pr.dirs.data());
    std::size_t kp = pr.pool_scores.size();
    py::array_t<double> pool_scores(ss(kp), pr.pool_scores.data());
    py::array_t<double> pool_dirs({ss(kp), ss(M.D)}, pr.pool_dirs.data());
    return py::make_tuple(scores, dirs, pr.n_priced, pool_scores, pool_dirs, pr.n_shards);
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
}
