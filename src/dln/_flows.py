"""Flows of the deep linear network: orbit flows on fibers and learning flows.

Orbit flows (structure-preserving, :func:`dln._integrators.integrate_group`):

* regularizing flow (LM eq. 1.17, Thm 2): W' = -grad_{F_X} (1/2)|W|^2 = -w_b with
  H(b) = G, i.e. group velocity -b; G(t) = G_0 e^{-2t} and X(t) = X_0;
* Kirwan-Ness flow (LM eq. 1.22, Thm 10): W' = -w_{2G}, group velocity -2G.

Both step on GL(d)^{N-1} (W <- exp(u).W), so X is conserved to round-off.

Learning flows (not on orbits, adaptive Dormand-Prince 5(4) on the arrays,
:func:`dln._integrators.integrate_vector`):

* learning flow (LM eq. 1.2): W' = -dphi^*(grad E(X));
* regularized flow (LM eq. 4.1): W' = -dphi^*(grad E(X)) - kappa W;
* induced end-to-end flow (LM Remark 5): X' = -A_{N,X}(grad E(X)).

Tolerances: ``rtol``/``atol`` are local error tolerances; see
:mod:`dln._integrators` for the exact error norms (for orbit flows the error of
the group increment is controlled relative to the increment).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from . import _linalg as la
from ._errors import (
    DLNError,
    RankDeficientError,
    ShapeError,
    as_layers,
    as_square,
    call_checked,
    check_full_rank,
    check_integration,
    check_memory,
    check_result,
)
from ._fiber import SOLVERS, block_solve_bytes, regularizing_generator
from ._flow_generator import generator_dense, use_dense
from ._integrators import check_times, integrate_group, integrate_vector
from ._metric import A_operator, _check_N
from ._product import _dphi_adjoint, _moments, _partial_products, end_to_end

#: largest d^2 for which solver="auto" uses the direct block-LU solver of H(b) = G
_DIRECT_MAX = 64

__all__ = ["regularizing_flow", "kirwan_ness_flow", "learning_flow", "regularized_flow", "end_to_end_flow"]


def _kron(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Batched Kronecker product, shape (..., d*d, d*d): vec(A c B) = kron(A, B^T) vec(c) (C order)."""
    d = A.shape[-1]
    return np.einsum("...ij,...kl->...ikjl", A, B).reshape(A.shape[:-2] + (d * d, d * d))


def _generator_direct(W: np.ndarray) -> np.ndarray:
    """Solve H(b) = G (LM eq. 2.19) by block LU (block Thomas) on the block-tridiagonal H.

    H is Hermitian positive definite for full-rank X, so block elimination without
    pivoting is backward stable (every Schur complement S_k is Hermitian positive
    definite). The blocks are d^2 x d^2 (C-order vec coordinates, claim LM-Def8):
    (k,k) = I kron (W_k W_k^*)^T + (W_{k+1}^* W_{k+1}) kron I and
    (k,k+1) = -W_{k+1}^* kron W_{k+1}^T. Cost O(N d^6) in batched LAPACK calls:
    the fastest choice for d <= 8.

    Parameters
    ----------
    W : ndarray, shape (..., N, d, d) with full-rank X

    Returns
    -------
    b : ndarray, shape (..., N-1, d, d)
    """
    N, d = W.shape[-3], W.shape[-1]
    m = d * d
    n_items = int(np.prod(W.shape[:-3], dtype=int))
    check_memory(
        n_items * block_solve_bytes(1, N, d, np.iscomplexobj(W)),
        f"W: the batched block LU of H(b) = G ({n_items} item(s) at N = {N}, d = {d}; give a smaller batch)",
    )
    eye = np.eye(d, dtype=W.dtype)
    lo, hi = W[..., :-1, :, :], W[..., 1:, :, :]
    D = _kron(np.broadcast_to(eye, lo.shape), np.swapaxes(lo @ la.H(lo), -1, -2)) + _kron(
        la.H(hi) @ hi, np.broadcast_to(eye, hi.shape)
    )
    U = -_kron(la.H(W[..., 1:-1, :, :]), np.swapaxes(W[..., 1:-1, :, :], -1, -2))  # (k, k+1) blocks
    g = _moments(W).reshape(W.shape[:-3] + (N - 1, m, 1))
    try:
        S = D[..., 0, :, :]
        y = g[..., 0, :, :]
        Z = []  # Z_k = S_k^{-1} [U_k, y_k]
        for k in range(1, N - 1):
            Uk = U[..., k - 1, :, :]
            Zk = np.linalg.solve(S, np.concatenate([Uk, y], axis=-1))
            Z.append(Zk)
            UkH = la.H(Uk)
            S = D[..., k, :, :] - UkH @ Zk[..., :m]
            y = g[..., k, :, :] - UkH @ Zk[..., m:]
        b = [np.linalg.solve(S, y)]
        for k in range(N - 3, -1, -1):
            Zk = Z[k]
            b.append(Zk[..., m:] - Zk[..., :m] @ b[-1])
    except np.linalg.LinAlgError as exc:
        raise RankDeficientError(
            "W: the Gram operator H of the orbit map is singular (X became rank deficient along the flow)"
        ) from exc
    return np.stack(b[::-1], axis=-3).reshape(W.shape[:-3] + (N - 1, d, d))


