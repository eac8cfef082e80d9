"""Error types and input validation shared by every public function.

Every error raised for bad input subclasses :class:`DLNError`, which itself
subclasses :class:`ValueError`, and names the offending argument.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DLNError",
    "ShapeError",
    "NonFiniteError",
    "RankDeficientError",
    "MemoryLimitError",
    "memory_budget",
    "check_memory",
    "as_layers",
    "as_square",
    "check_finite",
    "check_full_rank",
    "as_real",
    "as_int",
    "as_rng",
    "as_times",
    "as_choice",
    "as_bool",
    "as_callable",
    "as_dict",
    "as_shape",
    "as_values",
    "check_entries",
    "check_result",
    "common_batch",
    "call_checked",
    "checked_output",
    "finite_result",
    "check_integration",
    "MAX_ENTRIES",
    "MAX_TIME",
]

#: largest final time of an integration (a longer flow would run into the integrators' step cap)
MAX_TIME = 1e12
#: largest number of array entries a public function allocates for its result (about 64 GiB of complex128)
MAX_ENTRIES = 2**32


class DLNError(ValueError):
    """Base class of every input error raised by :mod:`dln`."""


class ShapeError(DLNError):
    """An argument has the wrong number of dimensions or wrong sizes."""


class NonFiniteError(DLNError):
    """An argument contains NaN or Inf entries."""


class RankDeficientError(DLNError):
    """A matrix that must be invertible is singular or numerically singular."""


class MemoryLimitError(DLNError, MemoryError):
    """A computation would need more memory than this process may use (:func:`memory_budget`)."""


#: Environment variable that sets the memory budget in bytes (below the machine's and the cgroup's limits).
MEMORY_ENV = "DLN_MEMORY_BYTES"

_CGROUP_ROOT = "/sys/fs/cgroup"
_PROC_CGROUP = "/proc/self/cgroup"


def _read_limit(path: str) -> int | None:
    """The number in a cgroup limit file, None where it is missing or says "max"."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_limits() -> list[int]:
    """Memory limits of the control groups of this process (cgroup v2: ``memory.max`` of its group and every
    parent; v1: ``memory.limit_in_bytes`` of its memory group), read from ``/proc/self/cgroup``."""
    import os

    limits = []
    try:
        with open(_PROC_CGROUP) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        rel = rel.strip("/")
        if controllers == "":  # v2: the unified hierarchy; a limit anywhere above applies
            while True:
                lim = _read_limit(os.path.join(_CGROUP_ROOT, rel, "memory.max"))
                if lim is not None:
                    limits.append(lim)
                if not rel:
                    break
                rel = os.path.dirname(rel)
        elif "memory" in controllers.split(","):
            for base in (os.path.join(_CGROUP_ROOT, "memory", rel), os.path.join(_CGROUP_ROOT, "memory")):
                lim = _read_limit(os.path.join(base, "memory.limit_in_bytes"))
                if lim is not None and lim < 2**62:  # v1 writes "no limit" as a huge number
                    limits.append(lim)
                    break
    return limits


_SYSTEM_LIMITS: list[int] | None = None


def _system_limits() -> list[int]:
    """Physical memory, the cgroup limits and RLIMIT_AS, read once per process."""
    global _SYSTEM_LIMITS
    if _SYSTEM_LIMITS is None:
        import os

        limits = []
        try:
            limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (AttributeError, ValueError, OSError):  # pragma: no cover - platforms without sysconf
            pass
        limits += _cgroup_limits()
        try:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_AS)[0]
            if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
                limits.append(int(soft))
        except (ImportError, OSError, ValueError):  # pragma: no cover - platforms without resource
            pass
        _SYSTEM_LIMITS = limits
    return _SYSTEM_LIMITS


