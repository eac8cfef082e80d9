"""Fast-slow regularized training (LM section 4.1): full flow vs the reduced flow on the balanced manifold.

Full flow (LM eq. 4.1): W' = -dphi^*(grad E(X)) - kappa W, integrated with :func:`dln.regularized_flow`
from unbalanced starts W_0(s) = exp(s a).C on the fiber of X_0 (C the centre, a a fixed random direction
of gl(d)^{N-1}, so |G_0| grows with the imbalance level s while X_0 is the same for every start).

Reduced flow on the balanced manifold (claim LM-4.1):
X' = -A_{N,X}(grad E(X)) - N kappa X = -grad_{g^N}[E + (kappa N/2) sum_i sigma_i^{2/N}], integrated with
:func:`dln.end_to_end_flow` applied to the gradient of the augmented loss (the Euclidean gradient of
(kappa N/2) sum sigma_i^{2/N} is kappa U Sigma^{2/N-1} V^*, and A_{N,X} of it is N kappa X).

Losses: ``"quadratic"`` E = (1/2)|X - Phi|^2 (spectral), ``"completion"`` E = (1/2)|M o (X - Phi)|^2 with a
random 0/1 mask M (matrix completion, not spectral).

Measured: G(t) against G_0 e^{-2 kappa t} (exact for every loss), the shadowing error
sup_t |X_full(t) - X_red(t)| / sup_t |X_red(t)| against |G_0| and kappa, the time to balance and the two
rates of the fast-slow picture (2 kappa for balancing, the slowest relaxation rate of the reduced flow
for learning).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .._action import act, center
from .._errors import DLNError
from .._linalg import H, expm, norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_matrix, rng_from_params
from ._conventions import drawing_toolkit, finalize_job
from ._spec import Spec, param

FAMILY = __name__.rsplit(".", 1)[-1]

SPEC = Spec(
    param("N", 3, sweep=True),
    param("d", 3, sweep=True),
    param("field", "real", sweep=True),
    param("seed", 0, sweep=True),
    param("kappa", 0.3, sweep=True, exclusive_minimum=True),
    param(
        "loss",
        "quadratic",
        sweep=True,
        kind="string",
        choices=("quadratic", "completion"),
        description="training loss: quadratic E = |X - Phi|^2/2 or masked matrix completion",
    ),
    param("T", 6.0),
    param("n_t", 61),
    param(
        "imbalance_min",
        0.05,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        maximum=10,
        description="smallest imbalance level s of the unbalanced starts exp(s a).C",
    ),
    param(
        "imbalance_max",
        0.8,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        maximum=10,
        description="largest imbalance level s of the unbalanced starts exp(s a).C",
    ),
    param("n_imbalance", 4, kind="integer", minimum=1, maximum=100, description="number of imbalance levels"),
    param(
        "mask_density",
        0.6,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        maximum=1,
        description="fraction of observed entries of the completion mask",
    ),
    param("rtol", 1e-11),
    param(
        "balance_tol",
        1e-2,
        kind="number",
        minimum=0,
        exclusive_minimum=True,
        maximum=1,
        description="relative imbalance |G|/|W|^2 below which a trajectory counts as balanced",
    ),
    rules=("imbalance_min <= imbalance_max", "n_imbalance == 1 or imbalance_min < imbalance_max"),
)

#: Title, summary and references of the family's dataset (all jobs).
TITLE = "Fast-slow regularized training (LM section 4.1), all jobs"
SUMMARY = (
    "Shadowing error of the reduced flow vs kappa and |G_0|, G(t) = G_0 exp(-2 kappa t), time to balance, "
    "the fold and the balancing window of the reduced flow."
)
REFERENCES = ["LM"]

#: Integration tolerances of the reference runs (relative, absolute).
RTOL = 1e-11
ATOL = 1e-13


def _flows():
    """The flows of :mod:`dln` (imported lazily: ``dln.regularized_flow``, ``dln.end_to_end_flow``)."""
    import dln

    return dln.regularized_flow, dln.end_to_end_flow


def quadratic_loss(Phi: np.ndarray):
    """E(X) = (1/2)|X - Phi|^2 and its gradient X - Phi (both broadcast over leading axes)."""

    def E(X):
        return 0.5 * sqnorm(X - Phi)

    def grad(X):
        return X - Phi

    return E, grad


def completion_loss(Phi: np.ndarray, mask: np.ndarray):
    """E(X) = (1/2)|M o (X - Phi)|^2 (0/1 mask M) and its gradient M o (X - Phi)."""
    M = np.asarray(mask, dtype=float)

    def E(X):
        return 0.5 * sqnorm(M * (X - Phi))

    def grad(X):
        return M * (X - Phi)

    return E, grad


def penalty_gradient(X: np.ndarray, N: int, kappa: float) -> np.ndarray:
    """Euclidean gradient of (kappa N/2) sum_i sigma_i(X)^{2/N}: kappa U Sigma^{2/N - 1} V^*, shape (..., d, d)."""
    U, s, Vh = np.linalg.svd(X)
    return kappa * (U * (s ** (2.0 / N - 1.0))[..., None, :]) @ Vh


def reduced_flow(X0, grad_E, N: int, kappa: float, t, rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    """Reduced flow on the balanced manifold X' = -A_{N,X}(grad E(X)) - N kappa X (claim LM-4.1).

    Integrated as the g^N gradient flow of E + (kappa N/2) sum sigma_i^{2/N} with :func:`dln.end_to_end_flow`.

    Returns
    -------
    ndarray, shape (len(t), ..., d, d)
    """
    _, e2e = _flows()

    def g(X):
        return np.asarray(grad_E(X)) + penalty_gradient(X, N, kappa).astype(X.dtype, copy=False)

    return e2e(X0, g, N, t, rtol=rtol, atol=atol)


def reduced_field(X: np.ndarray, grad_E, N: int, kappa: float) -> np.ndarray:
    """Right-hand side -A_{N,X}(grad E(X)) - N kappa X of the reduced flow."""
    from .._metric import A_operator

    return -A_operator(X, grad_E(X), N) - N * kappa * X


def slowest_rate(X: np.ndarray, grad_E, N: int, kappa: float, h: float = 1e-6) -> float:
    """Slowest relaxation rate min_i |Re lambda_i| of the reduced flow linearized at X (central FD Jacobian).

    X is a single (d, d) matrix; complex X is treated as a point of R^{2 d^2}.
    """
    cplx = np.iscomplexobj(X)
    x0 = np.concatenate([X.real.ravel(), X.imag.ravel()]) if cplx else X.ravel().copy()
    n = x0.size

    def unpack(v):
        if cplx:
            m = n // 2
            return (v[:m] + 1j * v[m:]).reshape(X.shape)
        return v.reshape(X.shape)

    def pack(Y):
        return np.concatenate([Y.real.ravel(), Y.imag.ravel()]) if cplx else Y.ravel()

    J = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        J[:, j] = (
            pack(reduced_field(unpack(x0 + e), grad_E, N, kappa))
            - pack(reduced_field(unpack(x0 - e), grad_E, N, kappa))
        ) / (2 * h)
    return float(np.min(np.abs(np.linalg.eigvals(J).real)))


def make_problem(params: dict, rng: np.random.Generator):
    """Target Phi, mask, start X_0, direction a and the loss for one job."""
    d, field = int(params["d"]), params["field"]
    Q1 = np.linalg.qr(random_matrix(rng, (d, d), field))[0]
    Q2 = np.linalg.qr(random_matrix(rng, (d, d), field))[0]
    # Target singular values in [2, 3]: for N >= 3 the penalty sigma^{2/N} is concave and the reduced flow has a
    # saddle-node at kappa_c ~ max_s s^{1-2/N} (phi - s) (about 1.1 for phi = 2, N = 3, 4); beyond it small singular
    # values collapse to 0. The defaults stay below it.
    Phi = (Q1 * np.linspace(2.0, 3.0, d)[None, :]) @ H(Q2)
    R1 = np.linalg.qr(random_matrix(rng, (d, d), field))[0]
    R2 = np.linalg.qr(random_matrix(rng, (d, d), field))[0]
    X0 = (R1 * np.linspace(0.6, 1.2, d)[None, :]) @ H(R2)
    a = random_matrix(rng, (int(params["N"]) - 1, d, d), field)
    a = a / norm(a, 3)
    # observed entries: the diagonal (every row and column observed, so the problem is well posed) and a random
    # fraction mask_density of the others, with at least one off-diagonal entry unobserved (d >= 2), so that
    # completion differs from the quadratic loss
    mask = np.eye(d)
    off = np.flatnonzero(~np.eye(d, dtype=bool))
    n_hidden = min(off.size, max(1, int(round((1.0 - float(params.get("mask_density", 0.6))) * off.size))))
    mask.flat[off] = 1.0
    mask.flat[rng.choice(off, n_hidden, replace=False)] = 0.0
    loss = params.get("loss", "quadratic")
    if loss == "quadratic":
        E, grad = quadratic_loss(Phi)
    elif loss == "completion":
        E, grad = completion_loss(Phi, mask)
    else:
        raise DLNError(f"loss: expected 'quadratic' or 'completion', got {loss!r}")
    return Phi, mask, X0, a, E, grad


def run(params: dict) -> dict:
    """Integrate the full and reduced flows for one job; return the raw arrays (used by simulate and the ledger)."""
    p = SPEC.resolve(params, FAMILY)
    # The problem (Phi, mask, X_0, direction a) depends only on these keys, so that sweeps over kappa and
    # the loss compare the same starts.
    rng = rng_from_params(family=FAMILY, **{k: p[k] for k in ("N", "d", "field", "seed", "mask_density")})
    N, kappa, T = int(p["N"]), float(p["kappa"]), float(p["T"])
    rtol = float(p.get("rtol", RTOL))
    Phi, mask, X0, a, E, grad = make_problem(p, rng)
    s = np.geomspace(float(p["imbalance_min"]), float(p["imbalance_max"]), int(p["n_imbalance"]))
    C = center(X0, N)
    starts = np.concatenate([C[None], act(expm(s[:, None, None, None] * a), C)])  # (1 + n_s, N, d, d)
    t = np.linspace(0.0, T, int(p["n_t"]))
    reg_flow, _ = _flows()
    Wt = reg_flow(starts, grad, kappa, t, rtol=rtol, atol=rtol * 1e-2)  # (n_t, 1 + n_s, N, d, d)
    Xr, n_reduced = _reduced_until_rank_loss(X0, grad, N, kappa, t, rtol)  # (n_t, d, d), NaN after n_reduced
    Xf = end_to_end(Wt)
    G = moments(Wt)
    G0 = moments(starts)  # from the starts, not from the integrator's output
    decay = np.exp(-2.0 * kappa * t)[:, None, None, None, None]
    G_err = norm(G - decay * G0, 3)  # (n_t, 1 + n_s)
    return {
        "p": p,
        "t": t,
        "s": s,
        "Wt": Wt,
        "Xf": Xf,
        "Xr": Xr,
        "n_reduced": n_reduced,
        "G": G,
        "G0": G0,
        "G_err": G_err,
        "E": E,
        "grad": grad,
        "Phi": Phi,
        "mask": mask,
        "X0": X0,
    }


def _reduced_until_rank_loss(X0, grad, N: int, kappa: float, t: np.ndarray, rtol: float):
    """The reduced flow at the times ``t`` up to the first interval where X(t) becomes numerically singular.

    Beyond the fold a singular value of X collapses to 0, where the reduced flow is not defined (A_{N,X} needs
    a full-rank X). Returns ``(Xr, n)``: the first ``n`` states, NaN after them.
    """
    from .._errors import RankDeficientError

    try:
        return reduced_flow(X0, grad, N, kappa, t, rtol=rtol, atol=rtol * 1e-2), t.size
    except RankDeficientError:
        pass
    out = [np.asarray(X0)]
    for k in range(1, t.size):  # restart at each saved time (the flow is autonomous) until it fails
        try:
            seg = reduced_flow(out[-1], grad, N, kappa, t[k - 1 : k + 1] - t[k - 1], rtol=rtol, atol=rtol * 1e-2)
        except RankDeficientError:
            break
        out.append(seg[-1])
    Xr = np.full((t.size,) + np.shape(X0), np.nan, dtype=np.result_type(X0, float))
    Xr[: len(out)] = out
    return Xr, len(out)


def _crossing_time(t: np.ndarray, y: np.ndarray, level: float) -> tuple[float, bool]:
    """First time y(t) <= level by log-linear interpolation, and whether it happens within t (else (T, False))."""
    below = np.nonzero(y <= level)[0]
    if below.size == 0:
        return float(t[-1]), False
    i = below[0]
    if i == 0:
        return 0.0, True
    y0, y1 = np.log(y[i - 1]), np.log(y[i])
    return float(t[i - 1] + (np.log(level) - y0) / (y1 - y0) * (t[i] - t[i - 1])), True


# ------------------------------------------------------------------------------------------------------------
# The reduced flow of one singular value (E = |X - Phi|^2 / 2, X aligned with Phi): fold and time scales
# ------------------------------------------------------------------------------------------------------------


def fold(phi: float, N: int) -> tuple[float, float]:
    """(sigma_f, kappa_c): the maximum of g(s) = s^{1-2/N} (phi - s), where the stable equilibrium of
    s' = -N s^{2-2/N} (s - phi) - N kappa s meets the unstable one (a saddle-node for N >= 3; for N = 2 the
    equilibria s = phi - kappa and 0 cross at kappa = phi). Beyond kappa_c the singular value collapses to 0.
    """
    s_f = phi * (N - 2) / (2 * N - 2)
    return s_f, float(s_f ** (1.0 - 2.0 / N) * (phi - s_f)) if N > 2 else float(phi)


def window_start(phi: float, N: int) -> float:
    """kappa_w = (phi/2)^{2-2/N}: balancing (rate 2 kappa) is faster than learning for kappa_w < kappa < kappa_c."""
    return float((phi / 2.0) ** (2.0 - 2.0 / N))


def stable_equilibrium(phi: float, N: int, kappa: float) -> float:
    """The stable positive equilibrium of the scalar reduced flow: the root of g(s) = kappa in (sigma_f, phi).

    0 beyond the fold.
    """
    from scipy.optimize import brentq

    s_f, k_c = fold(phi, N)
    if kappa >= k_c:
        return 0.0
    if kappa <= 0:
        return float(phi)
    return float(brentq(lambda x: x ** (1.0 - 2.0 / N) * (phi - x) - kappa, s_f, phi, xtol=1e-15, rtol=1e-15))


def learning_rate(phi: float, N: int, kappa: float) -> float:
    """Relaxation rate N s^{2-2/N} - (N-2) kappa of the scalar reduced flow at its stable equilibrium s.

    0 beyond the fold.
    """
    s = stable_equilibrium(phi, N, kappa)
    return float(N * s ** (2.0 - 2.0 / N) - (N - 2) * kappa) if s > 0 else 0.0


def scalar_field(s: float, phi: float, N: int, kappa: float) -> float:
    """s' = -N s^{2-2/N} (s - phi) - N kappa s: the reduced flow (LM §4.1) of one singular value s aligned with phi."""
    return -N * s ** (2.0 - 2.0 / N) * (s - phi) - N * kappa * s


