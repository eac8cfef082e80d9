"""Schatten-p minimization on fibers (LM Thm 1, Thm 20 and the open case p = 1, LM Section 3.4).

Objective (LM eq. 3.8): ||W||_p := sum_k ||W_k||_{S_p}, the *sum of Schatten norms* (``objective="norms"``),
or the sum of p-th powers sum_k ||W_k||_{S_p}^p (``objective="powers"``; for p = 2 this is ||W||^2 of LM eq. 1.4).

Closed forms (claims LM-Thm20, LM-p1, derived with Schatten-Hoelder ||X||_{p/N} <= prod_k ||W_k||_p,
valid for every p > 0, and AM-GM; equality on the minimizing orbit O_X):

- norms:  min_{F_X} sum_k ||W_k||_p   = N (sum_i sigma_i^{p/N})^{1/p};
- powers: min_{F_X} sum_k ||W_k||_p^p = N  sum_i sigma_i^{p/N}.

Parametrization: group coordinates around the current point, W(A) = A.W_cur with A = I + a (LM eq. 1.6),
re-centred (W_cur <- A.W_cur, a <- 0) after every L-BFGS run, so the optimizer always works near the identity
where the coordinates are well conditioned. The gradient is analytic: with the Euclidean gradient grad_k of the
objective and the Lie gradient g_k = grad_k W_k^* - W_{k+1}^* grad_{k+1} (the adjoint of the orbit map applied to
grad), d f / d A_k = g_k A_k^{-*}. Complex matrices are handled as pairs of real coordinates (Re a, Im a), which
is the real Euclidean structure <A, B> = Re Tr(A^* B). Each outer iteration ends with a Newton polish on the
Hessian in these coordinates (finite differences of the analytic gradient, pseudo-inverse to step over the flat
directions of the unitary orbit), which brings the Lie gradient to round-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._action import _check_N, center
from ._errors import (
    DLNError,
    ShapeError,
    as_int,
    as_real,
    as_rng,
    as_square,
    check_full_rank,
    check_result,
    finite_result,
)
from ._linalg import H
from ._product import end_to_end, moments

__all__ = [
    "SchattenResult",
    "schatten_closed_form",
    "schatten_objective",
    "schatten_hessian",
    "schatten_minimize",
]

OBJECTIVES = ("norms", "powers")

#: L-BFGS stops at this relative gradient; the Newton polish takes it to round-off (quadratic convergence).
_LBFGS_GTOL = 1e-6


def _check_p(p) -> float:
    try:
        pf = float(p)
    except (TypeError, ValueError) as exc:
        raise DLNError(f"p: expected a positive real Schatten exponent, got {p!r}") from exc
    if not np.isfinite(pf) or pf <= 0.0:
        raise DLNError(f"p: the Schatten exponent must be finite and > 0, got p = {p!r}")
    return pf


def _check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise DLNError(f"objective: expected one of {OBJECTIVES}, got {objective!r}")
    return objective


def schatten_closed_form(X, N: int, p: float, objective: str = "norms") -> np.ndarray:
    """Minimum over the fiber F_X of the Schatten objective (LM Thm 1, Thm 20; claim LM-Thm20).

    Parameters
    ----------
    X : array_like, shape (..., d, d)
        End-to-end matrices (full rank for the minimum to be attained on O_X).
    N : int >= 2
        Number of layers.
    p : float > 0
        Schatten exponent.
    objective : {"norms", "powers"}
        ``"norms"``: sum_k ||W_k||_{S_p}, minimum N (sum_i sigma_i^{p/N})^{1/p};
        ``"powers"``: sum_k ||W_k||_{S_p}^p, minimum N sum_i sigma_i^{p/N}.

    Returns
    -------
    ndarray, shape (...)
    """
    X = as_square(X, "X")
    N = _check_N(N)
    p = _check_p(p)
    _check_objective(objective)
    s = np.linalg.svd(X, compute_uv=False)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        total = np.sum(s ** (p / N), axis=-1)
        out = N * total ** (1.0 / p) if objective == "norms" else N * total
    return check_result(out, "X, p", s)


def _objective(W: np.ndarray, p: float, objective: str, grad: bool = True):
    """Value (shape (...)) and Euclidean gradient (shape of W) of the Schatten objective, batched."""
    U, s, Vh = np.linalg.svd(W)
    sp = s**p  # (..., N, d)
    tot = sp.sum(axis=-1)  # (..., N)
    if objective == "norms":
        nrm = tot ** (1.0 / p)
        val = nrm.sum(axis=-1)
        if not grad:
            return val, None
        coef = (nrm ** (1.0 - p))[..., None] * s ** (p - 1.0)
    else:
        val = tot.sum(axis=-1)
        if not grad:
            return val, None
        coef = p * s ** (p - 1.0)
    G = (U * coef[..., None, :]) @ Vh
    return val, G


def schatten_objective(W, p: float, objective: str = "norms"):
    """The Schatten objective and its Euclidean gradient.

    Parameters
    ----------
    W : array_like, shape (..., N, d, d), layers with full-rank W_k (smoothness needs s_i(W_k) > 0 when p <= 1)
    p : float > 0
    objective : {"norms", "powers"}

    Returns
    -------
    value : ndarray, shape (...)
    grad : ndarray, shape (..., N, d, d); grad_k = ||W_k||_p^{1-p} U_k S_k^{p-1} V_k^* for "norms",
        p U_k S_k^{p-1} V_k^* for "powers" (W_k = U_k S_k V_k^*).
    """
    from ._errors import as_layers

    W = as_layers(W, "W")
    p = _check_p(p)
    objective = _check_objective(objective)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        return check_result(_objective(W, p, objective), "W, p", W)


def _lie_gradient(W: np.ndarray, G: np.ndarray) -> np.ndarray:
    """g_k = G_k W_k^* - W_{k+1}^* G_{k+1}, k = 1..N-1 (adjoint of the orbit map)."""
    return G[..., :-1, :, :] @ H(W[..., :-1, :, :]) - H(W[..., 1:, :, :]) @ G[..., 1:, :, :]


def _act(A: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(A.W)_k = A_k W_k A_{k-1}^{-1} without validation; also returns A^{-1}."""
    Ainv = np.linalg.inv(A)
    batch = np.broadcast_shapes(A.shape[:-3], W.shape[:-3])
    out = np.array(np.broadcast_to(W, batch + W.shape[-3:]), dtype=np.result_type(A, W))
    out[..., :-1, :, :] = A @ out[..., :-1, :, :]
    out[..., 1:, :, :] = out[..., 1:, :, :] @ Ainv
    return out, Ainv