def memory_budget() -> int:
    """Bytes of memory this process may use: the smallest of the machine's physical memory, the memory limits of
    its control groups (cgroup v2 ``memory.max`` of its group and its parents, or v1 ``memory.limit_in_bytes``;
    a SLURM job's memory request where SLURM enforces it by cgroups), the address-space limit (``RLIMIT_AS``),
    all read once per process, and ``$DLN_MEMORY_BYTES`` (a positive number of bytes), read at every call."""
    import math
    import os

    limits = list(_system_limits())
    env = os.environ.get(MEMORY_ENV, "").strip()
    if env:
        try:
            value = float(env)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise DLNError(f"${MEMORY_ENV}: expected a positive number of bytes, got {env!r}")
        limits.append(int(value))
    return min(limits) if limits else 2**63 - 1


def check_memory(n_bytes: float, what: str) -> None:
    """Raise :class:`MemoryLimitError` before ``what`` allocates ``n_bytes`` if that exceeds :func:`memory_budget`."""
    if n_bytes <= _SMALL_BYTES:
        return
    budget = memory_budget()
    if n_bytes > budget:
        raise MemoryLimitError(
            f"{what} needs about {n_bytes / 2**30:.3g} GiB, more than the {budget / 2**30:.3g} GiB this process "
            f"may use (the smallest of physical memory, the cgroup limit, RLIMIT_AS and ${MEMORY_ENV})"
        )


#: :func:`check_memory` does not look up the budget for allocations up to this size
_SMALL_BYTES = 2**24