def _x0(W0: np.ndarray) -> np.ndarray:
    """The end-to-end matrix of the initial layers, an overflow named as one of ``W0``."""
    try:
        return end_to_end(W0)
    except DLNError as exc:
        raise type(exc)(f"W0: {exc}") from None


#: the coordinate map of the RKMK steps of each orbit-flow method (see dln._integrators.integrate_group)
_COORDINATES = {"dop853": "linear", "dp54": "exp", "rk4": "exp"}

#: what each orbit-flow method is, in words (dataset attributes, summaries)
METHOD_LABELS = {
    "dop853": "RKMK 8(5,3) in linear coordinates (W <- (I + u).W)",
    "dp54": "RKMK 5(4) in exponential coordinates",
    "rk4": "fixed-step RKMK4 in exponential coordinates",
}


def default_method_label(flow: Callable) -> str:
    """:data:`METHOD_LABELS` of the ``method`` a flow function uses by default (read from its signature)."""
    return METHOD_LABELS[inspect.signature(flow).parameters["method"].default]


def _group_method(method: str, dt) -> str:
    if method not in _COORDINATES:
        raise DLNError(
            f"method: expected 'dop853' (adaptive RKMK 8(5,3)), 'dp54' (adaptive RKMK 5(4)) or 'rk4' "
            f"(fixed-step RKMK4), got {method!r}"
        )
    return method