class _Coords:
    """Real coordinates x of a in gl(d)^{N-1} (complex: real parts then imaginary parts)."""

    def __init__(self, N: int, d: int, complex_: bool):
        self.shape = (N - 1, d, d)
        self.m = (N - 1) * d * d
        self.complex_ = complex_
        self.n = 2 * self.m if complex_ else self.m

    def unpack(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        batch = x.shape[:-1]
        if self.complex_:
            return (x[..., : self.m] + 1j * x[..., self.m :]).reshape(batch + self.shape)
        return x.reshape(batch + self.shape)

    def pack(self, a: np.ndarray) -> np.ndarray:
        batch = a.shape[:-3]
        flat = a.reshape(batch + (self.m,))
        if self.complex_:
            return np.concatenate([flat.real, flat.imag], axis=-1)
        return np.real(flat)


def _value_and_grad_A(W: np.ndarray, a: np.ndarray, p: float, objective: str):
    """f(A.W) and df/dA (A = I + a), batched over leading axes of a."""
    d = W.shape[-1]
    A = np.eye(d) + a
    Wa, Ainv = _act(A, W)
    val, G = _objective(Wa, p, objective)
    g = _lie_gradient(Wa, G)
    return val, g @ H(Ainv)


def schatten_hessian(W, p: float, objective: str = "norms", h: float = 1e-5) -> np.ndarray:
    """Hessian of a -> f((I + a).W) at a = 0 in real coordinates (central differences of the analytic gradient).

    At a critical point of f on the fiber this equals the Hessian in exponential coordinates
    a -> f(exp(a).W) (the two charts agree to second order up to a term proportional to the gradient).

    Parameters
    ----------
    W : array_like, shape (N, d, d)
    p : float > 0
    objective : {"norms", "powers"}
    h : float
        Finite-difference step (relative error ~ h^2 + eps/h ~ 1e-10).

    Returns
    -------
    ndarray, shape (n, n) symmetric, n = (N-1) d^2 (real) or 2 (N-1) d^2 (complex; coordinates Re a then Im a).
    """
    from ._errors import as_layers

    W = as_layers(W, "W")
    if W.ndim != 3:
        raise ShapeError(f"W: expected a single point of shape (N, d, d), got shape {W.shape}")
    p = _check_p(p)
    objective = _check_objective(objective)
    h = as_real(h, "h", low=0.0, low_open=True, high=0.1)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        try:
            H = _hessian(W, p, objective, h)
        except np.linalg.LinAlgError as exc:
            raise DLNError(f"W, p, h: the Hessian cannot be evaluated at this scale ({exc})") from exc
    return check_result(H, "W, p, h", W)


def _hessian(W: np.ndarray, p: float, objective: str, h: float = 1e-5) -> np.ndarray:
    N, d = W.shape[-3], W.shape[-1]
    co = _Coords(N, d, np.iscomplexobj(W))
    E = np.eye(co.n)
    steps = np.concatenate([h * E, -h * E], axis=0)
    _, gA = _value_and_grad_A(W, co.unpack(steps), p, objective)
    gx = co.pack(gA)
    Hm = (gx[: co.n] - gx[co.n :]) / (2.0 * h)
    return 0.5 * (Hm + Hm.T)


@dataclass
class SchattenResult:
    """Result of :func:`schatten_minimize`.

    Attributes
    ----------
    W : ndarray, shape (N, d, d)
        The minimizer found (best over restarts), a point of F_X.
    value : float
        Objective at ``W``.
    closed_form : float
        The closed-form minimum (:func:`schatten_closed_form`).
    rel_gap : float
        (value - closed_form) / closed_form (>= -round-off).
    G_norm : float
        Frobenius norm of the moments G(W) at the minimizer.
    G_rel : float
        |G| / |W|^2 (scale-free balancedness defect).
    grad_rel : float
        |Lie gradient| / value at the minimizer (first-order optimality on the fiber).
    X_err : float
        |phi(W) - X| / |X| (the minimizer stays on the fiber).
    iterations : int
        L-BFGS iterations of the best restart (summed over outer iterations).
    newton_steps : int
        Newton polish steps of the best restart.
    restart_values, restart_gaps, restart_G_rel : ndarray, shape (n_restarts,)
        Per-restart value, relative gap and |G|/|W|^2.
    restart_W : ndarray, shape (n_restarts, N, d, d)
        Per-restart minimizer.
    converged : bool
        Whether the best restart reached ``gtol``.
    p : float
    N : int
    objective : str
    """

    W: np.ndarray
    value: float
    closed_form: float
    rel_gap: float
    G_norm: float
    G_rel: float
    grad_rel: float
    X_err: float
    iterations: int
    newton_steps: int
    restart_values: np.ndarray = field(repr=False)
    restart_gaps: np.ndarray = field(repr=False)
    restart_G_rel: np.ndarray = field(repr=False)
    restart_W: np.ndarray = field(repr=False, default=None)
    converged: bool = True
    p: float = 2.0
    N: int = 2
    objective: str = "norms"


def _minimize_from(W0: np.ndarray, p: float, objective: str, gtol: float, max_outer: int, maxiter: int):
    """L-BFGS in group coordinates re-centred each outer iteration, then Newton polish."""
    from scipy.optimize import minimize

    N, d = W0.shape[-3], W0.shape[-1]
    co = _Coords(N, d, np.iscomplexobj(W0))
    W = W0
    iters = 0
    newton = 0

    def lie_rel(Wc):
        val, G = _objective(Wc, p, objective)
        g = _lie_gradient(Wc, G)
        return float(np.sqrt(np.sum(np.abs(g) ** 2)) / val), float(val)

    rel, val = lie_rel(W)
    for _ in range(max_outer):
        if rel <= gtol:
            break
        scale = val

        def fun(x, W=W, scale=scale):
            v, gA = _value_and_grad_A(W, co.unpack(x), p, objective)
            return float(v) / scale, co.pack(gA) / scale

        res = minimize(
            fun,
            np.zeros(co.n),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": maxiter, "gtol": 0.1 * max(gtol, _LBFGS_GTOL), "ftol": 1e-300, "maxcor": 30},
        )
        iters += int(res.nit)
        a = co.unpack(res.x)
        if np.all(np.isfinite(a)) and float(np.linalg.svd(np.eye(d) + a, compute_uv=False)[..., -1].min()) > 1e-8:
            W, _ = _act(np.eye(d) + a, W)
        rel_new, val = lie_rel(W)
        # Newton polish near the minimum (quadratic convergence; pinv steps over the orbit's flat directions).
        if rel_new < 1e-3:
            for _ in range(6):
                if rel_new <= gtol:
                    break
                Hm = _hessian(W, p, objective)
                _, gA = _value_and_grad_A(W, np.zeros(co.shape), p, objective)
                step = -np.linalg.pinv(Hm, rcond=1e-9, hermitian=True) @ co.pack(gA)
                A = np.eye(d) + co.unpack(step)
                W_try, _ = _act(A, W)
                rel_try, val_try = lie_rel(W_try)
                if not (rel_try < rel_new and val_try <= val * (1 + 1e-13)):
                    break
                W, rel_new, val = W_try, rel_try, val_try
                newton += 1
        if rel_new >= rel * 0.999 and rel_new > gtol:
            rel = rel_new
            break  # no progress: stop
        rel = rel_new
    return W, val, rel, iters, newton


@finite_result("p", "N")
def schatten_minimize(
    X,
    N: int,
    p: float,
    rng: np.random.Generator | None = None,
    n_restarts: int = 3,
    A0=None,
    gtol: float = 1e-12,
    objective: str = "norms",
    max_outer: int = 20,
    maxiter: int = 2000,
    spread: float = 0.7,
) -> SchattenResult:
    """Minimize the sum of Schatten-p norms of the layers over the fiber F_X (LM Thm 1, Thm 20, p = 1).

    Parameters
    ----------
    X : array_like, shape (d, d)
        Full-rank end-to-end matrix (real or complex; a single problem, no batch axes).
    N : int >= 2
        Number of layers.
    p : float > 0
        Schatten exponent (LM: 1 < p < infinity; p = 1 is the open case; 0 < p < 1 is accepted, the closed-form
        value still being a lower bound by Schatten-Hoelder).
    rng : numpy.random.Generator, optional
        Source of the random starting points A.C with A_k = exp(spread Z_k / sqrt(d)), Z_k Gaussian (complex
        Gaussian for complex X). Required when ``A0`` is not given (a DLNError is raised otherwise).
    n_restarts : int >= 1
        Number of random starting points (ignored when ``A0`` is given: each A0[r] is one restart).
    A0 : array_like, shape (N-1, d, d) or (R, N-1, d, d), optional
        Explicit starting group elements: the starts are A0.C, C = center(X, N).
    gtol : float
        Stop when |Lie gradient| / value <= gtol.
    objective : {"norms", "powers"}
        Sum of Schatten norms (LM eq. 3.8; default) or sum of their p-th powers (p = 2: ||W||^2).
    max_outer, maxiter : int
        Outer re-centring iterations and L-BFGS iterations per outer iteration.
    spread : float
        Scale of the random starting group elements.

    Returns
    -------
    SchattenResult
        The best restart's minimizer and diagnostics, plus per-restart values, gaps and |G|/|W|^2.

    Notes
    -----
    For large p and ill-conditioned X (roughly cond(X)^{p/N} > 1e10) the objective is numerically flat in the
    directions that move the small singular values, L-BFGS stalls at |Lie gradient|/value ~ 1e-7 and the result
    has ``converged = False`` (seen for p = 8, N = 4, cond(X) = 1e6: gap 4e-9, |G|/|W|^2 ~ 1e-3).

    Examples
    --------
    >>> import numpy as np, dln
    >>> X = np.array([[2.0, 1.0], [0.0, 1.0]])
    >>> r = dln.schatten_minimize(X, 3, 1.0, rng=np.random.default_rng(0))
    >>> abs(r.rel_gap) < 1e-10 and r.G_rel < 1e-7
    True
    """
    X = as_square(X, "X")
    if X.ndim != 2:
        raise ShapeError(f"X: expected a single d x d matrix, got shape {X.shape} (loop over batches explicitly)")
    N = _check_N(N)
    p = _check_p(p)
    objective = _check_objective(objective)
    check_full_rank(X, "X")
    if isinstance(n_restarts, bool) or not isinstance(n_restarts, int | np.integer) or n_restarts < 1:
        raise DLNError(f"n_restarts: expected an integer >= 1, got {n_restarts!r}")
    n_restarts = as_int(n_restarts, "n_restarts", low=1, high=10**6)
    gtol = as_real(gtol, "gtol", low=0.0, low_open=True)
    max_outer = as_int(max_outer, "max_outer", low=1, high=10**6)
    maxiter = as_int(maxiter, "maxiter", low=1, high=10**9)
    spread = as_real(spread, "spread", low=0.0, high=50.0)
    rng = None if rng is None else as_rng(rng)
    d = X.shape[-1]
    C = center(X, N)
    complex_ = np.iscomplexobj(X)
    if A0 is not None:
        from ._errors import as_layers

        A0 = as_layers(A0, "A0", min_layers=1)
        if A0.shape[-3:] != (N - 1, d, d) or A0.ndim > 4:
            raise ShapeError(f"A0: expected shape (N-1, d, d) = {(N - 1, d, d)} or (R, N-1, d, d), got {A0.shape}")
        starts = A0.reshape((-1, N - 1, d, d))
        if starts.shape[0] < 1:
            raise ShapeError(f"A0: expected at least one starting point, got shape {A0.shape}")
        from ._action import _check_group

        _check_group(starts, "A0")
    else:
        if rng is None:
            raise DLNError("rng: a numpy.random.Generator is needed for random starts when A0 is not given")
        from ._linalg import expm
        from ._random import random_matrix

        Z = random_matrix(rng, (int(n_restarts), N - 1, d, d), "complex" if complex_ else "real")
        starts = expm(spread * Z / np.sqrt(d))
    cf = float(schatten_closed_form(X, N, p, objective))
    runs = []
    for A in starts:
        W0, _ = _act(A, C)
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            start = _objective(W0, p, objective)
        if not (np.all(np.isfinite(W0)) and np.all(np.isfinite(start[1]))):
            raise DLNError(
                f"{'X' if A0 is None else 'A0'}: the objective or its gradient at the starting point A.C "
                f"overflows (largest |A_ij| {float(np.max(np.abs(A))):.3g})"
            )
        runs.append(_minimize_from(W0, p, objective, gtol, max_outer, maxiter))
    vals = np.array([r[1] for r in runs])
    Wbest, val, rel, iters, newton = runs[int(np.argmin(vals))]
    G_rel = np.array([float(np.linalg.norm(moments(r[0])) / np.sum(np.abs(r[0]) ** 2)) for r in runs])
    if not (np.all(np.isfinite(Wbest)) and np.isfinite(val) and np.isfinite(rel)):
        raise DLNError(
            f"X: the Schatten minimization left the floating-point range (objective {float(val)!r}, relative "
            f"gradient {float(rel)!r}); the entries of X (largest {float(np.max(np.abs(X))):.3g}) are too large or "
            f"too small for p = {p:g}: rescale X"
        )
    G = moments(Wbest)
    Gn = float(np.linalg.norm(G))
    Xw = end_to_end(Wbest)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # reported below, by name
        X_err = float(np.linalg.norm(Xw - X) / np.linalg.norm(X))
    if not np.isfinite(X_err):
        raise DLNError(
            f"X: the minimizer's end-to-end error is not finite (largest |X_ij| = {float(np.max(np.abs(X))):.3g}): "
            "rescale X"
        )
    return SchattenResult(
        W=Wbest,
        value=float(val),
        closed_form=cf,
        rel_gap=float((val - cf) / cf),
        G_norm=Gn,
        G_rel=Gn / float(np.sum(np.abs(Wbest) ** 2)),
        grad_rel=float(rel),
        X_err=X_err,
        iterations=int(iters),
        newton_steps=int(newton),
        restart_values=vals,
        restart_gaps=(vals - cf) / cf,
        restart_G_rel=G_rel,
        restart_W=np.array([r[0] for r in runs]),
        converged=bool(rel <= gtol),
        p=p,
        N=N,
        objective=objective,
    )
