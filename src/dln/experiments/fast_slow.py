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

import numpy as np
import xarray as xr

from .._action import act, center
from .._errors import DLNError
from .._linalg import H, expm, norm, sqnorm
from .._product import end_to_end, moments
from .._random import random_matrix, rng_from_params
from ._conventions import finalize
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
    ctx = f"{FAMILY}({p})"
    return finalize(
        ds,
        title="Fast-slow regularized training (LM section 4.1)",
        summary="Full regularized flow (LM eq. 4.1) from balanced and unbalanced starts on one fiber vs the reduced "
        "flow X' = -A_{N,X}(grad E) - N kappa X on the balanced manifold; G(t) = G_0 exp(-2 kappa t); the fold and "
        "the balancing window of the reduced flow of one singular value.",
        references=["LM"],
        config=p,
        context=ctx,
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

#: The book's figures drawn from this family.
FIGURES: tuple[str, ...] = ("fast_slow_scales", "fast_slow_shadowing")