def scalar_reduced_flow(phi: float, N: int, kappa: float, T: float) -> tuple[float, float]:
    """Integrate the scalar reduced flow from s = phi to T (LSODA, rtol 1e-12), stopping if s < 1e-8 phi.

    Returns (s at the final time, the final time: T, or the time s reached 1e-8 phi).
    """
    from scipy.integrate import solve_ivp

    def collapsed(t, y):
        return y[0] - 1e-8 * phi

    collapsed.terminal = True
    sol = solve_ivp(
        lambda t, y: [scalar_field(max(y[0], 0.0), phi, N, kappa)],
        (0.0, T),
        [phi],
        method="LSODA",
        rtol=1e-12,
        atol=1e-14 * phi,
        events=collapsed,
    )
    return float(sol.y[0, -1]), float(sol.t[-1])


def scalar_analysis(phi: float, N: int, kappa: float, delta: float = 0.01) -> dict:
    """Predictions of :func:`fold`, :func:`stable_equilibrium`, :func:`learning_rate` against integrations of the
    scalar reduced flow (:func:`scalar_field`): at ``kappa`` (equilibrium; its relaxation rate by a central
    difference of the field) and at kappa_c (1 -+ delta) (convergence below the fold, collapse above it)."""
    s_f, k_c = fold(phi, N)
    out = {"kappa_fold": k_c, "sigma_fold": s_f, "kappa_window": window_start(phi, N)}
    r_pred = learning_rate(phi, N, kappa)
    s_pred = stable_equilibrium(phi, N, kappa)
    s_T, _ = scalar_reduced_flow(phi, N, kappa, 40.0 / r_pred if r_pred > 0 else 400.0)
    h = 1e-6 * max(s_T, 1e-3)
    rate_fd = -(scalar_field(s_T + h, phi, N, kappa) - scalar_field(s_T - h, phi, N, kappa)) / (2 * h)
    out.update(
        {
            "scalar_sigma_T": s_T,
            "scalar_sigma_pred": s_pred,
            "scalar_rate_pred": r_pred,
            "scalar_rate_fd": rate_fd if s_pred > 0 else 0.0,
        }
    )
    below, above = k_c * (1.0 - delta), k_c * (1.0 + delta)
    s_b, _ = scalar_reduced_flow(phi, N, below, 40.0 / learning_rate(phi, N, below))
    s_a, t_a = scalar_reduced_flow(phi, N, above, 1e4)
    out.update(
        {
            "fold_sigma_below": s_b,
            "fold_sigma_below_pred": stable_equilibrium(phi, N, below),
            "fold_sigma_above": s_a,
            "fold_collapse_time": t_a,
        }
    )
    return out


