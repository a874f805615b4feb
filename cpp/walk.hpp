// The exact depth-first walk over the flats of a central arrangement, and the
// threaded walk over its lines (1-dimensional flats) that the enumerators and the
// pricing loop share (docs/design.md, section 2).
//
// A flat F of codimension c is represented by a basis T (c hyperplanes, the
// lexicographically greedy basis of the hyperplanes containing F, which makes
// every flat appear exactly once) and by e = r - c generator vectors N_l (one per
// non-pivot column l), with N_l . a = det([T; a] on columns sorted(J + {l})).
// The children of F are the classes of hyperplanes not containing F whose
// restrictions to F are parallel; at a 2-dimensional flat the classes, sorted by
// angle with exact predicates, are the lines (rays) in F, and the sign of every
// hyperplane at each line is read off the sorted order.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "flats.hpp"
#include "tasks.hpp"

namespace exactrelu {

struct Node {
    int c = 0;                   // codimension
    std::vector<int> T;          // greedy basis (indices into the row list), increasing
    std::vector<int> S;          // hyperplanes containing the flat (sorted)
    std::vector<int> J;          // pivot columns (sorted), size c
    std::vector<int> free_cols;  // non-pivot columns (sorted), size e = r - c
    std::vector<double> N, Nerr; // e x r generators and entrywise error bounds
    int det_sign = 1;            // sign of det(T rows, J cols)
    // every c x c minor of the T rows (columns: the masks of c bits, ascending) and the
    // sum of |products| of its expansion: the child's minors are one expansion step
    std::vector<double> mv, mpa;
};

// The result of processing one node: items not containing the flat, their
// coordinates on the flat's generators, flips, sorted order and classes.
struct Sweep {
    uint64_t id = 0;                 // unique per sweep (cache key)
    int e = 0;
    std::vector<int> items;          // sorted (exact order of directions)
    std::vector<signed char> flip;   // per position in items: f_s
    std::vector<double> q, qerr;     // per position: e values, e error bounds
    std::vector<int> cls_start;      // class boundaries in items (size classes + 1)
    std::vector<int> emitted;        // at a 2-flat: the classes it emits (walk_flats)
};

struct SweepScratch;

// Sweeps and nodes are reused within a thread (their buffers keep their capacity: at
// n in the thousands a fresh sweep per node cost a page fault per touched page, and a
// fresh child per 2-flat allocated its eight buffers anew). A lease takes one from the
// thread's spares and gives it back when it ends.
template <class T>
struct ThreadLease {
    static std::vector<std::unique_ptr<T>>& spare() {
        thread_local std::vector<std::unique_ptr<T>> s;
        return s;
    }
    std::unique_ptr<T> obj;
    ThreadLease() {
        auto& s = spare();
        if (s.empty()) {
            obj = std::make_unique<T>();
        } else {
            obj = std::move(s.back());
            s.pop_back();
        }
    }
    ~ThreadLease() { spare().push_back(std::move(obj)); }
    ThreadLease(const ThreadLease&) = delete;
    ThreadLease& operator=(const ThreadLease&) = delete;
    T& operator*() { return *obj; }
};
using SweepLease = ThreadLease<Sweep>;
using NodeLease = ThreadLease<Node>;


// The longest basis of a swept 2-flat (the covering family is used up to rank 16).
constexpr int kCoveringMaxLen = 14;

// The part of row index x among m = 2, 3 or 4 parts (the covering family's classes):
// 2 and 4 are masks (a division by a run-time divisor cost a fifth of a pricing pass).
inline int index_part(int x, int m) { return m == 3 ? x % 3 : x & (m - 1); }

// The covering family's test at one 2-flat of the family with basis T, for the lines
// whose greedy basis is T + {k}: is T the first family member among its (r - 2)-subsets?
class CoveringRule {
  public:
    explicit CoveringRule(const std::vector<int>& T);
    bool designated(int k) const;

