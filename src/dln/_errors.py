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
    "as_layers",
    "as_square",
    "check_finite",
    "check_full_rank",
]


class DLNError(ValueError):
    """Base class of every input error raised by :mod:`dln`."""


class ShapeError(DLNError):
    """An argument has the wrong number of dimensions or wrong sizes."""


class NonFiniteError(DLNError):
    """An argument contains NaN or Inf entries."""


class RankDeficientError(DLNError):
    """A matrix that must be invertible is singular or numerically singular."""


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
    if max_cond is None:
        max_cond = 1.0 / (100.0 * np.finfo(np.float64).eps)
    s = np.linalg.svd(X, compute_uv=False)
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