def simulate(params: dict, progress=None) -> xr.Dataset:
    """One job: full flow from 1 balanced + ``n_imbalance`` unbalanced starts, reduced flow, diagnostics."""
    r = run(params)
    p, t, s = r["p"], r["t"], r["s"]
    N, kappa = int(p["N"]), float(p["kappa"])
    Xf, Xr, G, G_err, Wt = r["Xf"], r["Xr"], r["G"], r["G_err"], r["Wt"]
    n_red = int(r["n_reduced"])
    valid = np.arange(t.size) < n_red  # times where the reduced flow is defined
    Xscale = float(np.max(norm(Xr[:n_red])))
    shadow = np.where(valid[:, None], np.nan_to_num(norm(Xf - Xr[:, None]) / Xscale), 0.0)  # (n_t, 1 + n_s)
    Gn = norm(G, 3)  # (n_t, 1 + n_s)
    G0n = norm(r["G0"], 3)[1:]
    rel = G_err[:, 1:] / (G0n[None, :] * np.exp(-2.0 * kappa * t)[:, None])
    Wsq = sqnorm(Wt, 3)
    imb = Gn[:, 1:] / Wsq[:, 1:]  # relative imbalance |G| / |W|^2
    tol_b = float(p["balance_tol"])
    crossings = [_crossing_time(t, imb[:, j], tol_b) for j in range(s.size)]
    fit = np.array([np.polyfit(t, np.log(Gn[:, 1 + j]), 1)[0] for j in range(s.size)])
    sig_T = np.linalg.svd(Xr[n_red - 1], compute_uv=False)
    # the linearization needs a full-rank X(T): a singular value below 1e-6 has collapsed (kappa beyond the fold)
    rank_lost = bool(sig_T[-1] <= 1e-6 * max(sig_T[0], 1.0)) or n_red < t.size
    rate_learn = 0.0
    if not rank_lost:
        try:
            rate_learn = slowest_rate(Xr[-1], r["grad"], N, kappa)
        except DLNError:  # the finite-difference stencil reached a numerically singular X
            rank_lost = True
    loss_full = r["E"](Xf)
    loss_red = np.where(valid, np.nan_to_num(r["E"](Xr)), 0.0)
    X0 = r["X0"]
    from .._metric import A_operator

    pen = A_operator(X0, penalty_gradient(X0, N, kappa), N)
    pen_res = float(norm(pen - N * kappa * X0) / norm(N * kappa * X0))
    phi_min = float(np.linalg.svd(r["Phi"], compute_uv=False)[-1])
    sc = scalar_analysis(phi_min, N, kappa)

    def v(dims, values, long_name):
        return (dims, np.asarray(values), {"long_name": long_name, "units": "1"})

    ti = ("t", "imbalance")
    ds = xr.Dataset(
        {
            "G_norm": v(ti, Gn[:, 1:], "moment norm |G(t)| (unbalanced starts)"),
            "G_predicted": v(ti, G0n[None, :] * np.exp(-2.0 * kappa * t)[:, None], "|G_0| exp(-2 kappa t)"),
            "G_rel_err": v(ti, rel, "|G(t) - G_0 exp(-2 kappa t)| / |G_0 exp(-2 kappa t)|, G_0 = G(W_0)"),
            "G_err_W2": v(ti, G_err[:, 1:] / Wsq[:, 1:], "|G(t) - G_0 exp(-2 kappa t)| / |W(t)|^2, G_0 = G(W_0)"),
            "relative_imbalance": v(ti, imb, "|G(t)| / |W(t)|^2"),
            "shadow_err": v(
                ti, shadow[:, 1:], "|X_full(t) - X_reduced(t)| / max_t |X_reduced| (0 where reduced_valid = 0)"
            ),
            "shadow_err_balanced": v(
                ("t",), shadow[:, 0], "|X_full(t) - X_reduced(t)| / max_t |X_reduced| from the balanced start"
            ),
            "loss_full": v(ti, loss_full[:, 1:], "loss E(X_full(t))"),
            "loss_reduced": v(("t",), loss_red, "loss E(X_reduced(t)) (0 where reduced_valid = 0)"),
            "reduced_valid": v(
                ("t",),
                valid.astype(np.int8),
                "1 where the reduced flow is defined: X_reduced(t) full rank (it stops where a singular value "
                "collapses, beyond the fold)",
            ),
            "G0_norm": v(("imbalance",), G0n, "initial moment norm |G_0|"),
            "shadow_max": v(("imbalance",), shadow[:, 1:].max(axis=0), "sup_t |X_full - X_reduced| / max|X_reduced|"),
            "G_rel_err_max": v(("imbalance",), rel.max(axis=0), "max_t relative error of G(t)"),
            "t_balance": v(
                ("imbalance",),
                [c[0] for c in crossings],
                f"first time with |G|/|W|^2 <= {tol_b:g} (the final time T where balanced_within_T = 0)",
            ),
            "balanced_within_T": v(
                ("imbalance",), np.array([c[1] for c in crossings], dtype=np.int8), f"1 if |G|/|W|^2 <= {tol_b:g} by T"
            ),
            "G_decay_rate": v(("imbalance",), -fit, "fitted decay rate of |G(t)| over [0, T] (theory 2 kappa)"),
            "shadow_max_balanced": v((), float(shadow[:, 0].max()), "shadowing error from the balanced start (0)"),
            "penalty_identity": v((), pen_res, "|A_{N,X}(kappa U Sigma^(2/N-1) V^*) - N kappa X| / |N kappa X|"),
            "sigma_min_reduced_T": v((), float(sig_T[-1]), "smallest singular value of X_reduced(T)"),
            "rank_lost": v((), np.int8(rank_lost), "1 if a singular value of X_reduced(T) collapsed (<= 1e-6)"),
            "rate_balancing": v((), 2.0 * kappa, "balancing rate 2 kappa (fast scale)"),
            "rate_learning": v(
                (), rate_learn, "slowest relaxation rate of the reduced flow at X(T) (0 where rank_lost = 1)"
            ),
            "phi_min": v((), phi_min, "smallest singular value phi of the target Phi"),
            "kappa_fold": v((), sc["kappa_fold"], "kappa_c = max_s s^(1-2/N) (phi - s): fold of the reduced flow"),
            "sigma_fold": v((), sc["sigma_fold"], "sigma_f = phi (N-2) / (2N-2), where the fold occurs"),
            "kappa_window": v((), sc["kappa_window"], "kappa_w = (phi/2)^(2-2/N): 2 kappa > learning rate above it"),
            "scalar_sigma_T": v((), sc["scalar_sigma_T"], "s(T) of the scalar reduced flow at this kappa, T = 40/rate"),
            "scalar_sigma_pred": v((), sc["scalar_sigma_pred"], "predicted stable equilibrium (0 beyond the fold)"),
            "scalar_rate_fd": v((), sc["scalar_rate_fd"], "-f'(s(T)) by a central difference of the scalar field f"),
            "scalar_rate_pred": v((), sc["scalar_rate_pred"], "predicted rate N s^(2-2/N) - (N-2) kappa"),
            "fold_sigma_below": v((), sc["fold_sigma_below"], "s(T) of the scalar reduced flow at 0.99 kappa_c"),
            "fold_sigma_below_pred": v((), sc["fold_sigma_below_pred"], "predicted equilibrium at 0.99 kappa_c"),
            "fold_sigma_above": v((), sc["fold_sigma_above"], "final s of the scalar reduced flow at 1.01 kappa_c"),
            "fold_collapse_time": v(
                (), sc["fold_collapse_time"], "time at which s reaches 1e-8 phi at 1.01 kappa_c (1e4: not reached)"
            ),
        },
        coords={
            "t": t,
            "imbalance": ("imbalance", s, {"long_name": "imbalance level s of the start exp(s a).C", "units": "1"}),
        },
    )
    return finalize_job(
        ds,
        p,
        __name__,
        title="Fast-slow regularized training (LM section 4.1)",
        summary="Full regularized flow (LM eq. 4.1) from balanced and unbalanced starts on one fiber vs the reduced "
        "flow X' = -A_{N,X}(grad E) - N kappa X on the balanced manifold; G(t) = G_0 exp(-2 kappa t); the fold and "
        "the balancing window of the reduced flow of one singular value.",
    )