def regularizing_flow(
    W0,
    t,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    method: str = "dop853",
    dt: float | None = None,
    solver: str = "auto",
    progress: Callable | None = None,
    stats: dict | None = None,
) -> np.ndarray:
    """Regularizing flow W' = -grad_{F_X} (1/2)|W|^2 on the fiber F_X (LM eq. 1.17, Thm 2).

    The velocity is -w_b with H(b) = G (LM eq. 2.19, :func:`dln.regularizing_generator`),
    i.e. the flow moves along the GL(d)^{N-1}-orbit with group velocity -b. It is
    integrated by a Runge-Kutta-Munthe-Kaas method (steps W <- phi(u).W with phi(u) =
    I + u for ``"dop853"`` and exp otherwise), so X = W_N ... W_1 is conserved to
    round-off; along the exact flow G(t) = G_0 e^{-2t} and W(t) -> the minimizing orbit O_X.
    With the defaults the relative error of G(t) stays below ~1e-10 (d = 4, N = 6,
    t in [0, 5]: ~2e-11 real, ~3e-11 complex).

    Parameters
    ----------
    W0 : array_like, shape (..., N, d, d)
        Initial layers (first layer first) with full-rank X.
    t : array_like, shape (n_t,)
        Output times, t[0] = 0, strictly increasing.
    rtol, atol : float
        Local error tolerances of the group increment per step (relative and
        absolute; see :mod:`dln._integrators`).
    method : {"dop853", "dp54", "rk4"}
        Adaptive RKMK with the Dormand-Prince 8(5,3) pair in linear coordinates (default),
        adaptive RKMK with the Dormand-Prince 5(4) pair in exponential coordinates, or
        fixed-step RKMK4 (needs ``dt``).
    dt : float, optional
        Fixed step size (with ``method="rk4"``; with an adaptive method it switches error control off).
    solver : str
        Solver of H(b) = G passed to :func:`dln.regularizing_generator` (``"auto"``,
        ``"pcg"``, ``"dense"`` or ``"block"``). ``"auto"`` solves small systems directly,
        batched over the leading axes: the assembled dense H (:func:`dln._flow_generator.generator_dense`)
        while (N-1) d^2 <= 128 (48 for complex layers) and the batch is small, else the block LU of the
        block-tridiagonal H for d <= 8, and the library's ``"auto"`` otherwise. The
        iterative solvers are warm-started from the previous stage's generator.
    progress : callable, optional
        ``progress(t, T, n_steps)`` after every accepted step.
    stats : dict, optional
        Filled with the step counts.

    Returns
    -------
    ndarray, shape (n_t, ..., N, d, d), same dtype as ``W0`` (float64 or complex128).

    Raises
    ------
    DLNError
        Bad inputs (``W0``, ``t``, tolerances) or a trajectory that becomes
        NaN/Inf, blows up, or whose X becomes numerically singular.
    """
    W0 = as_layers(W0, "W0")
    t = check_times(t)
    check_integration(t, rtol, atol, dt, progress, stats, method=method)
    check_full_rank(_x0(W0), "X = end_to_end(W0)", max_cond=1e14)
    method = _group_method(method, dt)
    if solver not in SOLVERS or solver == "normal":
        raise DLNError(f"solver: expected one of {tuple(s for s in SOLVERS if s != 'normal')}, got {solver!r}")
    d = W0.shape[-1]
    warm = solver in ("auto", "pcg") and "b0" in inspect.signature(regularizing_generator).parameters
    last = {}

    dense = solver == "auto" and use_dense(W0)

    def xi(W):
        if dense and W.shape == W0.shape:
            return -generator_dense(W)  # small systems: one batched solve of the assembled H
        if solver == "auto" and d * d <= _DIRECT_MAX:
            return -_generator_direct(W)  # small blocks: batched block LU of the block-tridiagonal H
        b0 = last.get("b")
        if warm and b0 is not None and b0.shape[:-3] == W.shape[:-3]:
            b = regularizing_generator(W, method=solver, b0=b0)
        else:
            b = regularizing_generator(W, method=solver)
        last["b"] = b
        return -b

    return integrate_group(
        xi,
        W0,
        t,
        rtol=rtol,
        atol=atol,
        method=method,
        dt=dt,
        coordinates=_COORDINATES[method],
        name="regularizing_flow",
        progress=progress,
        stats=stats,
    )