  private:
    int part(int x) const { return index_part(x, parts_); }
    const std::vector<int>& T_;
    int len_;
    int parts_;                        // the family is by parts mod parts_ (2, 3 or 4)
    unsigned bad_[4] = {0, 0, 0, 0};   // see the constructor
    unsigned present_[kCoveringMaxLen + 1];
};

class FlatWalker {
  public:
    // rows: indices into hm's rows that form the arrangement; maxc: the deepest
    // codimension visited; cancel: checked by check_cancel (may be null).
    FlatWalker(const HypMatrix& hm, std::vector<int> rows, int maxc,
               const std::atomic<bool>* cancel);
    // The walker over every row of hm, down to its lines (codimension r - 1).
    static FlatWalker over_lines(const HypMatrix& hm, const std::atomic<bool>* cancel);

    Node root() const;
    // Process node: compute and sort the items not containing it.
    void sweep(const Node& node, Sweep& sw) const;
    // Child of `node` obtained by adding the class cls of the sweep.
    Node child(const Node& node, const Sweep& sw, int cls) const;
    // The same, written over `ch` (whose buffers keep their capacity).
    void child_into(const Node& node, const Sweep& sw, int cls, Node& ch) const;
    // True when the child through class cls is reached from this node (and no other).
    bool canonical(const Node& node, const Sweep& sw, int cls) const;
    // At a 2-flat whose basis is in the covering family (see in_covering_family): true
    // when the line of class cls is emitted here, i.e. when this basis is the family's
    // first member among the (r - 2)-subsets of the line's greedy basis.
    bool emits(const Node& node, const Sweep& sw, int cls, const CoveringRule& rule) const;

    const HypMatrix& matrix() const { return hm_; }
    int r() const { return hm_.r; }
    int maxc() const { return maxc_; }
    const std::vector<int>& rows() const { return rows_; }
    const double* row(int local) const { return hm_.row(rows_[local]); }
    // Precompute the rows' residues for the exact full-rank minors (before threads start;
    // without it those minors are computed from scratch).
    void prepare_exact();
    void check_cancel() const {
        if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw Cancelled("cancelled");
    }

  private:
    // emits' exact path: is the line's greedy basis T + {kmin}? (kmin: the class's
    // smallest row; more than r - 1 rows through the line, kmin inside T)
    __attribute__((noinline)) bool emits_by_basis(const Node& node, const Sweep& sw, int cls, int kmin) const;
    void set_generators(Node& node) const;
    // Exact sign of the coordinate li of row s (local) on the node's generators, given
    // its float value and error bound.
    int coord_sign(const Node& node, int s, int li, double val, double err) const;
    // Step 1 of a sweep: the coordinates (with error bounds) on the node's generators of
    // every row not containing the flat, and the position and sign of the first nonzero
    // one. Returns how many such rows (items) there are, in row order.
    int sweep_coordinates(const Node& node, SweepScratch& sc) const;
    // Exact sign of q_i[k] q_j[l] - q_i[l] q_j[k] for the items si, sj (rows of the
    // walker) with coordinates qi, qj and error bounds ei, ej on the node's generators,
    // where the float filter (minor2_float, inline in the sweep) left it undecided.
    int minor2(const Node& node, const double* qi, const double* ei, int si, const double* qj,
               const double* ej, int sj, int k, int l) const;

    // Exact sign of the full-rank minor det(rows[sorted ids]) (r ids, r x r), memoized
    // per thread and walker: on degenerate data the same vanishing minors recur at
    // every 2-flat through a line.
    int full_minor_sign(const int* ids) const;
    // Whether the r x r minor of the rows ids (local, any order) is nonzero, exactly.
    bool minor_nonzero(int* ids) const;
    // The greedy (lexicographically first) basis of the hyperplanes through the line of
    // class cls at the 2-flat nd, written to B (r - 1 rows, increasing), by exact rank
    // tests.
    void line_basis(const Node& nd, const Sweep& sw, int cls, int* B) const;
    // At a 2-flat with basis T: true when det([T; a_x; a_y]) is certainly 0 because a
    // row of the thread's current class (rows through one line of the 2-flat, found by
    // earlier zero minors) is x or y and the other lies on the same line, tested by
    // the cofactors of that class's first row (residues; r multiplications per prime
    // instead of a determinant). False: unknown.
    bool same_class_zero(const std::vector<int>& T, int x, int y) const;
    void note_zero(const std::vector<int>& T, int x, int y) const;
    void class_cofactors() const;
    // At a 2-flat: the sign minor2 gives for items si, sj and coordinates k, l, from the
    // items' coordinates on the flat's generators computed in double-double (cached per
    // thread and 2-flat) with a rigorous error bound; 2 when the bound cannot decide it
    // (zero or extremely close): the exact path decides.
    int flat_minor_filter(const Node& nd, int si, int sj, int k, int l) const;