def _as_float_array(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise DLNError(f"{name}: cannot be converted to an array ({exc})") from exc
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float64, copy=False)
    elif arr.dtype.kind == "c":
        arr = arr.astype(np.complex128, copy=False)
    else:
        raise DLNError(f"{name}: expected a real or complex numeric array, got dtype {arr.dtype}")
    return arr


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise :class:`NonFiniteError` if ``arr`` has a NaN or Inf entry."""
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise NonFiniteError(f"{name}: contains {n_bad} NaN or Inf entries")
    return arr


def as_layers(W, name: str = "W", min_layers: int = 2) -> np.ndarray:
    """Validate a stack of square layers of shape ``(..., N, d, d)``.

    Returns a float64 or complex128 array. Raises :class:`ShapeError` for a
    wrong number of dimensions, non-square layers or fewer than ``min_layers``
    layers, and :class:`NonFiniteError` for NaN/Inf entries.
    """
    arr = _as_float_array(W, name)
    if arr.ndim < 3:
        raise ShapeError(f"{name}: expected shape (..., N, d, d) with N layers of size d x d, got shape {arr.shape}")
    if arr.shape[-1] != arr.shape[-2]:
        raise ShapeError(f"{name}: layers must be square (d x d), got layers of shape {arr.shape[-2:]}")
    if arr.shape[-1] < 1:
        raise ShapeError(f"{name}: layer size d must be at least 1, got shape {arr.shape}")
    if arr.shape[-3] < min_layers:
        raise ShapeError(f"{name}: need N >= {min_layers} layers along axis -3, got N = {arr.shape[-3]}")
    return check_finite(arr, name)


def as_square(X, name: str = "X") -> np.ndarray:
    """Validate a batch of square matrices of shape ``(..., d, d)``."""
    arr = _as_float_array(X, name)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2] or arr.shape[-1] < 1:
        raise ShapeError(f"{name}: expected square matrices of shape (..., d, d), got shape {arr.shape}")
    return check_finite(arr, name)


def check_full_rank(X: np.ndarray, name: str = "X", max_cond: float | None = None) -> np.ndarray:
    """Return the singular values of ``X`` (shape ``(..., d)``), raising if X is rank deficient.

    ``X`` is rank deficient when its smallest singular value is zero or its
    condition number exceeds ``max_cond`` (default ``1 / (100 eps)``).
    """
    return check_singular_values(np.linalg.svd(X, compute_uv=False), name, max_cond)


def check_singular_values(s: np.ndarray, name: str = "X", max_cond: float | None = None) -> np.ndarray:
    """:func:`check_full_rank` from the singular values ``s`` (shape ``(..., d)``, descending) of X; returns s."""
    if max_cond is None:
        max_cond = 1.0 / (100.0 * np.finfo(np.float64).eps)
    smax = s[..., 0]
    smin = s[..., -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(smin > 0, smax / np.where(smin > 0, smin, 1.0), np.inf)
    bad = ~(cond <= max_cond)
    if np.any(bad):
        worst = float(np.max(np.where(np.isfinite(cond), cond, np.inf)))
        raise RankDeficientError(
            f"{name}: rank deficient or numerically singular (condition number {worst:.3g} "
            f"> {max_cond:.3g}); this method needs a full-rank end-to-end matrix"
        )
    return s


def as_real(
    x,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A real scalar argument: a finite number (``allow_inf``: +inf too) in ``[low, high]`` (``low_open``:
    ``(low, high]``). Raises :class:`DLNError` naming ``name`` for anything else (None, strings, booleans,
    arrays of more than one entry, NaN)."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        raise DLNError(f"{name}: expected a real number, got {x!r}")
    arr = np.asarray(x)
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise DLNError(f"{name}: expected a real number, got {x!r}")
    v = float(arr.reshape(()))
    if np.isnan(v) or (np.isinf(v) and not (allow_inf and v > 0)):
        raise DLNError(f"{name}: expected a finite number, got {x!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise DLNError(f"{name}: expected a number {'>' if low_open else '>='} {low:g}, got {x!r}")
    if high is not None and v > high:
        raise DLNError(f"{name}: expected a number <= {high:g}, got {x!r}")
    return v


def as_int(x, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer scalar argument in ``[low, high]`` (an integral float such as ``3.0`` is accepted)."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        raise DLNError(f"{name}: expected an integer, got {x!r}")
    arr = np.asarray(x)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise DLNError(f"{name}: expected an integer, got {x!r}")
    v = arr.reshape(()).item()
    if isinstance(v, float) and not (np.isfinite(v) and v == int(v)):
        raise DLNError(f"{name}: expected an integer, got {x!r}")
    v = int(v)
    if low is not None and v < low:
        raise DLNError(f"{name}: expected an integer >= {low}, got {x!r}")
    if high is not None and v > high:
        raise DLNError(f"{name}: expected an integer <= {high}, got {x!r}")
    return v


def as_rng(rng, name: str = "rng") -> np.random.Generator:
    """A :class:`numpy.random.Generator` argument (random streams are explicit, for reproducibility), or an
    object standing in for one (with its ``standard_normal`` and ``random`` methods, e.g. a recording wrapper);
    the legacy :class:`numpy.random.RandomState` is refused (it lacks ``standard_normal(out=...)``)."""
    if isinstance(rng, np.random.Generator):
        return rng
    duck = callable(getattr(rng, "standard_normal", None)) and callable(getattr(rng, "random", None))
    if not duck or isinstance(rng, np.random.RandomState):
        raise DLNError(
            f"{name}: expected a numpy.random.Generator (e.g. numpy.random.default_rng(seed) or "
            f"dln.rng_from_params(...)), got {rng!r}"
        )
    return rng


def as_times(t, name: str = "t", *, nonnegative: bool = True, increasing: bool = True) -> np.ndarray:
    """Times: a finite real array (scalar or 1-d), non-negative and non-decreasing unless said otherwise."""
    arr = _as_float_array(t, name)
    if arr.dtype.kind == "c" or arr.ndim > 1 or arr.size == 0:
        raise DLNError(f"{name}: expected a real scalar or a 1-d array of times, got shape {arr.shape}")
    check_finite(arr, name)
    if nonnegative and np.any(arr < 0):
        raise DLNError(f"{name}: times must be >= 0, got min {float(arr.min()):g}")
    if increasing and arr.ndim == 1 and np.any(np.diff(arr) < 0):
        raise DLNError(f"{name}: times must be non-decreasing")
    return arr


def checked_output(value, name: str, shape: tuple | None = None) -> np.ndarray:
    """The output of a user callable ``name``: numeric, of ``shape`` when given, every entry finite."""
    arr = _as_float_array(value, f"{name} (its output)")
    if shape is not None and arr.shape != tuple(shape):
        raise ShapeError(f"{name}: must return shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise NonFiniteError(f"{name}: returned {n_bad} NaN or Inf entries")
    return arr


def _all_finite(out) -> bool:
    if isinstance(out, dict):
        return all(_all_finite(v) for v in out.values())
    if isinstance(out, tuple | list):
        return all(_all_finite(v) for v in out)
    if hasattr(out, "__dataclass_fields__"):
        return all(_all_finite(getattr(out, f)) for f in out.__dataclass_fields__)
    if out is None or isinstance(out, str | bool | int):
        return True
    arr = np.asarray(out)
    return arr.dtype.kind not in "fc" or bool(np.all(np.isfinite(arr)))


def _brief(value) -> str:
    """A short description of an argument's value: its repr, or the shape and magnitude of an array."""
    if isinstance(value, np.ndarray) and value.size > 4:
        mag = float(np.max(np.abs(value))) if value.dtype.kind in "biufc" else float("nan")
        return f"<array of shape {value.shape}, max |entry| {mag:.3g}>"
    return repr(value)


