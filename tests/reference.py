"""A pure-Python reference for the arrangement core (used by the tests only).

Nothing here imports :mod:`exactrelu`: the reference is independent of the C++ core.

Exactness
---------
Every double is a dyadic rational, so each row of a float matrix is converted
*exactly* to a row of Python integers (the row times a positive power of two, which
changes neither its hyperplane nor any sign).  Ranks, kernels, incidences and the
signs that certify witnesses are computed with these integers (fraction-free
elimination), i.e. in exact rational arithmetic.

Cells
-----
Incremental insertion of the distinct hyperplanes.  When a hyperplane ``h`` is
inserted, each current cell ``C`` (kept with a strictly interior witness) is split
into ``C & {h > 0}`` and ``C & {h < 0}``; the side that holds the witness is kept
for free, the other side(s) are decided by a max-margin LP::

    max t  s.t.  s_j * (h_j . u) >= t  (every inserted hyperplane), |u_k| <= 1, 0 <= t <= 1

whose optimum is > 0 exactly when the side is a full-dimensional cell.  All the
LPs of one insertion step are solved as one block-diagonal LP
(``scipy.optimize.linprog(method="highs")``), which keeps the reference fast.  A side
is accepted only with a witness whose strict signs are verified exactly, so every
reported cell is certified; a side is rejected when the LP finds no such point (an
uncertified decision).  When the number of distinct hyperplanes is small, the
number of cells is additionally compared with Whitney's formula (brute force over
all subsets, exact ranks), which certifies the whole list.

Rays
----
The 1-flats of the essentialized arrangement: every set of ``r - 1`` distinct
hyperplanes of exact rank ``r - 1`` (``r`` = rank of the matrix) meets the row space
in a line; lines are identified by their incidence sets (closures) and given an
exact primitive integer direction in the row space.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

__all__ = [
    "lift",
    "int_row",
    "int_rows",
    "exact_dot_sign",
    "exact_rank",
    "Hyperplanes",
    "distinct_hyperplanes",
    "whitney_count",
    "reference_cells",
    "reference_count",
    "Line",
    "reference_lines",
    "LinesResult",
    "CellsResult",
    "brute_force_cells",
    "kernel_basis",
    "check_cells",
    "check_rays",
    "check_witnesses_fast",
    "ReferenceError_",
]


class ReferenceError_(AssertionError):
    """The reference could not decide something (a bug or a numerically hopeless input)."""


# --------------------------------------------------------------------------- exact helpers


def lift(X, bias):
    """The lifted data matrix (float64): ``[X, 1]`` with bias, else ``X``."""
    X = np.asarray(X, dtype=np.float64)
    if bias:
        return np.hstack([X, np.ones((X.shape[0], 1))])
    return X.copy()


def int_row(v):
    """Exact positive rescaling of a float vector to Python ints.

    Returns ``p`` with ``p = 2**s * v`` exactly for some integer ``s >= 0``, so
    ``p`` has the same hyperplane and the same signs as ``v``.
    """
    ratios = [float(x).as_integer_ratio() for x in v]
    den = max(q for _, q in ratios) if ratios else 1
    return tuple(p * (den // q) for p, q in ratios)


def int_rows(A):
    """:func:`int_row` for every row of a 2-D array."""
    return [int_row(row) for row in np.asarray(A, dtype=np.float64)]


def _idot(a, b):
    return sum(x * y for x, y in zip(a, b))


def _sgn(x):
    return (x > 0) - (x < 0)


def exact_dot_sign(a, u):
    """The exact sign of ``a . u`` for float vectors ``a`` and ``u``."""
    return _sgn(_idot(int_row(a), int_row(u)))


def _primitive(v):
    """Divide an int vector by the gcd of its entries (sign kept)."""
    g = 0
    for x in v:
        g = math.gcd(g, x)
    if g <= 1:
        return tuple(v)
    return tuple(x // g for x in v)


def _canonical(v):
    """Primitive int vector with its first nonzero entry positive, and that sign."""
    v = _primitive(v)
    for x in v:
        if x:
            if x < 0:
                return tuple(-y for y in v), -1
            return v, 1
    return v, 0


class _Echelon:
    """An exact row echelon basis over the rationals, kept with integer rows."""

    __slots__ = ("rows",)

    def __init__(self, rows=()):
        self.rows = list(rows)  # (pivot, int row), pivot = first nonzero column

    def reduce(self, v):
        v = list(v)
        for p, b in self.rows:
            if v[p]:
                f, g = b[p], v[p]
                v = [f * x - g * y for x, y in zip(v, b)]
        return _primitive(v)

    def add(self, v):
        """Add ``v``; return a new echelon if independent, else ``None``."""
        w = self.reduce(v)
        for p, x in enumerate(w):
            if x:
                return _Echelon(self.rows + [(p, w)])
        return None

    def __len__(self):
        return len(self.rows)


def exact_rank(rows):
    """Exact rank of a list of int (or float) rows."""
    rows = [r if all(isinstance(x, int) for x in r) else int_row(r) for r in rows]
    e = _Echelon()
    for r in rows:
        e2 = e.add(r)
        if e2 is not None:
            e = e2
    return len(e)


def _basis_indices(rows):
    """Indices of a greedy maximal independent subset of the int rows."""
    e = _Echelon()
    idx = []
    for i, r in enumerate(rows):
        e2 = e.add(r)
        if e2 is not None:
            e = e2
            idx.append(i)
    return idx


def _det(M):
    """Exact determinant of a square int matrix (Bareiss, fraction-free)."""
    n = len(M)
    if n == 0:
        return 1
    M = [list(r) for r in M]
    sign = 1
    prev = 1
    for k in range(n - 1):
        if M[k][k] == 0:
            for i in range(k + 1, n):
                if M[i][k]:
                    M[k], M[i] = M[i], M[k]
                    sign = -sign
                    break
            else:
                return 0
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                M[i][j] = (M[i][j] * M[k][k] - M[i][k] * M[k][j]) // prev
        prev = M[k][k]
    return sign * M[n - 1][n - 1]


def _kernel_vector(N):
    """A nonzero int vector spanning the kernel of an (m - 1) x m int matrix of rank m - 1."""
    m = len(N) + 1
    c = []
    for j in range(m):
        minor = [[row[k] for k in range(m) if k != j] for row in N]
        c.append((-1) ** j * _det(minor))
    return c


# --------------------------------------------------------------------------- hyperplanes


@dataclass
class Hyperplanes:
    """The distinct hyperplanes of the rows of a matrix.

    Attributes
    ----------
    A : float ndarray (n, D)
    rows : list of int tuples, the exact rows (positively rescaled)
    reps : list of primitive int tuples, one per distinct hyperplane (first nonzero > 0)
    cls : list of int, the class of each row (-1 for a zero row)
    orient : list of int, +1 / -1 (row = orient * positive multiple of its rep), 0 for zero rows
    """

    A: np.ndarray
    rows: list
    reps: list
    cls: list
    orient: list

    @property
    def n(self):
        return len(self.rows)

    @property
    def dim(self):
        return self.A.shape[1]

    @property
    def m(self):
        return len(self.reps)


def distinct_hyperplanes(A):
    """Group the rows of ``A`` into distinct hyperplanes (exactly)."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    rows = int_rows(A)
    reps, cls, orient = [], [], []
    index = {}
    for r in rows:
        key, s = _canonical(r)
        if s == 0:
            cls.append(-1)
            orient.append(0)
            continue
        if key not in index:
            index[key] = len(reps)
            reps.append(key)
        cls.append(index[key])
        orient.append(s)
    return Hyperplanes(A, rows, reps, cls, orient)