    HypMatrix hm_;
    std::vector<int> rows_;
    // the rows by columns (r x mp_, mp_ = rows rounded up to a multiple of 4, padding 0),
    // for the sweep's products; wide_: 4-wide loops
    int mp_ = 0;
    std::vector<double> cols_;
    bool wide_ = false;
    int maxc_;
    const std::atomic<bool>* cancel_;
    uint64_t uid_;
    // residues of every row modulo the first np_ primes (rows x np_ x r) and the bits of
    // each row's largest scaled entry: the exact full-rank minors start from them
    // (empty until prepare_exact)
    std::vector<uint64_t> res_;
    std::vector<double> rowbits_;
    std::vector<uint64_t> primes_;
    std::size_t np_ = 0;  // identifies the walker (and its matrix) to the per-thread cache
};

// Append to `out` the hyperplanes containing the child flat through class cls of the
// sweep of nd (nd.S and the class), sorted; what was in `out` before is untouched.
void append_flat_members(const Node& nd, const Sweep& sw, int cls, std::vector<int>& out);

// The root of a threaded walk and its canonical classes, one task each.
struct RootSplit {
    Node root;
    Sweep sweep;
    std::vector<int> classes;
};
RootSplit split_root(const FlatWalker& W);

// A line found during the walk: the 2-flat node, its sweep and the class index.
struct LineRef {
    const FlatWalker* walker;
    const Node* node;
    const Sweep* sweep;
    int cls;
    int first() const { return sweep->cls_start[cls]; }     // class bounds in the sweep
    int last() const { return sweep->cls_start[cls + 1]; }
};

// The lines one 2-flat emits: its node and sweep, and the emitted classes (increasing).
struct FlatLines {
    const FlatWalker* walker;
    const Node* node;
    const Sweep* sweep;
    const int* classes;
    int count;
    LineRef line(int i) const { return LineRef{walker, node, sweep, classes[i]}; }
};

// Direction (r coordinates, float) of the line at its 2-flat.
void line_direction(const LineRef& L, int r, double* v);
// Append the hyperplanes containing the line to `out`, sorted.
inline void append_line_incidence(const LineRef& L, std::vector<int>& out) {
    append_flat_members(*L.node, *L.sweep, L.cls, out);
}

// The 2-flats the walk sweeps at rank r >= 4 (docs/design.md section 8): those whose
// greedy basis t (len = r - 2 increasing row indices) is in a covering family, a set
// of (r - 2)-sets such that every (r - 1)-set contains one, defined by the indices'
// parts: r = 5, mod 3 (Turan's family, 4/9 of the triples); r = 6 and 7, mod 4 (3/8 and
// 0.35 of the sets); otherwise mod 2 (an even number of odd indices, or all odd), 1/2.
bool in_covering_family(const int* t, int len);

// Walk every line of the arrangement hm (rank r >= 2) in a deterministic order, split
// into tasks. on_tasks_known(ntasks) is called once before any line; on_line(task, L)
// is called for each line, on the worker thread running `task`. Returns the number of
// tasks. Only the tasks of ctx's shard run (ctx.in_shard); task numbers are global.
int walk_lines(const HypMatrix& hm, const RunContext& ctx,
               const std::function<void(int)>& on_tasks_known,
               const std::function<void(int, const LineRef&)>& on_line);

// The same walk, reporting the lines of each swept 2-flat at once (on_flat(task, F) on
// the worker thread; only for 2-flats that emit a line); walk_lines calls on_line for
// each of them in order.
int walk_flats(const HypMatrix& hm, const RunContext& ctx,
               const std::function<void(int)>& on_tasks_known,
               const std::function<void(int, const FlatLines&)>& on_flat);

// The tasks 0..ntasks-1 of ctx's shard, increasing.
std::vector<int> shard_tasks(int ntasks, const RunContext& ctx);

}  // namespace exactrelu
