"""Fast-slow regularized training (LM section 4.1): full flow vs the reduced flow on the balanced manifold.

Full flow (LM eq. 4.1): W' = -dphi^*(grad E(X)) - kappa W, integrated with :func:`dln.regularized_flow`
from unbalanced starts W_0(s) = exp(s a).C on the fiber of X_0 (C the centre, a a fixed random direction
of gl(d)^{N-1}, so |G_0| grows with the imbalance level s while X_0 is the same for every start).

Reduced flow on the balanced manifold (THEOREMS.md LM-4.1):
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

FAMILY = "fast_slow"

DEFAULT_PARAMS: dict = {
    "N": 3,
    "d": 3,
    "field": "real",
    "seed": 0,
    "kappa": 0.3,
    "loss": "quadratic",
    "T": 6.0,
    "n_t": 61,
    "imbalance_min": 0.05,
    "imbalance_max": 0.8,
    "n_imbalance": 4,
    "mask_density": 0.6,
    "rtol": 1e-11,
    "balance_tol": 1e-2,
}

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
    """Reduced flow on the balanced manifold X' = -A_{N,X}(grad E(X)) - N kappa X (THEOREMS.md LM-4.1).

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
    mask = (rng.random((d, d)) < float(params.get("mask_density", 0.6))).astype(float)
    np.fill_diagonal(mask, 1.0)  # keep the problem well posed (every row and column observed)
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
    p = dict(DEFAULT_PARAMS)
    p.update(params)
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
    Xr = reduced_flow(X0, grad, N, kappa, t, rtol=rtol, atol=rtol * 1e-2)  # (n_t, d, d)
    Xf = end_to_end(Wt)
    G = moments(Wt)
    G0 = G[0]
    decay = np.exp(-2.0 * kappa * t)[:, None, None, None, None]
    G_err = norm(G - decay * G0, 3)  # (n_t, 1 + n_s)
    return {
        "p": p,
        "t": t,
        "s": s,
        "Wt": Wt,
        "Xf": Xf,
        "Xr": Xr,
        "G": G,
        "G_err": G_err,
        "E": E,
        "grad": grad,
        "Phi": Phi,
        "mask": mask,
        "X0": X0,
    }


def _crossing_time(t: np.ndarray, y: np.ndarray, level: float) -> float:
    """First time y(t) <= level by log-linear interpolation (T if never)."""
    below = np.nonzero(y <= level)[0]
    if below.size == 0:
        return float(t[-1])
    i = below[0]
    if i == 0:
        return 0.0
    y0, y1 = np.log(y[i - 1]), np.log(y[i])
    return float(t[i - 1] + (np.log(level) - y0) / (y1 - y0) * (t[i] - t[i - 1]))