#: The sweep of ``dln check``: kappa in each regime of the reduced flow (phi = 2, N = 3: window (1, 1.19),
#: fold 1.19), both losses, both fields, 2 depths, 3 random problems (seeds).
LEDGER: dict = {
    "sweep": {
        "kappa": [0.3, 1.1, 1.5],
        "loss": ["quadratic", "completion"],
        "field": ["real", "complex"],
        "N": [2, 3],
        "seed": [0, 1, 2],
    },
    "fixed": {"d": 2, "T": 3.0, "n_t": 31, "n_imbalance": 3, "rtol": 1e-10},
}

#: The mutation tests' sweep.
MUTATION: dict = {
    "sweep": {"field": ["real", "complex"]},
    "fixed": {"kappa": 0.3, "loss": "quadratic", "N": 3, "d": 2, "T": 2.0, "n_t": 11, "n_imbalance": 1},
}

#: Relative cost of the LEDGER sweep.
COST = 6.0


# ------------------------------------------------------------------------------------------------ figures
# The book's figures of this family, listed in FIGURES at the end; dln.figures.draw calls them in the book's style.
# Each function imports the toolkit dln.plotting by name when it runs, so importing this module loads no
# Matplotlib (see dln.plotting).

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure


def _representative(ds, prefer: dict | None = None) -> dict:
    """One configuration of the fast-slow sweep: real field, largest N, quadratic loss where present."""
    sel = {}
    prefer = {"field": "real", "loss": "quadratic", **(prefer or {})}
    for dim, val in prefer.items():
        if dim in ds.dims:
            vals = [str(v) for v in ds[dim].values]
            sel[dim] = val if val in vals else ds[dim].values[0]
    if "N" in ds.dims:
        sel["N"] = ds["N"].values.max()
    return sel


