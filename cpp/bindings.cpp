// pybind11 bindings of the private module exactrelu._core.
//
// Every entry point validates its arrays, releases the GIL for the work, polls for
// Ctrl-C from the waiting thread, and maps C++ failures onto exactrelu.errors.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "arrangement.hpp"
#include "pricing.hpp"

namespace py = pybind11;
using namespace exactrelu;

namespace {

constexpr int kMaxDim = 24;

using Arr = py::array_t<double, py::array::c_style | py::array::forcecast>;

[[noreturn]] void raise_error(const char* cls, const std::string& msg) {
    py::object errors = py::module_::import("exactrelu.errors");
    py::object exc = errors.attr(cls);
    PyErr_SetString(exc.ptr(), msg.c_str());
    throw py::error_already_set();
}

struct Matrix {
    const double* data;
    int n, D;
};

Matrix check_matrix(const Arr& A, const char* name) {
    if (A.ndim() != 2) raise_error("ShapeError", std::string(name) + " must be 2-D, got " +
                                                     std::to_string(A.ndim()) + "-D");
    Matrix M{A.data(), static_cast<int>(A.shape(0)), static_cast<int>(A.shape(1))};
    if (A.shape(0) < 1) raise_error("ShapeError", std::string(name) + " must have at least one row");
    if (A.shape(1) < 1) raise_error("ShapeError", std::string(name) + " must have at least one column");
    if (A.shape(0) > 2000000000LL) raise_error("SizeError", std::string(name) + " has too many rows");
    if (M.D > kMaxDim)
        raise_error("SizeError", std::string(name) + " has " + std::to_string(M.D) +
                                     " columns; exact enumeration supports at most " +
                                     std::to_string(kMaxDim));
    for (std::size_t i = 0; i < static_cast<std::size_t>(M.n) * M.D; ++i)
        if (!std::isfinite(M.data[i]))
            raise_error("NonFiniteError", std::string(name) + " must be finite; found " +
                                              std::to_string(M.data[i]) + " at flat index " +
                                              std::to_string(i));
    return M;
}

std::function<bool()> python_poll() {
    return []() -> bool {
        py::gil_scoped_acquire gil;
        return PyErr_CheckSignals() != 0;
    };
}

// Runs fn with the GIL released; translates failures.
template <class F>
auto guarded(F&& fn) -> decltype(fn()) {
    try {
        py::gil_scoped_release release;
        return fn();
    } catch (const Cancelled& e) {
        if (PyErr_Occurred()) throw py::error_already_set();
        raise_error("ExactReLUError", std::string("computation cancelled: ") + e.what());
    } catch (const SizeLimit& e) {
        raise_error("SizeError", e.what());
    } catch (const NumericalFailure& e) {
        raise_error("NumericalError", e.what());
    } catch (const std::bad_alloc&) {
        raise_error("SizeError", "out of memory during the enumeration");
    }
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

py::tuple analyze(const Arr& A) {
    Matrix M = check_matrix(A, "A");
    Hyperplanes hp = guarded([&] { return preprocess(M.data, M.n, M.D); });
    return py::make_tuple(hp.r, hp.m);
}

py::tuple enumerate_cells(const Arr& A, int threads, long long max_cells, bool witnesses) {
    Matrix M = check_matrix(A, "A");
    std::atomic<bool> cancel{false};
    auto poll = python_poll();
    Hyperplanes hp;
    CellsResult cr = guarded([&] {
        hp = preprocess(M.data, M.n, M.D);
        return enumerate_cells_core(hp.h.data(), hp.m, hp.r, hp.integral, threads, max_cells,
                                    witnesses, cancel, poll);
    });
    std::size_t nc = cr.n_cells();
    int nbytes = (M.n + 7) / 8;
    py::array_t<uint8_t> packed({static_cast<py::ssize_t>(nc), static_cast<py::ssize_t>(nbytes)});
    py::array_t<double> wit({static_cast<py::ssize_t>(witnesses ? nc : 0), static_cast<py::ssize_t>(M.D)});
    bool has_lo = witnesses && !cr.witnesses_lo.empty();
    py::array_t<double> wlo({static_cast<py::ssize_t>(has_lo ? nc : 0), static_cast<py::ssize_t>(M.D)});
    uint8_t* pk = packed.mutable_data();
    double* wt = wit.mutable_data();
    double* wl = wlo.mutable_data();
    {
        py::gil_scoped_release release;
        std::fill(pk, pk + nc * nbytes, 0);
        bool identity = hp.m == M.n;  // rows are the hyperplanes, in order, positively scaled
        for (int i = 0; identity && i < M.n; ++i) identity = hp.row_h[i] == i && hp.row_scale[i] > 0;
        for (std::size_t c = 0; c < nc; ++c) {
            const uint64_t* bits = cr.bits.data() + c * cr.words;
            uint8_t* dst = pk + c * nbytes;
            if (identity) {  // little-endian words hold the bytes in packbits order
                std::memcpy(dst, bits, static_cast<std::size_t>(nbytes));
            } else
            for (int i = 0; i < M.n; ++i) {
                int h = hp.row_h[i];
                if (h < 0) continue;
                bool pos = (bits[h >> 6] >> (h & 63)) & 1u;
                if (hp.row_scale[i] < 0) pos = !pos;
                if (pos) dst[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
            }
            if (witnesses) {
                double* w = wt + c * M.D;
                std::fill(w, w + M.D, 0.0);
                if (hp.r == 0) {
                    w[0] = 1.0;
                } else {
                    for (int t = 0; t < hp.r; ++t) w[hp.cols[t]] = cr.witnesses[c * hp.r + t];
                }
                if (has_lo) {
                    double* lo = wl + c * M.D;
                    std::fill(lo, lo + M.D, 0.0);
                    for (int t = 0; t < hp.r; ++t) lo[hp.cols[t]] = cr.witnesses_lo[c * hp.r + t];
                }
            }
        }
    }
    if (has_lo) return py::make_tuple(packed, wit, wlo);
    return py::make_tuple(packed, wit, py::none());
}

// Hyperplane -> original rows (sorted), for incidences.
std::vector<std::vector<int>> rows_of(const Hyperplanes& hp) {
    std::vector<std::vector<int>> out(hp.m);
    for (int i = 0; i < hp.n; ++i)
        if (hp.row_h[i] >= 0) out[hp.row_h[i]].push_back(i);
    return out;
}

py::tuple enumerate_rays(const Arr& A, int threads, long long max_rays) {
    Matrix M = check_matrix(A, "A");
    std::atomic<bool> cancel{false};
    auto poll = python_poll();
    Hyperplanes hp;
    long long max_lines = max_rays < 0 ? -1 : max_rays / 2;
    RaysResult rr = guarded([&] {
        hp = preprocess(M.data, M.n, M.D);
        return enumerate_lines_core(hp.h.data(), hp.m, hp.r, hp.integral, threads, max_lines,
                                    cancel, poll);
    });
    int r = hp.r, D = M.D;
    std::size_t nl = r ? rr.dirs.size() / r : 0;
    auto rows = rows_of(hp);
    std::vector<int64_t> indptr{0};
    std::vector<int64_t> indices;
    py::array_t<double> dirs({static_cast<py::ssize_t>(2 * nl), static_cast<py::ssize_t>(D)});
    double* d = dirs.mutable_data();
    {
        py::gil_scoped_release release;
        for (std::size_t l = 0; l < nl; ++l) {
            const double* v = rr.dirs.data() + l * r;
            double nrm = 0;
            for (int j = 0; j < D; ++j) {
                double s = 0;
                for (int t = 0; t < r; ++t) s += hp.embed[static_cast<std::size_t>(j) * r + t] * v[t];
                d[2 * l * D + j] = s;
                nrm += s * s;
            }
            nrm = std::sqrt(nrm);
            for (int j = 0; j < D; ++j) d[2 * l * D + j] /= nrm;
            refine_line_direction(hp, M.data, rr.indices.data() + rr.indptr[l],
                                  static_cast<int>(rr.indptr[l + 1] - rr.indptr[l]),
                                  d + 2 * l * D, d + 2 * l * D);
            for (int j = 0; j < D; ++j) d[(2 * l + 1) * D + j] = -d[2 * l * D + j];
            std::vector<int64_t> inc;
            for (int64_t p = rr.indptr[l]; p < rr.indptr[l + 1]; ++p)
                for (int i : rows[rr.indices[p]]) inc.push_back(i);
            std::sort(inc.begin(), inc.end());
            for (int rep = 0; rep < 2; ++rep) {
                indices.insert(indices.end(), inc.begin(), inc.end());
                indptr.push_back(static_cast<int64_t>(indices.size()));
            }
        }
    }
    py::array_t<int64_t> ip(indptr.size(), indptr.data());
    py::array_t<int64_t> ix(indices.size(), indices.data());
    return py::make_tuple(dirs, ip, ix);
}

py::object count_cells(const Arr& A, int threads) {
    Matrix M = check_matrix(A, "A");
    std::atomic<bool> cancel{false};
    auto poll = python_poll();
    Counts c = guarded([&] {
        Hyperplanes hp = preprocess(M.data, M.n, M.D);
        return count_core(hp.h.data(), hp.m, hp.r, hp.integral, threads, true, cancel, poll);
    });
    return to_pyint(c.cells);
}

py::object count_rays(const Arr& A, int threads) {
    Matrix M = check_matrix(A, "A");
    std::atomic<bool> cancel{false};
    auto poll = python_poll();
    Counts c = guarded([&] {
        Hyperplanes hp = preprocess(M.data, M.n, M.D);
        return count_core(hp.h.data(), hp.m, hp.r, hp.integral, threads, false, cancel, poll);
    });
    return to_pyint(2 * c.lines);
}

py::tuple price_rays(const Arr& A, int n_data, const Arr& lam, py::array_t<bool> norm_mask,
                     int top_k, int threads) {
    Matrix M = check_matrix(A, "A");
    if (n_data < 0 || n_data > M.n) raise_error("ShapeError", "n_data must be in [0, rows of A]");
    if (lam.ndim() != 1 || lam.shape(0) != n_data)
        raise_error("ShapeError", "lam must be 1-D of length n_data=" + std::to_string(n_data) +
                                      ", got shape (" + std::to_string(lam.shape(0)) + ")");
    if (norm_mask.ndim() != 1 || norm_mask.shape(0) != M.D)
        raise_error("ShapeError", "norm_mask must be 1-D of length " + std::to_string(M.D));
    if (top_k < 1) raise_error("InputError", "top_k must be >= 1");
    const double* lp = lam.data();
    for (int i = 0; i < n_data; ++i)
        if (!std::isfinite(lp[i])) raise_error("NonFiniteError", "lam must be finite");
    std::vector<char> mask(M.D);
    for (int j = 0; j < M.D; ++j) mask[j] = norm_mask.at(j);
    std::atomic<bool> cancel{false};
    auto poll = python_poll();
    Hyperplanes hp;
    PriceResult pr = guarded([&] {
        hp = preprocess(M.data, M.n, M.D);
        std::vector<double> wpos(hp.m, 0.0), wneg(hp.m, 0.0);
        for (int i = 0; i < n_data; ++i) {
            int h = hp.row_h[i];
            if (h < 0) continue;
            double s = hp.row_scale[i];
            if (s > 0) wpos[h] += lp[i] * s;
            else wneg[h] += lp[i] * (-s);
        }
        std::vector<double> emask;
        int dm = 0;
        for (int j = 0; j < M.D; ++j) {
            if (!mask[j]) continue;
            ++dm;
            emask.insert(emask.end(), hp.embed.begin() + static_cast<std::ptrdiff_t>(j) * hp.r,
                         hp.embed.begin() + static_cast<std::ptrdiff_t>(j + 1) * hp.r);
        }
        // oversample: the float scores of the streamed pass are re-computed below
        return price_core(hp.h.data(), hp.m, hp.r, hp.integral, wpos.data(), wneg.data(),
                          emask.data(), dm, 2 * top_k + 8, threads, cancel, poll);
    });
    // Each candidate's direction is recomputed accurately from the hyperplanes that
    // contain its line (double-double), and its score lam . relu(A theta) / ||theta[mask]||_1
    // re-evaluated with those rows exactly 0; the candidates are then ranked again.
    std::size_t kc = pr.scores.size();
    int r = hp.r, D = M.D;
    struct Scored { double score; std::size_t idx; std::vector<double> dir; };
    std::vector<Scored> cands;
    {
        py::gil_scoped_release release;
        std::vector<char> on_line(hp.m, 0);
        std::vector<double> approx(D), theta(D);
        for (std::size_t c = 0; c < kc; ++c) {
            for (int j = 0; j < D; ++j) {
                double s = 0;
                for (int t = 0; t < r; ++t) s += hp.embed[static_cast<std::size_t>(j) * r + t] * pr.dirs[c * r + t];
                approx[j] = s;
            }
            const std::vector<int>& inc = pr.incs[c];
            if (inc.empty() || !refine_line_direction(hp, M.data, inc.data(), static_cast<int>(inc.size()),
                                                      approx.data(), theta.data()))
                theta = approx;
            for (int h : inc) on_line[h] = 1;
            double nrm = 0;
            for (int j = 0; j < D; ++j)
                if (mask[j]) nrm += std::fabs(theta[j]);
            if (nrm > 0) {
                double sc = 0;
                for (int i = 0; i < n_data; ++i) {
                    int h = hp.row_h[i];
                    if (h < 0 || on_line[h]) continue;
                    const double* a = M.data + static_cast<std::size_t>(i) * D;
                    double z = 0;
                    for (int j = 0; j < D; ++j) z += a[j] * theta[j];
                    if (z > 0) sc += lp[i] * z;
                }
                std::vector<double> dir(D);
                for (int j = 0; j < D; ++j) dir[j] = theta[j] / nrm;
                cands.push_back({sc / nrm, c, std::move(dir)});
            }
            for (int h : inc) on_line[h] = 0;
        }
        std::stable_sort(cands.begin(), cands.end(), [](const Scored& a, const Scored& b) {
            return std::fabs(a.score) > std::fabs(b.score);
        });
        if (static_cast<int>(cands.size()) > top_k) cands.resize(top_k);
    }
    std::size_t k = cands.size();
    py::array_t<double> scores(k);
    py::array_t<double> dirs({static_cast<py::ssize_t>(k), static_cast<py::ssize_t>(D)});
    double* dd = dirs.mutable_data();
    for (std::size_t c = 0; c < k; ++c) {
        scores.mutable_at(c) = cands[c].score;
        std::copy(cands[c].dir.begin(), cands[c].dir.end(), dd + c * D);
    }
    return py::make_tuple(scores, dirs, pr.n_priced);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "exactrelu's C++ core: exact hyperplane arrangements and ray pricing (private)";
    m.def("analyze", &analyze, py::arg("A"),
          "Exact rank and number of distinct hyperplanes of the rows of A.");
    m.def("enumerate_cells", &enumerate_cells, py::arg("A"), py::arg("threads") = 1,
          py::arg("max_cells") = -1, py::arg("witnesses") = true,
          "Cells of the central arrangement of the rows of A: (packed patterns, witnesses, "
          "witnesses_lo or None).");
    m.def("enumerate_rays", &enumerate_rays, py::arg("A"), py::arg("threads") = 1,
          py::arg("max_rays") = -1, "Rays: (directions, indptr, indices).");
    m.def("count_cells", &count_cells, py::arg("A"), py::arg("threads") = 1,
          "Exact number of cells (Zaslavsky).");
    m.def("count_rays", &count_rays, py::arg("A"), py::arg("threads") = 1,
          "Exact number of rays (twice the number of 1-flats).");
    m.def("price_rays", &price_rays, py::arg("A"), py::arg("n_data"), py::arg("lam"),
          py::arg("norm_mask"), py::arg("top_k") = 1, py::arg("threads") = 1,
          "Top-k oriented rays by |lam . relu(A[:n_data] theta)| / ||theta[mask]||_1.");
}