def finite_result(*names: str):
    """Decorator: the function's result is finite, or a :class:`DLNError` names the scalar arguments ``names``
    with their values (an overflow or underflow at this scale); an arithmetic error from inside NumPy or SciPy
    (overflow, division by zero, a failed factorization, an impossible allocation) becomes such an error too."""
    import functools
    import inspect

    def deco(fn):
        sig = inspect.signature(fn)

        def scales(args, kwargs) -> str:
            try:
                bound = sig.bind_partial(*args, **kwargs)
            except TypeError:
                return ", ".join(names)
            bound.apply_defaults()
            return ", ".join(f"{n} = {_brief(bound.arguments[n])}" for n in names if n in bound.arguments)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
                    out = fn(*args, **kwargs)
            except DLNError:
                raise
            except (ArithmeticError, np.linalg.LinAlgError, MemoryError, ValueError) as exc:
                raise DLNError(
                    f"{scales(args, kwargs)}: {fn.__name__} failed at this scale ({type(exc).__name__}: {exc})"
                ) from exc
            if not _all_finite(out):
                raise NonFiniteError(
                    f"{scales(args, kwargs)}: the result of {fn.__name__} overflows or is undefined at this scale"
                )
            return out

        return wrapper

    return deco


def as_choice(x, name: str, choices: tuple) -> str:
    """One of the names ``choices`` (strings compared by equality; anything else is refused)."""
    if not isinstance(x, str) or x not in choices:
        raise DLNError(f"{name}: expected one of {tuple(choices)}, got {x!r}")
    return x


def as_bool(x, name: str) -> bool:
    """A boolean flag (``True``/``False`` or a NumPy boolean; integers and strings are refused)."""
    if not isinstance(x, bool | np.bool_):
        raise DLNError(f"{name}: expected True or False, got {x!r}")
    return bool(x)


def as_callable(f, name: str, *, optional: bool = False):
    """A callable argument (``optional``: ``None`` too)."""
    if f is None and optional:
        return None
    if not callable(f):
        raise DLNError(f"{name}: expected a callable{' or None' if optional else ''}, got {f!r}")
    return f


def as_dict(x, name: str, *, optional: bool = True):
    """A dictionary the function fills in (``optional``: ``None`` too)."""
    if x is None and optional:
        return None
    if not isinstance(x, dict):
        raise DLNError(f"{name}: expected a dict to fill in{' or None' if optional else ''}, got {x!r}")
    return x


def check_entries(n_entries, name: str, limit: int = MAX_ENTRIES) -> int:
    """Refuse a result of more than ``limit`` entries (the size that ``name`` asks for) before allocating it."""
    n = int(n_entries)
    if n > limit:
        raise DLNError(f"{name}: the result would have {n:.3g} entries, more than the limit {limit:.3g}")
    return n


def as_shape(shape, name: str, *, limit: int = MAX_ENTRIES) -> tuple:
    """An array shape: a non-negative integer or a sequence of them, with at most ``limit`` entries in all."""
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, str | bytes | dict) or not hasattr(shape, "__iter__"):
        raise DLNError(f"{name}: expected a tuple of non-negative integers, got {shape!r}")
    out = tuple(as_int(n, name, low=0) for n in shape)
    check_entries(np.prod(out, dtype=float), name, limit)
    return out


