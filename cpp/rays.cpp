// Rays (docs/design.md, section 3): the lines of the arrangement with their incident
// hyperplanes, their directions refined in double-double from the data rows, and
// their translation into the data's rows and coordinates.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "arrangement.hpp"
#include "ddouble.hpp"
#include "walk.hpp"

namespace exactrelu {

RaysResult enumerate_lines_core(const HypMatrix& hm, const RunContext& ctx, long long max_lines) {
    const int r = hm.r;
    RaysResult res;
    if (r == 0) return res;
    if (r == 1) {
        if (ctx.in_shard(0)) {
            res.dirs = {1.0};
            res.indptr = {0, 0};
            res.keys = {0};
        }
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
        hm, ctx, [&](int nt) { outs.resize(nt); },
        [&](int task, const LineRef& L) {
            if (max_lines >= 0 && nlines.fetch_add(1) + 1 > max_lines)
                throw SizeLimit("more than max_rays/2=" + std::to_string(max_lines) + " lines");
            Out& o = outs[task];
            std::size_t off = o.dirs.size();
            o.dirs.resize(off + r);
            line_direction(L, r, o.dirs.data() + off);
            append_line_incidence(L, o.inc);
            o.ptr.push_back(static_cast<int32_t>(o.inc.size()));
        });
    for (std::size_t t = 0; t < outs.size(); ++t) {
        const Out& o = outs[t];
        for (std::size_t i = 1; i < o.ptr.size(); ++i)
            res.keys.push_back((static_cast<int64_t>(t) << 32) | static_cast<int64_t>(i - 1));
        res.dirs.insert(res.dirs.end(), o.dirs.begin(), o.dirs.end());
        int64_t base = res.indices.size();
        for (std::size_t i = 1; i < o.ptr.size(); ++i) res.indptr.push_back(base + o.ptr[i]);
        res.indices.insert(res.indices.end(), o.inc.begin(), o.inc.end());
    }
    return res;
}

namespace {

// rays_to_data refines the directions in at most this many chunks of lines (balance
// over any thread count, cheap per-chunk lists), checking for cancellation every
// kRayCancelStride lines (a power of two).
constexpr std::size_t kRayChunks = 256;
constexpr std::size_t kRayCancelStride = 1024;

// 1 / sqrt(nn) in double-double: the float reciprocal of nrm = sqrt(nn) improved by one
// Newton step.
dd inv_sqrt_dd(dd nn, double nrm) {
    dd inv(1.0 / nrm);
    return inv + inv * (dd(1.0) - nn * inv * inv) * dd(0.5);
}

// Hyperplane -> original rows (sorted), for incidences.
std::vector<std::vector<int>> rows_of(const Hyperplanes& hp) {
    std::vector<std::vector<int>> out(hp.m);
    for (int i = 0; i < hp.n; ++i)
        if (hp.row_h[i] >= 0) out[hp.row_h[i]].push_back(i);
    return out;
}

// Null vector (length D) of the rows of A on the hyperplanes hyps when A has rank r < D:
// computed in an orthonormal basis Q (r x D, Gram-Schmidt twice, in dd) of the row space.
bool null_vector_in_row_space(const Hyperplanes& hp, const double* A, const int* hyps, int k,
                              std::vector<dd>& x) {
    const int D = hp.D, r = hp.r;
    auto data_row = [&](int h) { return A + static_cast<std::size_t>(hp.h_first_row[h]) * D; };
    std::vector<dd> Q(static_cast<std::size_t>(r) * D);
    for (int i = 0; i < r; ++i) {
        dd* q = Q.data() + i * D;
        scaled_row_dd(data_row(hp.basis[i]), D, q);
        for (int pass = 0; pass < 2; ++pass)
            for (int p = 0; p < i; ++p) {
                const dd* qp = Q.data() + p * D;
                dd s(0.0);
                for (int l = 0; l < D; ++l) s = s + q[l] * qp[l];
                for (int l = 0; l < D; ++l) q[l] = q[l] - s * qp[l];
            }
        dd nn(0.0);
        for (int l = 0; l < D; ++l) nn = nn + q[l] * q[l];
        double nrm = std::sqrt(nn.to_double());
        if (!(nrm > 0)) return false;
        dd inv = inv_sqrt_dd(nn, nrm);
        for (int l = 0; l < D; ++l) q[l] = q[l] * inv;
    }
    std::vector<dd> C(static_cast<std::size_t>(k) * r), row(D);
    for (int j = 0; j < k; ++j) {
        scaled_row_dd(data_row(hyps[j]), D, row.data());
        for (int i = 0; i < r; ++i) {
            dd s(0.0);
            for (int l = 0; l < D; ++l) s = s + row[l] * Q[i * D + l];
            C[j * r + i] = s;
        }
    }
    std::vector<dd> y;
    if (!dd_null_vector(C, k, r, y)) return false;
    x.assign(D, dd(0.0));
    for (int i = 0; i < r; ++i)
        for (int l = 0; l < D; ++l) x[l] = x[l] + y[i] * Q[i * D + l];
    return true;
}

}  // namespace

bool refine_line_direction(const Hyperplanes& hp, const double* A, const int* hyps, int k,
                           const double* approx, double* out) {
    const int D = hp.D, r = hp.r;
    if (r < 1) return false;
    std::vector<dd> x;
    if (r == D) {
        std::vector<dd> M(static_cast<std::size_t>(k) * D);
        for (int j = 0; j < k; ++j)
            scaled_row_dd(A + static_cast<std::size_t>(hp.h_first_row[hyps[j]]) * D, D, M.data() + j * D);
        if (!dd_null_vector(std::move(M), k, D, x)) return false;
    } else if (!null_vector_in_row_space(hp, A, hyps, k, x)) {
        return false;
    }
    dd nn(0.0);
    double dot = 0;
    for (int l = 0; l < D; ++l) {
        nn = nn + x[l] * x[l];
        dot += x[l].hi * approx[l];
    }
    double nrm = std::sqrt(nn.to_double());
    if (!(nrm > 0)) return false;
    dd inv = inv_sqrt_dd(nn, nrm);
    if (dot < 0) inv = -inv;
    for (int l = 0; l < D; ++l) out[l] = (x[l] * inv).to_double();
    return true;
}

void rays_to_data(const Hyperplanes& hp, const double* A, const RaysResult& rr, double* dirs,
                  std::vector<int64_t>& indptr, std::vector<int64_t>& indices, const RunContext& ctx) {
    const int D = hp.D;
    const std::size_t nl = rr.n_lines(hp.r);
    const auto rows = rows_of(hp);
    // the lines in chunks (threads): each refines its directions in place and lists the
    // data rows of its lines; the lists are joined in line order afterwards
    const int nchunks = static_cast<int>(std::min<std::size_t>(nl, kRayChunks));
    std::vector<std::vector<int64_t>> chunk_rows(nchunks), chunk_len(nchunks);
    if (nchunks > 0)
        run_tasks(nchunks, ctx, [&](int ch) {
            const std::size_t lo = nl * ch / nchunks, hi = nl * (ch + 1) / nchunks;
            std::vector<int64_t>& out = chunk_rows[ch];
            std::vector<int64_t>& len = chunk_len[ch];
            for (std::size_t l = lo; l < hi; ++l) {
                if (((l - lo) & (kRayCancelStride - 1)) == 0) ctx.check_cancel();
                double* d = dirs + 2 * l * D;
                hp.embed_vector(rr.dirs.data() + l * hp.r, d);
                double nrm = 0;
                for (int j = 0; j < D; ++j) nrm += d[j] * d[j];
                nrm = std::sqrt(nrm);
                for (int j = 0; j < D; ++j) d[j] /= nrm;
                refine_line_direction(hp, A, rr.indices.data() + rr.indptr[l],
                                      static_cast<int>(rr.indptr[l + 1] - rr.indptr[l]), d, d);
                for (int j = 0; j < D; ++j) d[D + j] = -d[j];
                const std::size_t start = out.size();
                for (int64_t p = rr.indptr[l]; p < rr.indptr[l + 1]; ++p)
                    for (int i : rows[rr.indices[p]]) out.push_back(i);
                std::sort(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
                len.push_back(static_cast<int64_t>(out.size() - start));
            }
        }, "ray directions");
    indptr.assign(1, 0);
    indices.clear();
    for (int ch = 0; ch < nchunks; ++ch) {
        const int64_t* p = chunk_rows[ch].data();
        for (int64_t k : chunk_len[ch]) {
            for (int rep = 0; rep < 2; ++rep) {  // both rays of the line lie on the same rows
                indices.insert(indices.end(), p, p + k);
                indptr.push_back(static_cast<int64_t>(indices.size()));
            }
            p += k;
        }
        std::vector<int64_t>().swap(chunk_rows[ch]);
    }
}

}  // namespace exactrelu