def simulate(params: dict) -> xr.Dataset:
    """One job: full flow from 1 balanced + ``n_imbalance`` unbalanced starts, reduced flow, diagnostics."""
    r = run(params)
    p, t, s = r["p"], r["t"], r["s"]
    N, kappa = int(p["N"]), float(p["kappa"])
    Xf, Xr, G, G_err, Wt = r["Xf"], r["Xr"], r["G"], r["G_err"], r["Wt"]
    Xscale = float(np.max(norm(Xr)))
    shadow = norm(Xf - Xr[:, None]) / Xscale  # (n_t, 1 + n_s)
    Gn = norm(G, 3)  # (n_t, 1 + n_s)
    G0n = Gn[0, 1:]
    rel = G_err[:, 1:] / (G0n[None, :] * np.exp(-2.0 * kappa * t)[:, None])
    Wsq = sqnorm(Wt, 3)
    imb = Gn[:, 1:] / Wsq[:, 1:]  # relative imbalance |G| / |W|^2
    tol_b = float(p["balance_tol"])
    t_bal = np.array([_crossing_time(t, imb[:, j], tol_b) for j in range(s.size)])
    fit = np.array([np.polyfit(t, np.log(Gn[:, 1 + j]), 1)[0] for j in range(s.size)])
    sig_T = np.linalg.svd(Xr[-1], compute_uv=False)
    # the linearization needs a full-rank X(T); a collapsed singular value (kappa beyond the saddle-node) gives 0
    rate_learn = 0.0
    if sig_T[-1] > 1e-6 * max(sig_T[0], 1.0):
        try:
            rate_learn = slowest_rate(Xr[-1], r["grad"], N, kappa)
        except DLNError:  # the finite-difference stencil reached a numerically singular X
            rate_learn = 0.0
    loss_full = r["E"](Xf)
    loss_red = r["E"](Xr)
    ds = xr.Dataset(
        {
            "G_norm": (
                ("t", "imbalance"),
                Gn[:, 1:],
                {"long_name": "moment norm |G(t)| (unbalanced starts)", "units": "1"},
            ),
            "G_predicted": (
                ("t", "imbalance"),
                G0n[None, :] * np.exp(-2.0 * kappa * t)[:, None],
                {"long_name": "predicted |G_0| exp(-2 kappa t)", "units": "1"},
            ),
            "G_rel_err": (
                ("t", "imbalance"),
                rel,
                {"long_name": "|G(t) - G_0 exp(-2 kappa t)| / |G_0 exp(-2 kappa t)|", "units": "1"},
            ),
            "G_err_W2": (
                ("t", "imbalance"),
                G_err[:, 1:] / Wsq[:, 1:],
                {
                    "long_name": "|G(t) - G_0 exp(-2 kappa t)| / |W(t)|^2 (error on the scale G is computed at)",
                    "units": "1",
                },
            ),
            "relative_imbalance": (("t", "imbalance"), imb, {"long_name": "|G(t)| / |W(t)|^2", "units": "1"}),
            "shadow_err": (
                ("t", "imbalance"),
                shadow[:, 1:],
                {"long_name": "|X_full(t) - X_reduced(t)| / max_t |X_reduced|", "units": "1"},
            ),
            "shadow_err_balanced": (
                ("t",),
                shadow[:, 0],
                {"long_name": "|X_full(t) - X_reduced(t)| / max_t |X_reduced| from the balanced start", "units": "1"},
            ),
            "loss_full": (("t", "imbalance"), loss_full[:, 1:], {"long_name": "loss E(X_full(t))", "units": "1"}),
            "loss_reduced": (("t",), loss_red, {"long_name": "loss E(X_reduced(t))", "units": "1"}),
            "G0_norm": (("imbalance",), G0n, {"long_name": "initial moment norm |G_0|", "units": "1"}),
            "shadow_max": (
                ("imbalance",),
                shadow[:, 1:].max(axis=0),
                {"long_name": "shadowing error sup_t |X_full - X_reduced| / max|X_reduced|", "units": "1"},
            ),
            "G_rel_err_max": (
                ("imbalance",),
                rel.max(axis=0),
                {"long_name": "max_t relative error of G(t)", "units": "1"},
            ),
            "t_balance": (
                ("imbalance",),
                t_bal,
                {"long_name": f"first time with |G|/|W|^2 <= {tol_b:g} (T if never)", "units": "1"},
            ),
            "G_decay_rate": (
                ("imbalance",),
                -fit,
                {"long_name": "fitted decay rate of |G(t)| (theory 2 kappa)", "units": "1"},
            ),
            "shadow_max_balanced": (
                (),
                float(shadow[:, 0].max()),
                {"long_name": "shadowing error from the balanced start (theory 0)", "units": "1"},
            ),
            "sigma_min_reduced_T": (
                (),
                float(sig_T[-1]),
                {"long_name": "smallest singular value of X_reduced(T) (0 = collapsed rank)", "units": "1"},
            ),
            "rate_balancing": ((), 2.0 * kappa, {"long_name": "balancing rate 2 kappa (fast scale)", "units": "1"}),
            "rate_learning": (
                (),
                rate_learn,
                {
                    "long_name": "slowest relaxation rate of the reduced flow at X(T) (slow scale; 0: X(T) lost rank)",
                    "units": "1",
                },
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
        "flow X' = -A_{N,X}(grad E) - N kappa X on the balanced manifold; G(t) = G_0 exp(-2 kappa t).",
        references=["LM"],
        config=p,
        context=ctx,
    )


SWEEP_KEYS = ("kappa", "loss", "field", "N", "d", "seed")


def aggregate(datasets: list) -> xr.Dataset:
    """Combine jobs along new dimensions kappa, loss, field, N, d, seed (read from each job's config)."""
    import json

    parts = []
    for ds in datasets:
        cfg = json.loads(ds.attrs.get("config", "{}"))
        one = ds.copy()
        one.attrs = {}
        for k in SWEEP_KEYS:
            if k in one.coords:
                continue
            one = one.expand_dims({k: [cfg.get(k, DEFAULT_PARAMS[k])]})
        parts.append(one)
    out = xr.combine_by_coords(parts, combine_attrs="override", join="outer", compat="no_conflicts")
    out["loss"].attrs.update({"long_name": "loss function (quadratic or masked completion)", "units": "1"})
    out["imbalance"].attrs.update({"long_name": "imbalance level s of the start exp(s a).C", "units": "1"})
    return finalize(
        out,
        title="Fast-slow regularized training (LM section 4.1), all jobs",
        summary="Shadowing error of the reduced flow vs kappa and |G_0|, G(t) = G_0 exp(-2 kappa t), time to balance.",
        references=["LM"],
        config={"jobs": len(datasets)},
        context=f"{FAMILY} aggregate",
    )
