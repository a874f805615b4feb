// Exact sign predicates on IEEE doubles.
//
// Every sign decided by the core goes through this file: a floating-point
// filter with a certified error bound first, and an exact fallback (integer
// Bareiss in 128-bit arithmetic when the data are small integers, otherwise
// determinants modulo many primes with the Chinese remainder theorem and a
// mixed-radix sign test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace exactrelu {

// Raised when an exact computation cannot be completed (e.g. absurd exponent range).
struct NumericalFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr double kUnit = 1.1102230246251565e-16;  // 2^-53, the unit roundoff
// 2^52: integers of smaller magnitude are exact in doubles, and so is the sum of two.
constexpr double kTwo52 = 4503599627370496.0;
// Added to float error bounds so that a bound stays positive (and a sign is never
// accepted from the filter) when every term underflows.
constexpr double kTinyBound = 1e-300;

// Exact sign of the determinant of the k x k row-major matrix m.
int det_sign_exact(const double* m, int k);

// --- the modular machinery, for callers that precompute residues ------------------
// Sign of the integer x with residues res[t] modulo the first np primes, given
// |x| < (p_0 ... p_{np-1}) / 2.
int sign_from_residues(const uint64_t* res, std::size_t np);
// How many primes make their product exceed 2^(log2_bound + 1).
std::size_t primes_for_bits(double log2_bound);
// The t-th prime (31 bits).
uint64_t det_prime(std::size_t t);
// Determinant modulo p of the k x k matrix a of residues (a is overwritten).
uint64_t det_mod_prime(uint64_t* a, int k, uint64_t p);
// Residues modulo the first np primes (out: np x r) of the row scaled by a power of two
// to integers (a positive scale, so determinant signs are kept); returns the bits of
// its largest scaled entry (0 for a zero row).
double row_residues(const double* row, int r, std::size_t np, uint64_t* out);

// Exact sign of a determinant: filter with the given float value and error bound,
// then the exact fallback.
inline int det_sign_filtered(double value, double errbound, const double* m, int k) {
    if (value > errbound) return 1;
    if (value < -errbound) return -1;
    return det_sign_exact(m, k);
}

// Exact sign of sum_i a[i] * b[i] (doubles, length k).
int dot_sign_exact(const double* a, const double* b, int k);

// Float dot product with a certified error bound (|fl - exact| <= *err).
double dot_with_bound(const double* a, const double* b, int k, double* err);

// Exactly: are two of the columns cols[0..nc-1] of the rows R[0..nr-1] proportional
// (a zero column included)? Then every minor of those rows on those columns is 0.
// False when it cannot tell (products near underflow): a sufficient test, for data
// with ties (a binary column next to the bias column: rows of one value make the two
// columns proportional), before an exact determinant.
bool proportional_columns(const double* const* R, int nr, const int* cols, int nc);

// Exact sign of a sum of doubles (terms may be modified/reordered).
int sum_sign_exact(double* terms, int k);

// Bits set in x (portable: the default build targets baseline x86-64, where
// __builtin_popcount is a library call).
inline int popcount32(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return static_cast<int>((x * 0x01010101u) >> 24);
}

// Certified error bound of a k x k minor computed by MinorTable's expansion (any
// order of the terms), from the sum `pa` of the absolute values of its products.
double minor_error_bound(double pa, int k, bool integral);

// The masks of r bits with k set, ascending, for every k, and each mask's rank among
// those with as many bits (per thread, for the last r asked).
struct MaskTables {
    int r = -1;
    std::vector<std::vector<uint32_t>> by_k;
    std::vector<int> rank;
};
const MaskTables& mask_tables(int r);

// One Laplace step: from every c x c minor of some c rows (pv, by rank among the
// c-bit column masks) and the sums of |products| of their expansions (ppa), the same
// for those rows followed by `row` (length r), expanded along that last row.
void extend_minors(const std::vector<double>& pv, const std::vector<double>& ppa, int c,
                   const double* row, int r, std::vector<double>& v, std::vector<double>& pa);

// All k x k minors of the k x r matrix `rows` (row-major), k <= r <= 20, computed by
// Laplace expansion over column subsets. Minors are indexed by column bitmask.
// For each, the float value and a certified absolute error bound are returned.
// If `rows` holds only integers and every intermediate is below 2^53, bounds are 0.
struct MinorTable {
    int k = 0, r = 0;
    std::vector<double> val;    // indexed by mask (size 1<<r), valid for popcount == k
    std::vector<double> err;
    void compute(const double* rows, int k, int r, bool integral);
};

// True if every value is an integer of magnitude below 2^52 (so products/sums can be
// exact while below 2^53).
bool all_small_integers(const double* v, std::size_t n);

}  // namespace exactrelu
