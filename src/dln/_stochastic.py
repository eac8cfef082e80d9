"""Noisy training dynamics (LM section 4.2): batched Euler-Maruyama and the exact OU sampler.

Langevin equation (LM eq. 4.4), on the real Euclidean space M_d^N (complex layers are
R^{2 N d^2}):

    dW = -( dphi^*(grad E(X)) + kappa W ) dt + sqrt(2 / beta) dB,

with B standard Brownian motion: every real coordinate (real and imaginary parts of a
complex entry separately) has variance t. With E = 0 this is the Ornstein-Uhlenbeck process
of LM eq. (4.2), whose stationary law is N(0, 1/(beta kappa)) per real coordinate, i.e.
density proportional to exp(-beta kappa |W|^2 / 2) (the printed eq. 4.3
has no factor 1/2: claim LM-4.2).

Moments under the noise (claim LM-4.2): the Ito corrections of W_k W_k^* and
W_{k+1}^* W_{k+1} cancel for square layers, so E[G(t)] = G_0 e^{-2 kappa t} for every loss E.
For the OU process the second moment is explicit (:func:`ou_moment_G`).

Every ensemble is one array with a leading path axis; there is no Python loop over samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._errors import (
    DLNError,
    as_callable,
    as_int,
    as_layers,
    as_real,
    as_rng,
    as_shape,
    as_times,
    call_checked,
    check_entries,
    check_result,
    checked_output,
    finite_result,
)
from ._linalg import sqnorm
from ._product import _dphi_adjoint, _moments, _partial_products

__all__ = [
    "brownian_increments",
    "langevin_drift",
    "langevin_em",
    "langevin_em_ladder",
    "ou_exact",
    "ou_moment_G",
    "ou_stationary_G2",
    "noise_growth_coefficient",
]

GradE = Callable[[np.ndarray], np.ndarray]


def _field_of(W: np.ndarray) -> str:
    return "complex" if np.iscomplexobj(W) else "real"


def _check_pos(x, name: str, allow_zero: bool = False) -> float:
    return as_real(x, name, low=0.0, low_open=not allow_zero)


@finite_result("dt")
def brownian_increments(rng: np.random.Generator, shape: tuple, dt: float, field: str = "real") -> np.ndarray:
    """Increments of standard Brownian motion on M_d^N over a step ``dt``.

    Real: iid N(0, dt) entries. Complex: real and imaginary parts iid N(0, dt) each (standard BM
    in the real space R^{2 N d^2}).

    Returns
    -------
    ndarray of shape ``shape``, float64 or complex128.
    """
    if field not in ("real", "complex"):
        raise DLNError(f"field: expected 'real' or 'complex', got {field!r}")
    rng = as_rng(rng)
    dt = as_real(dt, "dt", low=0.0)
    try:
        shape = tuple(as_int(n, "shape", low=0) for n in np.atleast_1d(np.asarray(shape, dtype=object)))
    except (TypeError, ValueError) as exc:
        raise DLNError(f"shape: expected a tuple of non-negative integers, got {shape!r}") from exc
    shape = as_shape(shape, "shape")
    out = np.empty(shape, dtype=np.float64 if field == "real" else np.complex128)
    return _fill_increments(rng, out, dt)


def _fill_increments(rng: np.random.Generator, out: np.ndarray, dt: float) -> np.ndarray:
    """Fill ``out`` in place with BM increments (complex: real and imaginary parts N(0, dt) each)."""
    flat = out.view(np.float64) if np.iscomplexobj(out) else out
    rng.standard_normal(out=flat)
    flat *= np.sqrt(dt)
    return out


def langevin_drift(W: np.ndarray, grad_E: GradE | None, kappa: float) -> np.ndarray:
    """Drift -(dphi^*(grad E(X)) + kappa W) of LM eq. (4.4).

    Parameters
    ----------
    W : ndarray, shape (..., N, d, d)
    grad_E : callable (..., d, d) -> (..., d, d), or None for E = 0
    kappa : float

    Returns
    -------
    ndarray, shape (..., N, d, d)
    """
    W = as_layers(W, "W")
    kappa = as_real(kappa, "kappa", low=0.0)
    grad_E = as_callable(grad_E, "grad_E", optional=True)
    with np.errstate(over="ignore", invalid="ignore"):
        out = -kappa * W
        if grad_E is not None:
            P, Q = _partial_products(W)
            X = check_result(P[..., 0, :, :] @ W[..., 0, :, :], "W", W)
            out = out - _dphi_adjoint(P, Q, call_checked(grad_E, "grad_E", X, shape=X.shape))
    return check_result(out, "W, kappa", W)


# Batch-last layout: the integrators keep the state as (N, d, d, M) with the M paths on the contiguous
# last axis, so that every small matrix product is a handful of long vector operations (einsum). For
# d <= 4 this is 5-50x faster than numpy's batched matmul on (M, d, d) stacks.


def _to_last(W: np.ndarray) -> np.ndarray:
    """(..., N, d, d) -> (N, d, d, M), M = prod(...), contiguous."""
    M = int(np.prod(W.shape[:-3], dtype=int))
    return np.ascontiguousarray(np.moveaxis(W.reshape((M,) + W.shape[-3:]), 0, -1))


def _from_last(WL: np.ndarray, batch: tuple) -> np.ndarray:
    """(..., M) -> batch + (...)."""
    return np.moveaxis(WL, -1, 0).reshape(tuple(batch) + WL.shape[:-1])


def _mm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.einsum("ijm,jkm->ikm", A, B)


def _adj(A: np.ndarray) -> np.ndarray:
    A = np.swapaxes(A, 0, 1)
    return np.conj(A) if np.iscomplexobj(A) else A


def _drift_last(WL: np.ndarray, grad_E: GradE | None, kappa: float, batch: tuple) -> np.ndarray:
    """:func:`langevin_drift` in the batch-last layout (N, d, d, M)."""
    out = -kappa * WL
    if grad_E is None:
        return out
    N = WL.shape[0]
    Q: list = [None] * N  # Q_k = W_{k-1} ... W_1 (None = identity), index k-1
    P: list = [None] * N  # P_k = W_N ... W_{k+1}
    Q[1] = WL[0]
    for k in range(2, N):
        Q[k] = _mm(WL[k - 1], Q[k - 1])
    P[N - 2] = WL[N - 1]
    for k in range(N - 3, -1, -1):
        P[k] = _mm(P[k + 1], WL[k + 1])
    X = _mm(P[0], WL[0])
    Y = _to_last(np.asarray(grad_E(_from_last(X, batch)))[..., None, :, :])[0]
    for k in range(N):
        V = Y if P[k] is None else _mm(_adj(P[k]), Y)
        if Q[k] is not None:
            V = _mm(V, _adj(Q[k]))
        out[k] -= V
    return out


def _check_grad(grad_E, W: np.ndarray) -> None:
    """grad_E must be None or a callable returning finite (..., d, d) arrays: checked once at the start state
    (a NaN or Inf later makes the run diverge, reported with the step)."""
    if grad_E is None:
        return
    if not callable(grad_E):
        raise DLNError(f"grad_E: expected a callable X -> grad E(X) or None, got {grad_E!r}")
    X = W[..., -1, :, :]
    for k in range(W.shape[-3] - 2, -1, -1):
        X = X @ W[..., k, :, :]
    try:
        out = grad_E(X)
    except DLNError:
        raise
    except Exception as exc:
        raise DLNError(f"grad_E: raised {type(exc).__name__} at the initial state ({exc})") from exc
    checked_output(out, "grad_E", shape=X.shape)


def _prepare(W0, n_paths):
    W0 = as_layers(W0, "W0")
    if n_paths is not None:
        if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
            raise DLNError(f"n_paths: expected a positive integer, got {n_paths!r}")
        check_entries(float(n_paths) * W0.size, "n_paths")
        W0 = np.broadcast_to(W0, (int(n_paths),) + W0.shape)
    return np.array(W0, order="C")


@finite_result("kappa", "beta", "dt", "n_steps")
def langevin_em(
    W0,
    grad_E: GradE | None,
    kappa: float,
    beta: float,
    dt: float,
    n_steps: int,
    rng: np.random.Generator,
    *,
    n_paths: int | None = None,
    save_every: int | None = None,
    observe: Callable[[np.ndarray], np.ndarray] | None = None,
    progress: Callable[[float], object] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Batched Euler-Maruyama for the Langevin equation (LM eq. 4.4); E = 0 gives the OU process (4.2).

    W_{n+1} = W_n + dt * drift(W_n) + sqrt(2 / beta) * dB_n, all paths advanced together.

    Parameters
    ----------
    W0 : array_like, shape (..., N, d, d)
        Initial layers (real or complex; complex noise is standard BM in R^{2 N d^2}).
    grad_E : callable or None
        Euclidean gradient of the loss, mapping (..., d, d) to (..., d, d); None for E = 0.
    kappa : float >= 0
        L2 regularization strength.
    beta : float > 0
        Inverse temperature; ``numpy.inf`` gives the deterministic Euler scheme.
    dt : float > 0
    n_steps : int >= 0
    rng : numpy.random.Generator
    n_paths : int, optional
        If given, ``W0`` is copied into ``n_paths`` paths along a new leading axis.
    save_every : int, optional
        Save every ``save_every`` steps (default: only the initial and final states).
    observe : callable, optional
        Applied to the state at the save times (default: the state itself), so that large
        ensembles can record a few statistics only.
    progress : callable, optional
        Called as ``progress(fraction)`` with the fraction of steps done, at every save time.

    Returns
    -------
    t : ndarray, shape (n_saved,)
        Save times (0 and multiples of ``save_every * dt``; the final time is always saved).
    out : ndarray, shape (n_saved,) + observe(W).shape
    """
    kappa = _check_pos(kappa, "kappa", allow_zero=True)
    beta = as_real(beta, "beta", low=0.0, low_open=True, allow_inf=True)
    dt = _check_pos(dt, "dt")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise DLNError(f"n_steps: expected a non-negative integer, got {n_steps!r}")
    n_steps = as_int(n_steps, "n_steps", high=10**9)
    observe = as_callable(observe, "observe", optional=True)
    progress = as_callable(progress, "progress", optional=True)
    if kappa * dt >= 2.0:
        raise DLNError(
            f"kappa, dt: kappa dt = {kappa * dt:.3g} >= 2, the explicit Euler step of the decay -kappa W is unstable; "
            "take dt < 2 / kappa"
        )
    W = _prepare(W0, n_paths)
    batch = W.shape[:-3]
    sig = np.sqrt(2.0 / beta) if np.isfinite(beta) else 0.0
    if sig and n_steps:
        rng = as_rng(rng)
    _check_grad(grad_E, W)
    every = n_steps if not save_every else as_int(save_every, "save_every", low=1)

    def obs(w):
        return w.copy() if observe is None else call_checked(observe, "observe", w)

    times, outs = [0.0], [np.asarray(obs(W))]
    WL = _to_last(W)
    noise = np.empty(WL.shape, dtype=WL.dtype)
    for n in range(1, n_steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging path is reported below, by name
            if grad_E is None:
                WL *= 1.0 - kappa * dt
            else:
                WL += dt * _drift_last(WL, grad_E, kappa, batch)
        if sig:
            _fill_increments(rng, noise, dt * sig * sig)
            WL += noise
        if (every and n % every == 0) or n == n_steps:
            _check_finite(WL, n, dt)
            if times[-1] != n * dt:
                times.append(n * dt)
                outs.append(np.asarray(obs(_from_last(WL, batch))))
            if progress is not None:
                progress(n / n_steps)
    return np.asarray(times), np.stack(outs)


@finite_result("kappa", "beta", "T", "n_fine")
def langevin_em_ladder(
    W0,
    grad_E: GradE | None,
    kappa: float,
    beta: float,
    T: float,
    n_fine: int,
    ratios: tuple[int, ...],
    rng: np.random.Generator,
    *,
    n_paths: int | None = None,
) -> np.ndarray:
    """Euler-Maruyama at several step sizes driven by the SAME Brownian path (coupled noise).

    The fine step is h = T / n_fine; level ``r`` in ``ratios`` uses step r h and the sums of r
    consecutive fine increments, so all levels sample the same path of B (for strong errors,
    and for low-variance weak-error differences).

    Parameters
    ----------
    W0, grad_E, kappa, beta, rng, n_paths : as in :func:`langevin_em`
    T : float > 0
    n_fine : int, divisible by every ratio
    ratios : tuple of int >= 1 (1 is the fine level itself)

    Returns
    -------
    ndarray, shape (len(ratios),) + W.shape: the states at time T.
    """
    T = _check_pos(T, "T")
    beta = _check_pos(beta, "beta")
    kappa = _check_pos(kappa, "kappa", allow_zero=True)
    rng = as_rng(rng)
    n_fine = as_int(n_fine, "n_fine", low=1, high=10**9)
    try:
        ratios = tuple(as_int(r, "ratios", low=1) for r in ratios)
    except TypeError as exc:
        raise DLNError(f"ratios: expected a sequence of positive integers, got {ratios!r}") from exc
    if not ratios:
        raise DLNError("ratios: expected at least one step ratio")
    if kappa * max(ratios) * T / n_fine >= 2.0:
        raise DLNError(
            f"kappa, T, n_fine: the coarsest step {max(ratios)} T / n_fine = {max(ratios) * T / n_fine:.3g} times "
            f"kappa = {kappa:g} is >= 2, an unstable explicit Euler step; take more fine steps"
        )
    if any(r < 1 or n_fine % r for r in ratios):
        raise DLNError(f"ratios: every ratio must be a positive divisor of n_fine = {n_fine}, got {ratios}")
    W = _prepare(W0, n_paths)
    _check_grad(grad_E, W)
    batch = W.shape[:-3]
    h = T / n_fine
    sig = np.sqrt(2.0 / beta)
    WL = _to_last(W)
    states = [WL.copy() for _ in ratios]
    acc = [np.zeros_like(WL) for _ in ratios]
    dB = np.empty(WL.shape, dtype=WL.dtype)
    for n in range(1, n_fine + 1):
        _fill_increments(rng, dB, h)
        for i, r in enumerate(ratios):
            acc[i] += dB
            if n % r == 0:
                S = states[i]
                with np.errstate(over="ignore", invalid="ignore"):
                    states[i] = S + (r * h) * _drift_last(S, grad_E, kappa, batch) + sig * acc[i]
                acc[i][...] = 0.0
    for S, r in zip(states, ratios, strict=True):
        _check_finite(S, n_fine // r, r * h)
    return np.stack([_from_last(S, batch) for S in states])


def _check_finite(WL: np.ndarray, n: int, dt: float) -> None:
    """Raise :class:`DLNError` if any path of an Euler-Maruyama run has left the floating-point range."""
    bad = ~np.isfinite(WL)
    if bad.any():
        paths = bad.reshape(-1, WL.shape[-1]).any(axis=0)  # WL has the path axis last
        raise DLNError(
            f"dt: Euler-Maruyama diverged: {int(np.count_nonzero(paths))} path(s) non-finite by step {n} "
            f"(t = {n * dt:g}). Explicit Euler diverges with positive probability when the drift grows faster "
            f"than linearly (the gradient of a depth-N loss grows like |W|^(2N-1)); take a smaller dt, a "
            f"larger beta or a smaller depth"
        )


@finite_result("kappa", "beta", "t")
def ou_exact(
    W0,
    kappa: float,
    beta: float,
    t,
    rng: np.random.Generator,
    *,
    n_paths: int | None = None,
) -> np.ndarray:
    """Exact samples of the OU process (LM eq. 4.2) at time(s) ``t``, independently per time.

    W(t) = e^{-kappa t} W_0 + sqrt((1 - e^{-2 kappa t}) / (beta kappa)) Z, Z standard Gaussian per
    real coordinate (kappa = 0: sqrt(2 t / beta) Z; t = inf: the stationary law, variance 1/(beta kappa)).

    Parameters
    ----------
    W0 : array_like, shape (..., N, d, d)
    kappa : float >= 0
    beta : float > 0
    t : float or array of shape (n_t,)
    n_paths : int, optional (adds a leading path axis after the time axis)

    Returns
    -------
    ndarray, shape t.shape + (n_paths,) + W0.shape (the path axis only when ``n_paths`` is given).
    """
    kappa = _check_pos(kappa, "kappa", allow_zero=True)
    beta = _check_pos(beta, "beta")
    rng = as_rng(rng)
    W = _prepare(W0, n_paths)
    if not (np.ndim(t) == 0 and float(np.asarray(t, dtype=float)) == np.inf):  # t = inf: the stationary law
        t = as_times(t, "t", increasing=False)
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise DLNError(f"t: times must be non-negative, got min {t.min()}")
    mean_f, var = _ou_factors(t, kappa, beta)
    ext = (Ellipsis,) + (None,) * W.ndim
    Z = brownian_increments(rng, t.shape + W.shape, 1.0, _field_of(W))
    return mean_f[ext] * W + np.sqrt(var)[ext] * Z


def _ou_factors(t: np.ndarray, kappa: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """e^{-kappa t} and the per-coordinate variance of the OU process at time t."""
    t = np.asarray(t, dtype=float)
    if kappa == 0.0:
        if np.any(np.isinf(t)):
            raise DLNError("t: kappa = 0 has no stationary law (t = inf)")
        return np.ones_like(t), 2.0 * t / beta
    with np.errstate(over="ignore"):
        mean_f = np.exp(-kappa * t)
        var = -np.expm1(-2.0 * kappa * t) / (beta * kappa)
    return mean_f, var


@finite_result("N", "d", "beta", "kappa")
def ou_stationary_G2(N: int, d: int, beta: float, kappa: float, field: str = "real") -> float:
    """Stationary E|G|^2 of the OU process (claim LM-4.2).

    (N-1) 2 d^2 (d+1) / (beta kappa)^2 (real), (N-1) 8 d^3 / (beta kappa)^2 (complex).
    """
    N = as_int(N, "N", low=2, high=10**6)
    d = as_int(d, "d", low=1, high=10**6)
    beta = _check_pos(beta, "beta")
    kappa = as_real(kappa, "kappa", low=0.0, low_open=True)  # kappa = 0 has no stationary law
    return _quartic_coefficient(N, d, field) / (beta * kappa) ** 2


def _quartic_coefficient(N: int, d: int, field: str) -> float:
    """E|Q(Z)|^2 for Q_k = Z_k Z_k^* - Z_{k+1}^* Z_{k+1}, Z standard per real coordinate."""
    if field == "real":
        return (N - 1) * 2.0 * d**2 * (d + 1)
    if field == "complex":
        return (N - 1) * 8.0 * d**3
    raise DLNError(f"field: expected 'real' or 'complex', got {field!r}")


def noise_growth_coefficient(W) -> np.ndarray:
    """E|dG_W(Z)|^2 for Z standard Gaussian per real coordinate (the squared HS norm of dG at W).

    dG_k(Z) = Z_k W_k^* + W_k Z_k^* - Z_{k+1}^* W_{k+1} - W_{k+1}^* Z_{k+1}; for one term
    E|M + M^*|^2 = 2(d+1)|A|^2 (real) or 4d|A|^2 (complex), M = Z A^*, so
    E|dG(Z)|^2 = c sum_{k=1}^{N-1} (|W_k|^2 + |W_{k+1}|^2), c = 2(d+1) (real) or 4d (complex).

    Parameters
    ----------
    W : array_like, shape (..., N, d, d)

    Returns
    -------
    ndarray, shape (...)
    """
    W = as_layers(W, "W")
    d = W.shape[-1]
    c = 4.0 * d if np.iscomplexobj(W) else 2.0 * (d + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        s = sqnorm(W)  # (..., N)
        return check_result(c * (s[..., :-1] + s[..., 1:]).sum(axis=-1), "W", W)


@finite_result("W0", "kappa", "beta", "t")
def ou_moment_G(W0, kappa: float, beta: float, t) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and second moment of G(t) under the OU process (LM eq. 4.2) from W_0.

    With W(t) = m W_0 + s Z (m = e^{-kappa t}, s^2 the per-coordinate variance),
    G(t) = m^2 G_0 + m s dG_{W_0}(Z) + s^2 Q(Z), and the odd moments vanish, so

        E[G(t)] = G_0 e^{-2 kappa t},
        E|G(t)|^2 = m^4 |G_0|^2 + m^2 s^2 c_2(W_0) + s^4 c_4,

    with c_2 = :func:`noise_growth_coefficient` and c_4 = (N-1) 2 d^2 (d+1) (real) or (N-1) 8 d^3
    (complex). For kappa = 0, s^2 = 2t/beta: E|G|^2 - |G_0|^2 = (2t/beta) c_2 + (2t/beta)^2 c_4,
    linear growth at small t.

    Parameters
    ----------
    W0 : array_like, shape (N, d, d) (a single start)
    t : float or array

    Returns
    -------
    mean_G : ndarray, shape t.shape + (N-1, d, d)
    second : ndarray, shape t.shape
    """
    W0 = as_layers(W0, "W0")
    if W0.ndim != 3:
        raise DLNError(f"W0: expected a single start of shape (N, d, d), got {W0.shape}")
    kappa = _check_pos(kappa, "kappa", allow_zero=True)
    beta = _check_pos(beta, "beta")
    N, d = W0.shape[-3], W0.shape[-1]
    if not (np.ndim(t) == 0 and float(np.asarray(t, dtype=float)) == np.inf):  # t = inf: the stationary law
        t = as_times(t, "t", increasing=False)
    m, var = _ou_factors(np.asarray(t, dtype=float), kappa, beta)
    G0 = check_result(_moments(W0), "W0", W0)
    mean = (m**2)[..., None, None, None] * G0
    second = (
        m**4 * sqnorm(G0, 3)
        + m**2 * var * noise_growth_coefficient(W0)
        + var**2 * _quartic_coefficient(N, d, _field_of(W0))
    )
    return mean, second