def whitney_count(reps, dim):
    """Number of cells by Whitney's formula: sum over subsets S of (-1)^(|S| - rank S).

    Brute force over all ``2**m`` subsets of the distinct hyperplanes (exact ranks,
    computed incrementally along a depth-first search); for small ``m`` only.
    """
    m = len(reps)
    total = 0
    # stack of (next index, echelon, |S|)
    stack = [(0, _Echelon(), 0)]
    while stack:
        i, e, size = stack.pop()
        if i == m:
            total += 1 if (size - len(e)) % 2 == 0 else -1
            continue
        stack.append((i + 1, e, size))
        e2 = e.add(reps[i])
        stack.append((i + 1, e if e2 is None else e2, size + 1))
    return total


# --------------------------------------------------------------------------- cells


def _max_margin_batch(H, sides, dim):
    """Solve the max-margin LPs of many sign systems at once.

    ``H``: (k, dim) float array of unit hyperplane normals; ``sides``: list of
    sign arrays, each (k,) of +-1 (the system s_j * H_j . u > 0).  Returns the list
    of (t, u) optima, one per system.
    """
    B = len(sides)
    k = H.shape[0]
    nv = dim + 1
    S = np.asarray(sides, dtype=np.float64)  # (B, k)
    # block b, row j: -s_bj * H_j . u_b + t_b <= 0
    coef_u = -(S[:, :, None] * H[None, :, :])  # (B, k, dim)
    data = np.concatenate([coef_u, np.ones((B, k, 1))], axis=2).ravel()
    rows = np.repeat(np.arange(B * k), nv)
    cols = (np.arange(B)[:, None, None] * nv + np.arange(nv)[None, None, :]).repeat(k, axis=1)
    cols = cols.ravel()
    Aub = sparse.csr_array((data, (rows, cols)), shape=(B * k, B * nv))
    c = np.zeros(B * nv)
    c[dim::nv] = -1.0
    lb = np.full(B * nv, -1.0)
    lb[dim::nv] = 0.0
    ub = np.ones(B * nv)
    res = linprog(c, A_ub=Aub, b_ub=np.zeros(B * k), bounds=np.column_stack([lb, ub]),
                  method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise ReferenceError_(f"max-margin LP failed: {res.message}")
    x = res.x.reshape(B, nv)
    return [(float(x[b, dim]), x[b, :dim].copy()) for b in range(B)]


def _strict(reps_int, signs, u_int):
    """Exactly: s_j * (rep_j . u) > 0 for all j?"""
    for r, s in zip(reps_int, signs):
        if _sgn(_idot(r, u_int)) != s:
            return False
    return True


@dataclass
class CellsResult:
    """Reference cells.

    Attributes
    ----------
    patterns : set of bool tuples over the n rows (zero rows False)
    witnesses : dict pattern -> float witness (strictly interior, verified exactly)
    signs : list of sign tuples over the distinct hyperplanes
    hyperplanes : Hyperplanes
    n_lps : int, number of LP blocks solved
    certified : bool, True when the count was checked against Whitney's formula
    """

    patterns: set
    witnesses: dict
    signs: list
    hyperplanes: Hyperplanes
    n_lps: int
    certified: bool

    def __len__(self):
        return len(self.patterns)


def _signed_rays(reps_int):
    """Both signs of every 1-flat of the arrangement of the int rows ``reps_int`` (exact)."""
    lines = _lines_of_int_rows(list(reps_int), list(reps_int))
    out = []
    for v in lines:
        out.append(v)
        out.append(tuple(-x for x in v))
    return out


def _ray_sum_witness(reps_int, signs, rays, ray_signs):
    """Exact decision of a sign system by the ray-sum argument.

    In the row space a nonempty cell is a pointed cone spanned by its extreme rays,
    which are rays of the arrangement; the sum of all the arrangement's rays in the
    closure of the cell is then strictly inside it.  Returns that int point when it
    realizes ``signs`` strictly, else ``None`` (the cell is then empty).
    """
    D = len(reps_int[0])
    u = [0] * D
    for rho, rs in zip(rays, ray_signs):
        if all(x == 0 or x == s for x, s in zip(rs, signs)):
            u = [a + b for a, b in zip(u, rho)]
    u = _primitive(u)
    return u if _strict(reps_int, signs, u) else None


def _int_to_float_vec(u):
    """A float vector close to the direction of the int vector ``u``."""
    big = max((abs(x) for x in u), default=0)
    if big == 0:
        return np.zeros(len(u))
    sh = max(0, big.bit_length() - 60)
    return np.array([float(x >> sh) if x >= 0 else -float((-x) >> sh) for x in u])


def reference_cells(A, *, whitney_max=14, tol=1e-9, seed=0, exact=None):
    """The full-dimensional cells of the central arrangement of the rows of ``A``.

    Parameters
    ----------
    A : array (n, D), the (already lifted) hyperplane normals.
    whitney_max : int
        Check the number of cells against :func:`whitney_count` when the number of
        distinct hyperplanes is at most this.
    tol : float
        An LP margin above this whose point fails the exact check raises.
    exact : bool or None
        ``False``: max-margin LPs only (a rejected side is not certified).  ``True``:
        every side decided exactly by the ray-sum argument (no LP; slower).
        ``None`` (default): LPs, and when the Whitney check fails (very thin cells
        that the LP tolerance cannot see, e.g. badly scaled data) redo it exactly.

    Returns
    -------
    CellsResult
    """
    hp = distinct_hyperplanes(A)
    D = hp.dim
    m = hp.m
    rng = np.random.default_rng(seed)
    # insertion order: a fixed random permutation (insertion order does not matter)
    order = [int(c) for c in rng.permutation(m)] if m else []
    reps_int = [hp.reps[c] for c in order]
    H = np.array([_int_to_float_vec(r) for r in reps_int]).reshape(m, D)
    if m:
        H = H / np.linalg.norm(H, axis=1)[:, None]

    # cells: list of (signs tuple over inserted hyperplanes, float witness, int witness)
    cells = []
    n_lps = 0
    if m:
        h0 = reps_int[0]
        cells = [((1,), H[0].copy(), h0), ((-1,), -H[0], tuple(-x for x in h0))]
    for k in range(1, m):
        hk = reps_int[k]
        sub = reps_int[: k + 1]
        new_cells = []
        pending = []  # (signs tuple including the new sign)
        for signs, w, wi in cells:
            s = _sgn(_idot(hk, wi))
            if s != 0:
                new_cells.append((signs + (s,), w, wi))
                pending.append(signs + (-s,))
            else:
                pending.append(signs + (1,))
                pending.append(signs + (-1,))
        if not pending:
            cells = new_cells
            continue
        if exact:
            rays = _signed_rays(sub)
            ray_signs = [tuple(_sgn(_idot(h, rho)) for h in sub) for rho in rays]
            for signs in pending:
                ui = _ray_sum_witness(sub, signs, rays, ray_signs)
                if ui is not None:
                    new_cells.append((signs, _int_to_float_vec(ui), ui))
        else:
            n_lps += len(pending)
            sols = _max_margin_batch(H[: k + 1], pending, D)
            for signs, (t, u) in zip(pending, sols):
                ui = int_row(u)
                if _strict(sub, signs, ui):
                    new_cells.append((signs, u, ui))
                elif t > tol:
                    raise ReferenceError_(
                        f"LP margin {t:g} but its point fails the exact sign check")
        cells = new_cells

    # back to the original hyperplane numbering and to row patterns
    pos = {c: j for j, c in enumerate(order)}
    patterns = set()
    witnesses = {}
    signs_list = []
    if not cells:
        cells = [((), np.zeros(D), tuple([0] * D))]
    for signs, w, _ in cells:
        cls_signs = [signs[pos[c]] for c in range(m)]
        pat = tuple(
            (hp.orient[i] * cls_signs[hp.cls[i]] > 0) if hp.cls[i] >= 0 else False
            for i in range(hp.n)
        )
        if pat in patterns:  # pragma: no cover
            raise ReferenceError_("two reference cells share a pattern")
        patterns.add(pat)
        witnesses[pat] = w
        signs_list.append(tuple(cls_signs))
    certified = bool(exact)
    if m <= whitney_max:
        wc = whitney_count(hp.reps, D)
        if wc != len(patterns):
            if exact is None:
                return reference_cells(A, whitney_max=whitney_max, tol=tol, seed=seed,
                                       exact=True)
            raise ReferenceError_(
                f"reference found {len(patterns)} cells, Whitney's formula gives {wc}")
        certified = True
    return CellsResult(patterns, witnesses, signs_list, hp, n_lps, certified)


def reference_count(A, *, brute_max=16):
    """The number of cells: Whitney's formula when small, else the reference enumeration."""
    hp = distinct_hyperplanes(A)
    if hp.m <= brute_max:
        return whitney_count(hp.reps, hp.dim)
    return len(reference_cells(A, whitney_max=-1))


def brute_force_cells(A):
    """Cells by brute force: one exact-verified max-margin LP per sign vector (tiny m only)."""
    hp = distinct_hyperplanes(A)
    m, D = hp.m, hp.dim
    if m == 0:
        return {tuple([False] * hp.n)}
    H = np.array(hp.reps, dtype=np.float64)
    H = H / np.linalg.norm(H, axis=1)[:, None]
    sides = [np.array(s) for s in itertools.product((1, -1), repeat=m)]
    out = set()
    for s, (_t, u) in zip(sides, _max_margin_batch(H, sides, D)):
        if _strict(hp.reps, s, int_row(u)):
            out.add(tuple(
                (hp.orient[i] * s[hp.cls[i]] > 0) if hp.cls[i] >= 0 else False
                for i in range(hp.n)))
    return out


# --------------------------------------------------------------------------- rays


@dataclass(frozen=True)
class Line:
    """A 1-flat of the essentialized arrangement.

    Attributes
    ----------
    incidence : frozenset of row indices i with row_i . v == 0 exactly (zero rows included)
    direction : tuple of int, primitive, first nonzero entry positive, in the row space
    """

    incidence: frozenset
    direction: tuple

    @property
    def unit(self):
        v = np.array([float(Fraction(x)) for x in self.direction])
        return v / np.linalg.norm(v)


@dataclass
class LinesResult:
    """Reference lines (1-flats): ``lines`` (set of Line), ``rank``, ``basis`` (int rows)."""

    lines: set
    rank: int
    basis: list
    hyperplanes: Hyperplanes

    def __len__(self):
        return len(self.lines)

    @property
    def n_rays(self):
        return 2 * len(self.lines)

    def by_incidence(self, nonzero_only=False):
        """dict incidence -> primitive direction (optionally dropping zero rows)."""
        zero = {i for i, c in enumerate(self.hyperplanes.cls) if c < 0}
        out = {}
        for ln in self.lines:
            key = ln.incidence - zero if nonzero_only else ln.incidence
            out[frozenset(key)] = ln.direction
        return out


def _lines_of_int_rows(rows, reps):
    """Primitive canonical directions of the 1-flats (essentialized) of the int rows.

    ``reps``: the distinct nonzero rows (one per hyperplane).
    """
    bidx = _basis_indices(rows)
    r = len(bidx)
    basis = [rows[i] for i in bidx]
    if r == 0:
        return []
    if r == 1:
        return [_canonical(basis[0])[0]]
    D = len(rows[0])
    out = {}
    for S in itertools.combinations(range(len(reps)), r - 1):
        # kernel of the rows S restricted to the row space: v = B^T c with (M B^T) c = 0
        N = [[_idot(reps[j], b) for b in basis] for j in S]
        if exact_rank(N) != r - 1:
            continue
        c = _kernel_vector(N)
        v = [sum(c[a] * basis[a][j] for a in range(r)) for j in range(D)]
        if not any(v):  # pragma: no cover - impossible for rank r - 1
            raise ReferenceError_("zero kernel vector")
        v = _canonical(v)[0]
        out[v] = None
    return list(out)


def reference_lines(A):
    """The 1-flats of the essentialized arrangement of the rows of ``A`` (exact)."""
    hp = distinct_hyperplanes(A)
    rows = hp.rows
    basis = [rows[i] for i in _basis_indices(rows)]
    lines = set()
    for v in _lines_of_int_rows(rows, hp.reps):
        inc = frozenset(i for i, row in enumerate(rows) if _idot(row, v) == 0)
        lines.add(Line(inc, v))
    return LinesResult(lines, len(basis), basis, hp)


# ---------------------------------------------------------------- checks of a core output
# (functions of plain arrays, so that this module never imports the code it checks)


def check_cells(A, patterns, witnesses, ref=None, witnesses_lo=None, witnesses_exact=None):
    """Problems (a list of strings, empty when all is well) with a cell listing of ``A``.

    Checks: shapes and dtypes; no two cells share a pattern; each witness realizes
    its pattern with strict signs in exact arithmetic (zero rows must read 0); and,
    when ``ref`` (a :class:`CellsResult`) is given, the pattern set equals the reference.
    ``witnesses_lo`` (optional, same shape): the witness is then the exact sum
    ``witnesses + witnesses_lo`` (double-double points of sub-ulp cells).
    ``witnesses_exact`` (optional dict: cell index -> tuple of ints): that cell's
    witness is this exact integer point instead.
    """
    A = np.asarray(A, dtype=np.float64)
    n, D = A.shape
    problems = []
    P = np.asarray(patterns)
    W = np.asarray(witnesses)
    if P.dtype != bool:
        problems.append(f"patterns dtype {P.dtype}, expected bool")
    if P.ndim != 2 or P.shape[1] != n:
        return problems + [f"patterns shape {P.shape}, expected (*, {n})"]
    if W.shape != (P.shape[0], D):
        return problems + [f"witnesses shape {W.shape}, expected ({P.shape[0]}, {D})"]
    if not np.all(np.isfinite(W)):
        problems.append("non-finite witness")
        return problems
    pats = [tuple(bool(x) for x in row) for row in P]
    if len(set(pats)) != len(pats):
        problems.append(f"{len(pats) - len(set(pats))} duplicated patterns")
    rows = int_rows(A)
    bad = 0
    first = None
    WL = None if witnesses_lo is None else np.asarray(witnesses_lo, dtype=np.float64)
    if WL is not None and WL.shape != W.shape:
        return problems + [f"witnesses_lo shape {WL.shape}, expected {W.shape}"]
    exact = witnesses_exact or {}
    for k, (pat, w) in enumerate(zip(pats, W)):
        if k in exact:
            wi = tuple(int(x) for x in exact[k])
        elif WL is None:
            wi = int_row(w)
        else:
            both = int_row(np.concatenate([w, WL[k]]))
            wi = tuple(a + b for a, b in zip(both[:D], both[D:]))
        for i, row in enumerate(rows):
            if not any(row):
                ok = not pat[i]
            else:
                s = _sgn(_idot(row, wi))
                ok = (s > 0) if pat[i] else (s < 0)
            if not ok:
                bad += 1
                if first is None:
                    first = (k, i)
                break
    if bad:
        problems.append(f"{bad} witnesses fail their pattern exactly (first: cell {first[0]}, "
                        f"row {first[1]})")
    if ref is not None:
        got = set(pats)
        if got != ref.patterns:
            miss = ref.patterns - got
            extra = got - ref.patterns
            problems.append(
                f"pattern set differs from the reference: {len(got)} vs {len(ref.patterns)} cells, "
                f"{len(miss)} missing (e.g. {sorted(miss)[:1]}), {len(extra)} extra "
                f"(e.g. {sorted(extra)[:1]})")
    return problems


def kernel_basis(rows, dim):
    """An exact basis (lists of Fractions) of {v : row . v = 0 for all rows}."""
    M = [[Fraction(x) for x in r] for r in rows]
    pivots = []
    rr = 0
    for c in range(dim):
        p = next((i for i in range(rr, len(M)) if M[i][c] != 0), None)
        if p is None:
            continue
        M[rr], M[p] = M[p], M[rr]
        piv = M[rr][c]
        M[rr] = [x / piv for x in M[rr]]
        for i in range(len(M)):
            if i != rr and M[i][c] != 0:
                f = M[i][c]
                M[i] = [a - f * b for a, b in zip(M[i], M[rr])]
        pivots.append(c)
        rr += 1
    free = [c for c in range(dim) if c not in pivots]
    out = []
    for f in free:
        v = [Fraction(0)] * dim
        v[f] = Fraction(1)
        for i, c in enumerate(pivots):
            v[c] = -M[i][f]
        out.append(v)
    return out


def _row_space_residual(K, d):
    """Norm of the component of the float vector ``d`` orthogonal to a row space.

    ``K``: an exact basis of the orthogonal complement (:func:`kernel_basis` of the
    rows).  Computed exactly (the projection onto the complement, in rationals).
    """
    D = len(d)
    if not K:
        return 0.0
    dq = [Fraction(float(x)) for x in d]
    # residual^2 = b^T G^{-1} b with G = K K^T, b = K d
    b = [sum(k[j] * dq[j] for j in range(D)) for k in K]
    G = [[sum(ki[j] * kl[j] for j in range(D)) for kl in K] for ki in K]
    # solve G y = b exactly (G is symmetric positive definite)
    n = len(K)
    M = [G[i][:] + [b[i]] for i in range(n)]
    for c in range(n):
        p = next(i for i in range(c, n) if M[i][c] != 0)
        M[c], M[p] = M[p], M[c]
        for i in range(n):
            if i != c and M[i][c] != 0:
                f = M[i][c] / M[c][c]
                M[i] = [a - f * e for a, e in zip(M[i], M[c])]
    y = [M[i][n] / M[i][i] for i in range(n)]
    return math.sqrt(float(sum(bi * yi for bi, yi in zip(b, y))))


def check_rays(A, directions, indptr, indices, ref=None, *, zero_rows="either", tol=1e-9):
    """Problems (list of strings) with a ray listing of the rows of ``A``.

    Checks the contract (unit directions, rows 2k and 2k+1 opposite with the same
    incidence, CSR well formed, no repeated index in a row); that each ray's incident
    hyperplanes have exact rank r - 1 and that no other row vanishes on the ray's
    (reference) line; directions in the row space; and, with ``ref`` (a
    :class:`LinesResult`), equality of the lines: the same incidence sets, and each
    direction parallel to the reference's (up to sign).

    ``zero_rows``: how incidence should treat zero rows (which vanish everywhere):
    ``"all"`` (listed on every ray), ``"none"`` (never listed) or ``"either"``.
    """
    A = np.asarray(A, dtype=np.float64)
    n, D = A.shape
    problems = []
    Dr = np.asarray(directions)
    ip = np.asarray(indptr)
    ix = np.asarray(indices)
    if Dr.ndim != 2 or Dr.shape[1] != D:
        return [f"directions shape {Dr.shape}, expected (*, {D})"]
    nr = Dr.shape[0]
    if nr % 2:
        return [f"odd number of rays {nr}"]
    if ip.shape != (nr + 1,) or ip[0] != 0 or np.any(np.diff(ip) < 0) or ip[-1] != len(ix):
        return [f"malformed indptr {ip[:10]}..."]
    if len(ix) and (ix.min() < 0 or ix.max() >= n):
        return ["incidence index out of range"]
    if not np.all(np.isfinite(Dr)):
        return ["non-finite direction"]
    norms = np.linalg.norm(Dr, axis=1)
    if np.any(np.abs(norms - 1) > 1e-12):
        problems.append(f"directions not unit: max |norm - 1| = {np.abs(norms - 1).max():g}")
    if nr and not np.array_equal(Dr[0::2], -Dr[1::2]):
        problems.append("rows 2k and 2k+1 are not opposite")
    inc = [frozenset(ix[ip[k]:ip[k + 1]].tolist()) for k in range(nr)]
    for k in range(nr):
        if len(inc[k]) != ip[k + 1] - ip[k]:
            problems.append(f"ray {k} lists an incidence twice")
            break
    for k in range(0, nr, 2):
        if inc[k] != inc[k + 1]:
            problems.append(f"rays {k} and {k + 1} have different incidences")
            break
    hp = distinct_hyperplanes(A)
    rows = hp.rows
    zero = frozenset(i for i, c in enumerate(hp.cls) if c < 0)
    basis = [rows[i] for i in _basis_indices(rows)]
    r = len(basis)
    lines = [inc[k] for k in range(0, nr, 2)]
    if len(set(lines)) != len(lines):
        problems.append(f"{len(lines) - len(set(lines))} lines listed twice")
    if zero_rows != "either" and zero:
        for s in lines:
            has = zero & s
            if zero_rows == "all" and has != zero or zero_rows == "none" and has:
                problems.append(f"zero rows {sorted(zero)} treated inconsistently with "
                                f"zero_rows={zero_rows!r}")
                break
    # exact rank of the incident hyperplanes, and direction in the row space
    K = kernel_basis(basis, D)
    for k in range(0, nr, 2):
        rk = exact_rank([rows[i] for i in inc[k]])
        if rk != r - 1:
            problems.append(f"ray {k}: incident hyperplanes have exact rank {rk}, expected {r - 1}")
            break
        res = _row_space_residual(K, Dr[k])
        if res > tol:
            problems.append(f"ray {k}: direction leaves the row space (residual {res:g})")
            break
        # the incident rows vanish on it (up to rounding), the others do not
        dots = np.abs(A @ Dr[k])
        scale = np.abs(A).sum(axis=1)
        inside = np.array([i in inc[k] for i in range(n)])
        if np.any(dots[inside] > tol * np.maximum(scale[inside], 1e-300)):
            worst = float((dots[inside] / np.maximum(scale[inside], 1e-300)).max())
            problems.append(f"ray {k}: an incident row does not vanish on the direction "
                            f"(|a.d| / |a|_1 = {worst:g})")
            break
    if ref is not None:
        want = ref.by_incidence(nonzero_only=True)
        got = {}
        for k in range(0, nr, 2):
            got[frozenset(inc[k] - zero)] = Dr[k]
        if set(got) != set(want):
            miss = set(want) - set(got)
            extra = set(got) - set(want)
            problems.append(
                f"line set differs from the reference: {len(got)} vs {len(want)} lines; "
                f"missing {[sorted(s) for s in list(miss)[:2]]}, "
                f"extra {[sorted(s) for s in list(extra)[:2]]}")
        else:
            for key, v in want.items():
                u = np.array([float(x) for x in v])
                u /= np.linalg.norm(u)
                c = abs(float(u @ got[key]))
                if c < 1 - tol:
                    problems.append(f"line {sorted(key)}: direction {got[key]} not parallel to "
                                    f"the exact {v} (|cos| = {c!r})")
                    break
    return problems


def check_witnesses_fast(A, patterns, witnesses):
    """Count the cells whose witness fails its pattern, for large outputs.

    A floating-point filter with a certified bound decides most signs; the
    uncertain ones are decided exactly (integers).  Zero rows must read 0.
    Returns ``(n_bad, n_exact)``: failing cells and entries that needed the exact path.
    """
    A = np.asarray(A, dtype=np.float64)
    P = np.asarray(patterns, dtype=bool)
    W = np.asarray(witnesses, dtype=np.float64)
    D = A.shape[1]
    G = W @ A.T  # (nc, n)
    bound = (D + 2) * 2.0**-53 * (np.abs(W) @ np.abs(A).T) + D * 2.0**-1074
    zero = ~np.any(A != 0, axis=1)
    sure = np.abs(G) > bound
    ok = np.where(P, G > 0, G < 0)
    bad_cells = np.zeros(P.shape[0], dtype=bool)
    bad_cells |= np.any(sure & ~ok & ~zero[None, :], axis=1)
    bad_cells |= np.any(P[:, zero], axis=1)
    unsure = np.argwhere(~sure & ~zero[None, :])
    rows = {}
    for k, i in unsure:
        if i not in rows:
            rows[i] = int_row(A[i])
        s = _sgn(_idot(rows[i], int_row(W[k])))
        if (s > 0) != bool(P[k, i]) or s == 0:
            bad_cells[k] = True
    return int(bad_cells.sum()), int(len(unsure))