def _rate_curve(phi: float, N: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Learning rate of the scalar reduced flow against kappa, parametrized by its stable equilibrium s.

    s in (sigma_f, phi), sigma_f = phi (N-2)/(2N-2): kappa(s) = s^{1-2/N} (phi - s) and the rate
    N s^{2-2/N} - (N-2) kappa(s) (the formulas behind ``scalar_rate_pred``; 0 at the fold kappa_c).
    """
    s_f = phi * (N - 2) / (2 * N - 2)
    s = np.linspace(s_f, phi, n)
    kappa = s ** (1.0 - 2.0 / N) * (phi - s)
    rate = N * s ** (2.0 - 2.0 / N) - (N - 2) * kappa
    return kappa[::-1], rate[::-1]


def _rates_panel(ax, ds) -> list:
    """Balancing rate 2 kappa and learning rate of the scalar reduced flow against kappa, per depth N."""
    pl = drawing_toolkit()
    handles = []
    kap = np.asarray(ds["kappa"].values, dtype=float) if "kappa" in ds.dims else np.atleast_1d(pl.scalar(ds["kappa"]))
    Ns = pl.coords(ds, "N")
    colors = ["C3", "C1", "C6", "C5", "C9", "C4", "C2", "C0", "C7", "C8"][: len(Ns)]  # apart from viridis (kappa)
    kmax = float(np.nanmax(kap)) if kap.size else 1.0
    for N, color in zip(Ns, colors, strict=True):
        one = pl.one(ds, {"N": N}, keep=("kappa",))
        n = int(N) if N is not None else int(pl.scalar(ds.get("N", 3)))
        k_fold, k_win = pl.scalar(one["kappa_fold"]), pl.scalar(one["kappa_window"])
        kmax = max(kmax, k_fold)
        if "phi_min" in one:
            kc, rc = _rate_curve(pl.scalar(one["phi_min"]), n)
            ax.plot(kc, rc, color=color, lw=1.5)
        k = np.atleast_1d(np.asarray(one["kappa"].values, dtype=float))
        r = np.atleast_1d(np.asarray(one["scalar_rate_pred"].values, dtype=float))
        below = k < k_fold  # the rate is 0 (no equilibrium) beyond the fold
        ax.plot(k[below], r[below], "o", color=color, ms=5, mec="k", mew=0.6, zorder=5)
        ax.axvline(k_win, color=color, ls=":", lw=1.2)
        ax.axvline(k_fold, color=color, ls="-.", lw=1.2)
        ax.axvspan(k_win, k_fold, color=color, alpha=0.08, lw=0)
        handles.append(pl.line(f"learning rate, $N = {n}$", color=color, lw=1.5))
    kk = np.linspace(0.0, 1.1 * kmax, 50)
    ax.plot(kk, 2 * kk, color="k", ls="--", lw=1.2)
    ax.set(xlim=(0, 1.1 * kmax), ylim=(0, None), xlabel=r"regularization $\kappa$", ylabel="rate")
    ax.set_title(r"balancing $2\kappa$ vs learning (scalar flow)")
    handles += [
        pl.line(r"balancing rate $2\kappa$", ls="--", lw=1.2),
        pl.line(r"$\kappa$ of the sweep (scalar_rate_pred)", color="0.5", ls="none", marker="o", ms=5, mec="k"),
        pl.line(r"$\kappa_w$: window starts", color="k", ls=":", lw=1.2),
        pl.line(r"$\kappa_c$: fold", color="k", ls="-.", lw=1.2),
    ]
    return handles


def fig_fast_slow_scales(ds: xr.Dataset) -> Figure:
    """LM §4.1: the fast scale (balancing at rate 2 kappa), the slow scale (the loss) and their rates.

    ``ds`` is ``results/fast_slow.nc`` (dims kappa, loss, field, N, d, seed, t, imbalance). Shown for one
    configuration (real field and the largest N where present; first d and seed), every kappa (colour):
    (a) |G(t)| from every unbalanced start against |G_0| e^{-2 kappa t} (dashed), quadratic loss;
    (b, c, ...) the loss along the full flow from every start (thin) and along the reduced flow on the balanced
    manifold (thick), one panel per loss; last panel: the balancing rate 2 kappa and the learning rate of the
    scalar reduced flow (``scalar_rate_pred`` at the swept kappa, and its closed-form curve from ``phi_min``)
    against kappa for each N, with kappa_window (dotted), kappa_fold (dash-dotted) and the window between shaded.
    """
    pl = drawing_toolkit()
    rep = _representative(ds)
    losses = pl.coords(ds, "loss")
    n_panels = 2 + len(losses)
    nrows = int(np.ceil(n_panels / 2))
    fig, axes = pl.figure(2, nrows=nrows, height=2.55 * nrows + 0.7)
    kappas = pl.coords(ds, "kappa")
    kcolors = pl.seq_colors(len(kappas)) if len(kappas) > 1 else ["C0"]
    sub = pl.sel(ds, {k: v for k, v in rep.items() if k not in ("kappa", "loss")})
    ax = axes[0]
    for kappa, color in zip(kappas, kcolors, strict=True):
        one = pl.one(sub, {"kappa": kappa, "loss": rep.get("loss")}, keep=("t", "imbalance"))
        t = np.asarray(one["t"].values, dtype=float)
        ax.semilogy(t, pl.pos(pl.runs(one["G_norm"])), color=color, lw=1.3)
        ax.semilogy(t, pl.pos(pl.runs(one["G_predicted"])), color="k", ls="--", lw=0.7)
    ax.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert$")
    ax.set_title(r"(a) fast: $\Vert\mathbf{G}\Vert$ (every start)")
    for j, loss in enumerate(losses):
        ax = axes[1 + j]
        for kappa, color in zip(kappas, kcolors, strict=True):
            one = pl.one(sub, {"kappa": kappa, "loss": loss}, keep=("t", "imbalance"))
            t = np.asarray(one["t"].values, dtype=float)
            ax.semilogy(t, pl.pos(pl.runs(one["loss_full"])), color=color, lw=0.8, alpha=0.8)
            ax.semilogy(t, pl.pos(one["loss_reduced"].values), color=color, lw=2.6, alpha=0.55)
        ax.set(xlabel="$t$", ylabel=r"loss $E(X(t))$")
        ax.set_title(f"({chr(98 + j)}) slow: {loss} loss" if loss is not None else "(b) slow: the loss")
    ax = axes[1 + len(losses)]
    rate_handles = _rates_panel(ax, ds)
    ax.set_title(f"({chr(98 + len(losses))}) " + ax.get_title())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    for ax in axes[:n_panels]:
        pl.grid(ax)
    conf = pl.case_label({k: v for k, v in rep.items() if k in ("N", "field")})
    fig.suptitle(f"(a)-({chr(97 + len(losses))}): {conf}" if conf else "", fontsize=pl.MEDIUM)
    handles = [pl.line(rf"$\kappa = {pl.num(k)}$", color=c, lw=1.3) for k, c in zip(kappas, kcolors, strict=True)]
    handles += [
        pl.line(r"$\Vert\mathbf{G}_0\Vert e^{-2\kappa t}$", ls="--", lw=0.7),
        pl.line("full flow (thin)", color="k", lw=0.8),
        pl.line(r"reduced flow on $\mathcal{M}$ (thick)", color="k", lw=2.6, alpha=0.55),
    ]
    pl.legend_below(fig, handles + rate_handles, ncols=3)
    return fig


#: Markers of the depths N, where colour and line style encode other parameters.
_N_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


#: The parameters naming the configuration of the shadowing error over time.
_SHADOW_CONF = ("kappa", "loss", "field", "N")


def _field_style(field, color) -> dict:
    """Line style and marker fill of a field: real solid and filled, complex dashed and open."""
    pl = drawing_toolkit()
    return {"color": color, "ls": pl.FIELD_LS.get(str(field), "-"), "mfc": "none" if str(field) == "complex" else color}


def fig_fast_slow_shadowing(ds: xr.Dataset) -> Figure:
    """LM §4.1: shadowing error against the initial imbalance |G_0|, and over time.

    ``ds`` is ``results/fast_slow.nc``. Top, one panel per loss: ``shadow_max`` = sup_t |X_full - X_red| /
    max |X_red| against ``G0_norm`` for every (kappa, field, N) case: colour kappa (a legend, or a colour bar
    for a long sweep), solid line and filled marker real, dashed line and open marker complex, marker shape N
    where several; a guide proportional to |G_0| (dotted, the same in every panel). Bottom: ``shadow_err``
    over time for one configuration (quadratic loss, real field, largest N, smallest kappa), one curve per
    imbalance level, with ``shadow_err_balanced`` from the balanced start and the time the start balances
    (``t_balance``, dots). Each row has its legend beside or below it.
    """
    from matplotlib.figure import Figure

    pl = drawing_toolkit()
    kappas = pl.coords(ds, "kappa")
    kcolors = pl.seq_colors(len(kappas)) if len(kappas) > 1 else ["C0"]
    losses, fields, Ns = pl.coords(ds, "loss"), pl.coords(ds, "field"), pl.coords(ds, "N")
    n_marker = dict(zip(Ns, itertools.cycle(_N_MARKERS), strict=False))
    kappa_bar = len(kappas) > pl.MAX_COLOR_ENTRIES
    handles1 = []
    if not kappa_bar:
        handles1 += [
            pl.line(rf"$\kappa = {pl.num(k)}$", color=c, lw=1.4)
            for k, c in zip(kappas, kcolors, strict=True)
            if k is not None
        ]
    handles1 += [
        pl.line(f"{f}: {'dashed, open' if str(f) == 'complex' else 'solid, filled'}", marker="o", ms=4.5, lw=0.9, **st)
        for f in fields
        if f is not None
        for st in [_field_style(f, "k")]
    ]
    if len(Ns) > 1:
        handles1 += [pl.line(f"$N = {pl.num(N)}$", ls="none", marker=n_marker[N], ms=4.5) for N in Ns]
    handles1.append(pl.line(r"$\propto \Vert\mathbf{G}_0\Vert$", ls=":", lw=1.3))
    _, rows1 = pl.legend_shape(handles1, pl.WIDTH, 4)
    h_top, h_bot = 2.45 + rows1 * pl.LEGEND_ROW, 2.35
    fig = Figure(figsize=(pl.WIDTH, 0.3 + h_top + h_bot), layout="constrained")
    sub1, sub2 = fig.subfigures(2, 1, height_ratios=[h_top, h_bot])
    axes1 = list(sub1.subplots(1, len(losses), squeeze=False, sharey=True).ravel())
    ax2 = sub2.subplots()
    xs, ys = [], []
    for j, (ax, loss) in enumerate(zip(axes1, losses, strict=True)):
        for kappa, color in zip(kappas, kcolors, strict=True):
            for field in fields:
                for N in Ns:
                    one = pl.one(ds, {"kappa": kappa, "loss": loss, "field": field, "N": N}, keep=("imbalance",))
                    x = np.atleast_1d(pl.pos(one["G0_norm"].values))
                    y = np.atleast_1d(pl.pos(one["shadow_max"].values))
                    ok = np.isfinite(x) & np.isfinite(y)
                    if not ok.any():
                        continue
                    order = np.argsort(x[ok])
                    ax.plot(
                        x[ok][order],
                        y[ok][order],
                        lw=0.9,
                        marker=n_marker[N],
                        ms=4.5,
                        mew=1.0,
                        **_field_style(field, color),
                    )
                    xs.append(x[ok])
                    ys.append(y[ok])
        ax.set(xscale="log", yscale="log", xlabel=r"initial imbalance $\Vert\mathbf{G}_0\Vert$")
        ax.set_title(f"({chr(97 + j)}) {loss} loss" if loss is not None else "(a) every case")
    if xs:
        x_all, y_all = np.concatenate(xs), np.concatenate(ys)
        g = np.geomspace(x_all.min(), x_all.max(), 20)
        for ax in axes1:
            ax.plot(g, np.nanmedian(y_all / x_all) * g, color="k", ls=":", lw=1.3)
    axes1[0].set_ylabel(r"shadowing error, $\mathrm{sup}$ over $t$")
    if kappa_bar:
        pl.key_colorbar(sub1, axes1, kappas, kcolors, r"regularization $\kappa$", pad=0.02)
    pl.legend_below(fig, handles1, ncols=4, parent=sub1, grow=False)
    rep = _representative(ds)
    if "kappa" in ds.dims:
        rep["kappa"] = ds["kappa"].values.min()
    one = pl.one(ds, rep, keep=("t", "imbalance"))
    t = np.asarray(one["t"].values, dtype=float)
    levels = pl.coords(one, "imbalance")
    icolors = pl.seq_colors(len(levels), "plasma") if len(levels) > 1 else ["C1"]
    handles2 = []
    for s, color in zip(levels, icolors, strict=True):
        o = pl.sel(one, {"imbalance": s})
        ax2.semilogy(t, pl.pos(o["shadow_err"].values), color=color, lw=1.3)
        if "t_balance" in o and "balanced_within_T" in o and pl.scalar(o["balanced_within_T"]) > 0:
            tb = pl.scalar(o["t_balance"])
            ax2.semilogy(
                [tb],
                [np.interp(tb, t, np.asarray(o["shadow_err"].values, dtype=float))],
                "o",
                color=color,
                ms=5,
                mec="k",
                mew=0.6,
                zorder=5,
            )
        handles2.append(pl.line(rf"$\Vert\mathbf{{G}}_0\Vert = {pl.scalar(o['G0_norm']):.2g}$", color=color, lw=1.3))
    ax2.semilogy(t, pl.pos(one["shadow_err_balanced"].values), color="k", lw=1.3)
    ax2.set(xlabel="$t$", ylabel="shadowing error")
    conf = {k: rep.get(k, one[k].item() if k in one.coords and one[k].size == 1 else None) for k in _SHADOW_CONF}
    ax2.set_title(f"({chr(97 + len(losses))}) " + pl.case_label(conf))
    fig.suptitle(
        r"shadowing error $\Vert X_\mathrm{full}(t) - X_\mathrm{red}(t)\Vert\,/\,"
        r"\mathrm{max}_t\Vert X_\mathrm{red}(t)\Vert$ (full flow vs reduced flow on $\mathcal{M}$)",
        fontsize=pl.MEDIUM,
    )
    for ax in [*axes1, ax2]:
        pl.grid(ax)
    handles2.append(pl.line("balanced start", lw=1.3))
    handles2.append(
        pl.line(
            r"balanced: $\Vert\mathbf{G}\Vert/\Vert\mathbf{W}\Vert^2 \leq$ tol",
            color="0.5",
            ls="none",
            marker="o",
            ms=5,
            mec="k",
        )
    )
    sub2.legend(
        handles=handles2,
        loc="outside right center",
        frameon=False,
        ncols=1 if len(handles2) <= 12 else 2,
        title="initial imbalance",
    )
    return fig


#: The book's figures drawn from this family's dataset: file name -> drawing function.
FIGURES: dict[str, Callable[[xr.Dataset], Figure]] = {
    "fast_slow_scales": fig_fast_slow_scales,
    "fast_slow_shadowing": fig_fast_slow_shadowing,
}