def as_values(x, name: str, *, low: float | None = None, low_open: bool = False, min_ndim: int = 1) -> np.ndarray:
    """A real float64 array of at least ``min_ndim`` dimensions (the last of length >= 1 when ``min_ndim`` >= 1),
    every entry finite and ``>= low`` (``low_open``: ``> low``)."""
    arr = _as_float_array(x, name)
    if arr.dtype.kind == "c":
        raise DLNError(f"{name}: expected real values, got a complex array")
    if arr.ndim < min_ndim or (min_ndim >= 1 and arr.shape[-1] < 1):
        raise ShapeError(f"{name}: expected an array of shape (..., d) with d >= 1, got shape {arr.shape}")
    check_finite(arr, name)
    if low is not None and arr.size:
        m = float(np.min(arr))
        if m < low or (low_open and m == low):
            raise DLNError(f"{name}: entries must be {'>' if low_open else '>='} {low:g}, got min {m:.3g}")
    return arr


def common_batch(*items) -> tuple:
    """The broadcast batch shape of ``(name, array, n_core_axes)`` items; a :class:`ShapeError` names the first
    argument whose batch shape does not broadcast against the ones before it."""
    batch: tuple = ()
    first = None
    for name, arr, core in items:
        b = arr.shape[: arr.ndim - core]
        try:
            batch = np.broadcast_shapes(batch, b)
        except ValueError:
            raise ShapeError(
                f"{name}: batch shape {b} does not broadcast against the batch shape {batch} of {first}"
            ) from None
        first = first or name
    return batch


def check_result(out, name: str, scale=None):
    """The result computed from the array argument ``name``: every entry finite, or a :class:`NonFiniteError`
    naming ``name`` and the magnitude of its entries (``scale``: that array), an overflow or underflow."""
    if not _all_finite(out):
        size = ""
        if scale is not None:
            a = np.abs(np.asarray(scale))
            if a.size:
                size = f" (entries of magnitude {float(np.min(a)):.3g} to {float(np.max(a)):.3g})"
        raise NonFiniteError(f"{name}: the result overflows or is undefined at this scale{size}")
    return out


def call_checked(f, name: str, *args, shape: tuple | None = None) -> np.ndarray:
    """Call the user callable ``name`` and check its output (numeric, of ``shape``, finite); an exception
    raised inside it becomes a :class:`DLNError` naming it."""
    try:
        value = f(*args)
    except DLNError:
        raise
    except Exception as exc:
        raise DLNError(f"{name}: raised {type(exc).__name__} ({exc})") from exc
    return checked_output(value, name, shape)


def check_integration(
    t: np.ndarray, rtol, atol, dt, progress, stats, *, method="dp54", max_steps: int = 1_000_000
) -> None:
    """The options of an integration to the validated output times ``t``: tolerances ``rtol > 0`` and
    ``atol >= 0``, a fixed step ``dt > 0`` (or None) needing at most ``max_steps`` steps, a callable or None
    ``progress``, a dict or None ``stats``, the name of a ``method``, and a final time of at most
    :data:`MAX_TIME`."""
    if not isinstance(method, str):
        raise DLNError(f"method: expected the name of an integration method, got {method!r}")
    as_real(rtol, "rtol", low=0.0, low_open=True)
    as_real(atol, "atol", low=0.0)
    as_callable(progress, "progress", optional=True)
    as_dict(stats, "stats")
    T = float(t[-1]) if np.size(t) else 0.0
    if T > MAX_TIME:
        raise DLNError(f"t: the final time {T:.3g} is beyond the longest integration, {MAX_TIME:.0e}")
    if dt is not None:
        h = as_real(dt, "dt", low=0.0, low_open=True)
        if T / h > max_steps:
            raise DLNError(f"dt: {T / h:.3g} fixed steps of dt = {h:.3g} to t = {T:.3g}, more than {max_steps}")
