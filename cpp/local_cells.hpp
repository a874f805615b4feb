// Cells of the small arrangement around a line through more hyperplanes than its
// rank needs, at local rank 2 and 3, from the angular order of lines in a plane
// (docs/design.md, section 2).
#pragma once

#include <cstdint>
#include <vector>

namespace exactrelu {

// Local arrangements of more rows than this are left to the general enumeration (a
// pattern is one 64-bit word here).
constexpr int kLocalMaxRows = 64;

// The cells of the central arrangement of the k rows of sub (k x kk, row-major), for
// kk = 2 or 3, rank kk, rows pairwise non-parallel, 3 <= k <= kLocalMaxRows. Each cell
// is a pattern (bit j set: row j positive), in ascending order, with an interior point
// (kk doubles) whose signs were verified exactly. integral: the rows are integers below
// 2^26 in magnitude (minors then need no error bound below 2^52). False when the rows
// are outside this case or some interior point could not be verified in doubles: the
// caller then enumerates the cells in general.
bool local_cells(const double* sub, int k, int kk, bool integral, std::vector<uint64_t>& pats,
                 std::vector<double>& wit);

}  // namespace exactrelu