def kirwan_ness_flow(
    W0,
    t,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    method: str = "dop853",
    dt: float | None = None,
    progress: Callable | None = None,
    stats: dict | None = None,
) -> np.ndarray:
    """Kirwan-Ness flow W'_k = 2 (W_k G_{k-1} - G_k W_k) (LM eq. 1.22, Thm 10, Cor 1).

    W' = -w_{2G} = -grad_{F_X} (1/2)|G|^2: group velocity -2G, integrated on the
    group by a Runge-Kutta-Munthe-Kaas method, so X is conserved to round-off.
    Rank-deficient W0 is allowed (the flow is defined on all of M_d^N).

    Parameters
    ----------
    W0 : array_like, shape (..., N, d, d)
    t : array_like, shape (n_t,), t[0] = 0, strictly increasing
    rtol, atol, dt, progress, stats
        As in :func:`regularizing_flow`.
    method : {"dop853", "dp54", "rk4"}
        As in :func:`regularizing_flow`. ``"dop853"`` (RKMK 8(5,3), linear coordinates)
        takes 2.0-2.3 times fewer steps than ``"dp54"`` at the same W error <= 1e-10
        (d = 3, 4, N = 5, 6, t in [0, 30]; the Kirwan-Ness table of
        benchmarks/flow_before_after.py), although the fast modes of the flow (rates
        ~|W|^2) keep its steps near its stability bound, where many are rejected.

    Returns
    -------
    ndarray, shape (n_t, ..., N, d, d), same dtype as ``W0``.
    """
    W0 = as_layers(W0, "W0")
    t = check_times(t)
    check_integration(t, rtol, atol, dt, progress, stats, method=method)
    with np.errstate(over="ignore", invalid="ignore"):
        check_result(_moments(W0), "W0", W0)
    method = _group_method(method, dt)

    def xi(W):
        return -2.0 * _moments(W)

    return integrate_group(
        xi,
        W0,
        t,
        rtol=rtol,
        atol=atol,
        method=method,
        dt=dt,
        coordinates=_COORDINATES[method],
        name="kirwan_ness_flow",
        progress=progress,
        stats=stats,
    )


def _check_grad(grad_E, X: np.ndarray) -> None:
    if not callable(grad_E):
        raise DLNError(f"grad_E: expected a callable X -> grad E(X), got {type(grad_E).__name__}")
    g = call_checked(grad_E, "grad_E", X)
    if g.shape != X.shape:
        raise ShapeError(f"grad_E: returned shape {g.shape} for X of shape {X.shape}; it must return (..., d, d)")
    if np.iscomplexobj(g) and not np.iscomplexobj(X):
        raise DLNError("grad_E: returned complex values for a real X")
    if not np.all(np.isfinite(g)):
        raise DLNError("grad_E: returned NaN or Inf at the initial point")


def _check_kappa(kappa) -> float:
    try:
        k = float(kappa)
    except (TypeError, ValueError) as exc:
        raise DLNError(f"kappa: expected a real number >= 0, got {kappa!r}") from exc
    if not (np.isfinite(k) and k >= 0):
        raise DLNError(f"kappa: expected a finite real number >= 0, got {kappa!r}")
    return k


def _learning_field(grad_E, kappa: float):
    def f(W):
        P, Q = _partial_products(W)
        X = P[..., 0, :, :] @ W[..., 0, :, :]
        V = -_dphi_adjoint(P, Q, np.asarray(grad_E(X)))
        if kappa:
            V = V - kappa * W
        return V

    return f


def learning_flow(
    W0,
    grad_E: Callable[[np.ndarray], np.ndarray],
    t,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    method: str = "dp54",
    dt: float | None = None,
    progress: Callable | None = None,
    stats: dict | None = None,
) -> np.ndarray:
    """Learning flow W' = -grad_W E(X(W)) = -dphi^*(grad E(X)) (LM eq. 1.2).

    Conserves the moments G (LM-Cons) and leaves the balanced manifold invariant (LM-Inv).

    Parameters
    ----------
    W0 : array_like, shape (..., N, d, d)
    grad_E : callable, (..., d, d) -> (..., d, d)
        Euclidean gradient of the loss E at X (Re Tr inner product).
    t : array_like, shape (n_t,), t[0] = 0, strictly increasing
    rtol, atol : float
        Local error tolerances of the adaptive Dormand-Prince 5(4) integrator
        (per-entry scale atol + rtol |W|, RMS per batch item).
    method : {"dp54", "rk4"}
        Adaptive DP5(4) or fixed-step classical RK4 (needs ``dt``).
    dt, progress, stats
        As in :func:`regularizing_flow`.

    Returns
    -------
    ndarray, shape (n_t, ..., N, d, d), same dtype as ``W0``.
    """
    return _integrate_learning("learning_flow", W0, grad_E, 0.0, t, rtol, atol, method, dt, progress, stats)


