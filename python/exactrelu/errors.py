"""The exception tree of exactrelu.

Every error raised on purpose by exactrelu derives from :class:`ExactReLUError`.

::

    ExactReLUError
    ├── InputError (also ValueError)        bad X, y, parameters
    │   ├── ShapeError                      wrong number of dimensions / sizes
    │   ├── NonFiniteError                  NaN or inf in the data
    │   ├── ConflictingTargetsError         equal inputs with different targets
    │   └── NotSupportedError               a combination of options that is not supported
    ├── SizeError (also MemoryError)        the arrangement / program would be too large
    ├── SolverError (also RuntimeError)     a solver returned a status other than optimal
    │   ├── InfeasibleError                 the program has no feasible point
    │   ├── UnboundedError                  the program is unbounded
    │   └── TimeLimitError                  a time limit was reached
    ├── CertificateError                    a certificate could not be produced
    └── NumericalError (also ArithmeticError) an exact/robust computation failed

Ctrl-C during a long computation raises Python's own KeyboardInterrupt, unchanged.
"""

__all__ = [
    "ExactReLUError",
    "InputError",
    "ShapeError",
    "NonFiniteError",
    "ConflictingTargetsError",
    "SizeError",
    "SolverError",
    "InfeasibleError",
    "UnboundedError",
    "TimeLimitError",
    "CertificateError",
    "NumericalError",
    "NotSupportedError",
]


class ExactReLUError(Exception):
    """Base class of every error raised by exactrelu."""


class InputError(ExactReLUError, ValueError):
    """The input data or a parameter is invalid."""


class ShapeError(InputError):
    """An array has the wrong number of dimensions or the wrong size."""


class NonFiniteError(InputError):
    """An array contains NaN or infinity."""


class ConflictingTargetsError(InputError):
    """Equal inputs have different targets, so no function can interpolate them.

    Attributes
    ----------
    rows : list of tuple of int
        Groups of row indices that share an input but not a target.
    """

    def __init__(self, message, rows=()):
        super().__init__(message)
        self.rows = list(rows)


class NotSupportedError(InputError):
    """A combination of options that is not supported (e.g. multiclass hinge)."""


class SizeError(ExactReLUError, MemoryError):
    """The requested computation would be too large.

    Attributes
    ----------
    estimate : int
        The estimated size (cells, rays, columns, bytes: see ``what``).
    limit : int
        The limit it exceeds.
    what : str
        What was estimated.
    """

    def __init__(self, message, estimate=None, limit=None, what=None):
        super().__init__(message)
        self.estimate = estimate
        self.limit = limit
        self.what = what


class SolverError(ExactReLUError, RuntimeError):
    """A solver finished with a status other than optimal.

    Attributes
    ----------
    status : str
        The solver's status, as a string.
    """

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class InfeasibleError(SolverError):
    """The program is infeasible (e.g. interpolation of conflicting data).

    Attributes
    ----------
    rows : list of int
        Offending data rows, where known.
    """

    def __init__(self, message, status="infeasible", rows=()):
        super().__init__(message, status)
        self.rows = list(rows)


class UnboundedError(SolverError):
    """The program is unbounded."""


class TimeLimitError(SolverError):
    """The solver stopped at its time limit before proving optimality."""


class CertificateError(ExactReLUError):
    """A certificate of optimality could not be produced."""


class NumericalError(ExactReLUError, ArithmeticError):
    """An exact or robust numerical computation failed."""
