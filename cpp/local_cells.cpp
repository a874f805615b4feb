// Cells of small local arrangements at rank 2 and 3 (docs/design.md, section 2).
//
// Rank 2: k lines through 0 in the plane, normals a_l. The cells are the 2k sectors
// between consecutive rays +-perp(a_l) in angular order; perp(a_i) turns towards
// perp(a_l) counterclockwise exactly when det(a_i, a_l) > 0, and a row l has the sign
// s det(a_i, a_l) on the sector just after the ray s perp(a_i) (l != i).
// Rank 3: k planes through 0 in space. Every cell has an edge on some plane j: an arc
// of the rank-2 arrangement that the other planes cut out of plane j. Their lines in
// plane j have directions a_j x a_l, which turn from one to the other around a_j with
// the sign of det(a_j, a_l, a_l'), and a_l . (a_j x a_i) = det(a_l, a_j, a_i); planes
// through the same line of plane j (det(a_j, a_l, a_l') = 0) form one class. Each arc
// gives the two cells on either side of plane j.
// Every sign is the sign of a 2x2 or 3x3 determinant of input rows, decided exactly
// (float filter, then the exact path); interior points are verified exactly.
#include "local_cells.hpp"

#include <algorithm>
#include <cmath>

#include "exact.hpp"

namespace exactrelu {
namespace {

// A ray of a rank-2 arrangement: s times the direction of row `row`.
struct Ray {
    int row;
    int s;
};

// The exact sign of det(a, b) (2 entries each).
int det2_sign(const double* a, const double* b, bool integral) {
    const double p = a[0] * b[1], q = a[1] * b[0];
    const double m[4] = {a[0], a[1], b[0], b[1]};
    return det_sign_filtered(p - q, minor_error_bound(std::fabs(p) + std::fabs(q), 2, integral), m, 2);
}

// The exact sign of det(a, b, c) (3 entries each), expanded along a.
int det3_sign(const double* a, const double* b, const double* c, bool integral) {
    const double m0 = b[1] * c[2] - b[2] * c[1], p0 = std::fabs(b[1] * c[2]) + std::fabs(b[2] * c[1]);
    const double m1 = b[0] * c[2] - b[2] * c[0], p1 = std::fabs(b[0] * c[2]) + std::fabs(b[2] * c[0]);
    const double m2 = b[0] * c[1] - b[1] * c[0], p2 = std::fabs(b[0] * c[1]) + std::fabs(b[1] * c[0]);
    const double v = a[0] * m0 - a[1] * m1 + a[2] * m2;
    const double pa = std::fabs(a[0]) * p0 + std::fabs(a[1]) * p1 + std::fabs(a[2]) * p2;
    const double m[9] = {a[0], a[1], a[2], b[0], b[1], b[2], c[0], c[1], c[2]};
    return det_sign_filtered(v, minor_error_bound(pa, 3, integral), m, 3);
}

// The rays of a rank-2 arrangement in counterclockwise order, from the classes'
// representative rows reps (at least 2) and orient(i, l) = the sign of the turn from
// the direction of row i to that of row l (nonzero between classes). False if a turn
// is 0 (the caller's classes were wrong).
template <class Orient>
bool cyclic_rays(const std::vector<int>& reps, const Orient& orient, std::vector<Ray>& out) {
    out.clear();
    out.push_back({reps[0], 1});
    for (std::size_t t = 1; t < reps.size(); ++t) {
        const int o = orient(reps[0], reps[t]);
        if (o == 0) return false;
        out.push_back({reps[t], o});  // in the open half-plane after reps[0]'s direction
    }
    std::sort(out.begin() + 1, out.end(),
              [&](const Ray& x, const Ray& y) { return x.s * y.s * orient(x.row, y.row) > 0; });
    const std::size_t p = out.size();
    for (std::size_t t = 0; t < p; ++t) out.push_back({out[t].row, -out[t].s});
    return true;
}

// Does u have the signs of pattern pat on every row (exactly)?
bool verified(const double* sub, int k, int kk, uint64_t pat, const double* u) {
    for (int l = 0; l < k; ++l)
        if (dot_sign_exact(sub + l * kk, u, kk) != (((pat >> l) & 1) ? 1 : -1)) return false;
    return true;
}

double inf_norm(const double* a, int kk) {
    double m = 0.0;
    for (int t = 0; t < kk; ++t) m = std::max(m, std::fabs(a[t]));
    return m;
}

bool rank2_cells(const double* sub, int k, bool integral, std::vector<uint64_t>& pats,
                 std::vector<double>& wit) {
    std::vector<int8_t> D(static_cast<std::size_t>(k) * k, 0);  // D[i k + l] = sign det(a_i, a_l)
    for (int i = 0; i < k; ++i)
        for (int l = i + 1; l < k; ++l) {
            const int s = det2_sign(sub + 2 * i, sub + 2 * l, integral);
            if (s == 0) return false;  // parallel rows: not this case
            D[i * k + l] = static_cast<int8_t>(s);
            D[l * k + i] = static_cast<int8_t>(-s);
        }
    std::vector<int> reps(k);
    for (int i = 0; i < k; ++i) reps[i] = i;
    std::vector<Ray> rays;
    if (!cyclic_rays(reps, [&](int i, int l) { return static_cast<int>(D[i * k + l]); }, rays)) return false;
    const std::size_t nr = rays.size();
    std::vector<std::pair<uint64_t, std::size_t>> cells;  // (pattern, sector)
    for (std::size_t t = 0; t < nr; ++t) {
        const Ray e1 = rays[t], e2 = rays[(t + 1) % nr];
        uint64_t pat = 0;
        for (int l = 0; l < k; ++l) {
            const int s = l == e1.row ? e2.s * D[e2.row * k + l] : e1.s * D[e1.row * k + l];
            if (s > 0) pat |= uint64_t(1) << l;
        }
        cells.emplace_back(pat, t);
    }
    std::sort(cells.begin(), cells.end());
    pats.clear();
    wit.clear();
    for (const auto& c : cells) {
        const Ray e1 = rays[c.second], e2 = rays[(c.second + 1) % nr];
        const double* a = sub + 2 * e1.row;
        const double* b = sub + 2 * e2.row;
        const double na = e1.s / inf_norm(a, 2), nb = e2.s / inf_norm(b, 2);
        // perp(a) = (-a_1, a_0); the sum of the two boundary rays, each scaled to |.|_inf = 1
        const double u[2] = {-a[1] * na - b[1] * nb, a[0] * na + b[0] * nb};
        if (!verified(sub, k, 2, c.first, u)) return false;
        pats.push_back(c.first);
        wit.insert(wit.end(), u, u + 2);
    }
    return true;
}

// A float direction of a_j x a_i scaled to |.|_inf = 1, times s.
void cross_dir(const double* a, const double* b, int s, double* out) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
    const double m = inf_norm(out, 3);
    for (int t = 0; t < 3; ++t) out[t] = m > 0 ? s * out[t] / m : 0.0;
}

bool rank3_cells(const double* sub, int k, bool integral, std::vector<uint64_t>& pats,
                 std::vector<double>& wit) {
    // T[(x k + y) k + z] = sign det(a_x, a_y, a_z), antisymmetric
    const std::size_t kk2 = static_cast<std::size_t>(k) * k;
    std::vector<int8_t> T(kk2 * k, 0);
    auto at = [&](int x, int y, int z) -> int8_t& { return T[(static_cast<std::size_t>(x) * k + y) * k + z]; };
    for (int x = 0; x < k; ++x)
        for (int y = x + 1; y < k; ++y)
            for (int z = y + 1; z < k; ++z) {
                const int8_t s = static_cast<int8_t>(det3_sign(sub + 3 * x, sub + 3 * y, sub + 3 * z, integral));
                at(x, y, z) = at(y, z, x) = at(z, x, y) = s;
                at(y, x, z) = at(x, z, y) = at(z, y, x) = static_cast<int8_t>(-s);
            }
    // no two rows parallel: a pair spans a plane, and at rank 3 some row lies outside it
    for (int x = 0; x < k; ++x)
        for (int y = x + 1; y < k; ++y) {
            int z = 0;
            while (z < k && at(x, y, z) == 0) ++z;
            if (z == k) return false;
        }
    // emissions (pattern, j, arc, side), the first of each pattern kept
    struct Emission {
        uint64_t pat;
        int j, arc, side;
    };
    std::vector<Emission> em;
    std::vector<std::vector<Ray>> rays_of(k);
    std::vector<int> cls(k), reps;
    for (int j = 0; j < k; ++j) {
        // classes of the other planes: those meeting plane j in the same line
        reps.clear();
        for (int l = 0; l < k; ++l) {
            if (l == j) continue;
            cls[l] = -1;
            for (int c = 0; c < static_cast<int>(reps.size()) && cls[l] < 0; ++c)
                if (at(j, reps[c], l) == 0) cls[l] = reps[c];
            if (cls[l] < 0) {
                cls[l] = l;
                reps.push_back(l);
            }
        }
        if (reps.size() < 2) return false;  // every plane through one line: rank 2
        std::vector<Ray>& rays = rays_of[j];
        if (!cyclic_rays(reps, [&](int i, int l) { return static_cast<int>(at(j, i, l)); }, rays)) return false;
        const int nr = static_cast<int>(rays.size());
        for (int t = 0; t < nr; ++t) {
            const Ray e1 = rays[t], e2 = rays[(t + 1) % nr];
            uint64_t pat = 0;
            for (int l = 0; l < k; ++l) {
                if (l == j) continue;
                const int s = cls[l] == e1.row ? e2.s * at(l, j, e2.row) : e1.s * at(l, j, e1.row);
                if (s == 0) return false;
                if (s > 0) pat |= uint64_t(1) << l;
            }
            em.push_back({pat | (uint64_t(1) << j), j, t, 1});
            em.push_back({pat, j, t, -1});
        }
    }
    std::stable_sort(em.begin(), em.end(), [](const Emission& x, const Emission& y) { return x.pat < y.pat; });
    pats.clear();
    wit.clear();
    for (std::size_t e = 0; e < em.size(); ++e) {
        if (e > 0 && em[e].pat == em[e - 1].pat) continue;
        const Emission& c = em[e];
        const std::vector<Ray>& rays = rays_of[c.j];
        const Ray e1 = rays[c.arc], e2 = rays[(c.arc + 1) % rays.size()];
        const double* aj = sub + 3 * c.j;
        double d1[3], d2[3], mid[3];
        cross_dir(aj, sub + 3 * e1.row, e1.s, d1);
        cross_dir(aj, sub + 3 * e2.row, e2.s, d2);
        for (int t = 0; t < 3; ++t) mid[t] = d1[t] + d2[t];
        // off plane j by at most half the distance to the nearest other plane (l1 scale)
        double delta = HUGE_VAL;
        for (int l = 0; l < k; ++l) {
            if (l == c.j) continue;
            const double* al = sub + 3 * l;
            const double an = std::fabs(al[0]) + std::fabs(al[1]) + std::fabs(al[2]);
            delta = std::min(delta, 0.5 * std::fabs(al[0] * mid[0] + al[1] * mid[1] + al[2] * mid[2]) / an);
        }
        const double ajn = inf_norm(aj, 3);
        bool ok = false;
        double u[3];
        for (int it = 0; it < 6 && !ok; ++it, delta *= 0.25) {
            for (int t = 0; t < 3; ++t) u[t] = mid[t] + c.side * delta * aj[t] / ajn;
            ok = verified(sub, k, 3, c.pat, u);
        }
        if (!ok) return false;
        pats.push_back(c.pat);
        wit.insert(wit.end(), u, u + 3);
    }
    return true;
}

}  // namespace

bool local_cells(const double* sub, int k, int kk, bool integral, std::vector<uint64_t>& pats,
                 std::vector<double>& wit) {
    if (k < 3 || k > kLocalMaxRows) return false;
    if (kk == 2) return rank2_cells(sub, k, integral, pats, wit);
    if (kk == 3) return rank3_cells(sub, k, integral, pats, wit);
    return false;
}

}  // namespace exactrelu