def regularized_flow(
    W0,
    grad_E: Callable[[np.ndarray], np.ndarray],
    kappa: float,
    t,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    method: str = "dp54",
    dt: float | None = None,
    progress: Callable | None = None,
    stats: dict | None = None,
) -> np.ndarray:
    """Regularized learning flow W' = -dphi^*(grad E(X)) - kappa W (LM eq. 4.1).

    For any E the moments obey G(t) = G_0 e^{-2 kappa t}.

    Parameters
    ----------
    W0 : array_like, shape (..., N, d, d)
    grad_E : callable, (..., d, d) -> (..., d, d)
    kappa : float >= 0
        Weight-decay strength (gradient of (kappa/2)|W|^2).
    t : array_like, shape (n_t,), t[0] = 0, strictly increasing
    rtol, atol, method, dt, progress, stats
        As in :func:`learning_flow`.

    Returns
    -------
    ndarray, shape (n_t, ..., N, d, d), same dtype as ``W0``.
    """
    kappa = _check_kappa(kappa)
    return _integrate_learning("regularized_flow", W0, grad_E, kappa, t, rtol, atol, method, dt, progress, stats)


def _integrate_learning(name, W0, grad_E, kappa, t, rtol, atol, method, dt, progress, stats) -> np.ndarray:
    """Shared body of :func:`learning_flow` (kappa = 0) and :func:`regularized_flow`."""
    W0 = as_layers(W0, "W0")
    t = check_times(t)
    check_integration(t, rtol, atol, dt, progress, stats, method=method)
    if kappa * t[-1] > 3e6:
        raise DLNError(f"kappa: kappa t = {kappa * t[-1]:.3g}: the decay is too stiff for an explicit integrator")
    _check_grad(grad_E, _x0(W0))
    return integrate_vector(
        _learning_field(grad_E, kappa),
        W0,
        t,
        n_state_axes=3,
        rtol=rtol,
        atol=atol,
        method=method,
        dt=dt,
        name=name,
        progress=progress,
        stats=stats,
    )


def end_to_end_flow(
    X0,
    grad_E: Callable[[np.ndarray], np.ndarray],
    N: int,
    t,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    method: str = "dp54",
    dt: float | None = None,
    progress: Callable | None = None,
    stats: dict | None = None,
) -> np.ndarray:
    """Induced end-to-end flow X' = -A_{N,X}(grad E(X)) (LM Remark 5; Menon-Yu).

    A_{N,X}(P) = sum_{j=1}^N (X X^*)^{(N-j)/N} P (X^* X)^{(j-1)/N}. From a balanced
    start this is the end-to-end matrix of :func:`learning_flow`.

    Parameters
    ----------
    X0 : array_like, shape (..., d, d), full rank
    grad_E : callable, (..., d, d) -> (..., d, d)
    N : int >= 1
        Number of layers.
    t : array_like, shape (n_t,), t[0] = 0, strictly increasing
    rtol, atol, method, dt, progress, stats
        As in :func:`learning_flow` (scale atol + rtol |X|).

    Returns
    -------
    ndarray, shape (n_t, ..., d, d), same dtype as ``X0``.

    Raises
    ------
    RankDeficientError
        If X0 (or X(t) along the way) is numerically singular.
    """
    X0 = as_square(X0, "X0")
    N = _check_N(N)
    t = check_times(t)
    check_integration(t, rtol, atol, dt, progress, stats, method=method)
    check_full_rank(X0, "X0")
    _check_grad(grad_E, X0)
    try:
        A_operator(X0, np.asarray(grad_E(X0)), N)
    except DLNError as exc:
        raise type(exc)(f"X0: the velocity at X0 cannot be evaluated ({exc})") from None

    def f(X):
        return -A_operator(X, np.asarray(grad_E(X)), N).astype(X.dtype, copy=False)

    return integrate_vector(
        f,
        X0,
        t,
        n_state_axes=2,
        rtol=rtol,
        atol=atol,
        method=method,
        dt=dt,
        name="end_to_end_flow",
        progress=progress,
        stats=stats,
    )
