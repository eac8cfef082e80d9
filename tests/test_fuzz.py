"""Fuzz of the whole public API with hostile arguments.

Every public function is called from a small valid baseline with one argument replaced by a hostile value:
wrong types (None, strings, lists of strings, dicts, object arrays), booleans where numbers are expected,
NaN/Inf scalars and arrays with one NaN or Inf entry, negative, zero and huge sizes, entries of magnitude
1e200 and 1e-200, wrong numbers of dimensions, non-square layers, batch shapes that do not broadcast,
integer and boolean arrays, empty arrays, rank-deficient matrices, bad time grids, tolerances <= 0 or NaN,
iteration caps 0, negative or huge, callables that return NaN, the wrong shape or raise, and missing random
streams. Every call runs under a time limit. Each call must either return finite output (of the baseline's
shapes when the hostile array has the baseline's shape; equal to the float result for an integer array) or
raise a :class:`dln.DLNError` whose message names the argument that was replaced: no silent NaN, no
traceback from inside NumPy, no hang.
"""

from __future__ import annotations

import inspect
import re
import signal
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dln

TIME_LIMIT_S = 5.0

RNG = np.random.default_rng(0)
W = RNG.standard_normal((3, 2, 2))
X = np.array([[2.0, 0.3], [0.1, 1.0]])
SIGMA = np.array([2.0, 1.0])
CHAINS = RNG.standard_normal((50, 3))
#: batched baselines (batch 2, N = 3, d = 2), so that a batch of 3 does not broadcast against them
WB = np.eye(2) + 0.3 * RNG.standard_normal((2, 3, 2, 2))
XB = np.eye(2) + 0.3 * RNG.standard_normal((2, 2, 2))
PB = RNG.standard_normal((2, 2, 2))
AB = np.eye(2) + 0.2 * RNG.standard_normal((2, 2, 2, 2))  # group elements, (batch, N - 1, d, d)
CB = RNG.standard_normal((2, 2, 2, 2))  # Lie algebra elements, (batch, N - 1, d, d)
VB = RNG.standard_normal((2, 3, 2, 2))  # tangent vectors at WB
SIGB = np.array([[2.0, 1.0], [1.5, 0.5]])
W1 = np.eye(2) + 0.3 * RNG.standard_normal((3, 2, 2))  # one well-conditioned point

#: Hostile scalars (some are valid for some arguments: then the output must be finite).
BAD = [np.nan, np.inf, -np.inf, -1.0, 0.0, 1e308, -1e308, 1e-320, None, "x", True, [1.0, 2.0]]
#: Hostile integers (sizes, counts, iteration caps).
BAD_INT = [*BAD, 2.5, 0, -3, 10**12, np.int64(-1), {"n": 1}]
#: Hostile names of a choice (field, method, objective, ...).
BAD_NAME = [None, 3, "magic", ["real"], "", True]
#: Hostile random streams, times and callables.
BAD_RNG = [None, 0, "seed", np.random.RandomState(0)]
BAD_TIMES = [[0.0, np.inf], [0.0, np.nan], [1.0, 0.5], [-1.0, 0.0], "t", None, [[0.0, 1.0]]]
BAD_FLOW_TIMES = [*BAD_TIMES, [0.0, 0.0], [0.0, 1e308], [], [0.0, 1e-300], np.array([0, 1], dtype=np.int64)]
BAD_CALLABLE = [lambda x: np.full_like(x, np.nan), lambda x: np.ones((7,)), lambda x: 1 / 0, "grad", 3.0]
#: Hostile optional callbacks and output dictionaries.
BAD_HOOK = ["progress", 3.0, [print]]
BAD_DICT = ["stats", 3, [1, 2], (("a", 1),)]


def _entry(arr: np.ndarray, value) -> np.ndarray:
    out = np.array(arr, dtype=np.result_type(arr, float))
    out.flat[-1] = value
    return out


def bad_arrays(base: np.ndarray, core: int, square: bool = True, full_rank: bool = False) -> list:
    """Hostile values for an array argument whose trailing ``core`` axes are its own (the rest is batch)."""
    base = np.asarray(base)
    out = [
        None,
        "W",
        [["a", "b"]],
        {"k": 1.0},
        np.array([1, "a"], dtype=object),
        _entry(base, np.nan),
        _entry(base, np.inf),
        base * 1e200,
        base * 1e-200,
        np.rint(4 * base).astype(np.int64),
        np.ones(base.shape, dtype=bool),
        base + 0j,
        np.zeros((0,) + base.shape[-core:]),
        base[(0,) * (base.ndim - core + 1)],
        base.reshape(base.shape + (1,)) if core >= 2 else base[..., None],
        np.broadcast_to(base[(0,) * (base.ndim - core)], (3,) + base.shape[-core:]).copy(),
        np.zeros(base.shape[:-1] + (0,)),
    ]
    if square:
        out += [np.ones(base.shape[:-1] + (base.shape[-1] + 1,)), np.zeros(base.shape[:-2] + (0, 0))]
    if full_rank:
        out += [np.zeros(base.shape), np.ones(base.shape)]
    return out


def bad_layers(base, full_rank=False):
    return [*bad_arrays(base, 3, full_rank=full_rank), base[..., :1, :, :]]


def bad_square(base, full_rank=False):
    return bad_arrays(base, 2, full_rank=full_rank)


def bad_sigma(base):
    return [*bad_arrays(base, 1, square=False), _entry(base, -1.0), _entry(base, 0.0), base * 1e-200 + 1e-300]


def _rng():
    return np.random.default_rng(1)


def grad_quadratic(X):
    return X - np.eye(X.shape[-1])


FAST = {"rtol": 1e-6, "atol": 1e-9}

#: function, baseline keyword arguments (a zero-argument factory, so random streams are fresh),
#: and the arguments to replace: {name: hostile values}.
CASES = [
    # --- stochastic
    (
        dln.brownian_increments,
        lambda: {"rng": _rng(), "shape": (3, 2), "dt": 0.1},
        {"dt": BAD, "rng": BAD_RNG, "shape": [*BAD_INT, (2, -1), (10**12, 10**12), "s"], "field": BAD_NAME},
    ),
    (
        dln.langevin_drift,
        lambda: dict(W=W, grad_E=grad_quadratic, kappa=1.0),
        {"W": bad_layers(W), "grad_E": BAD_CALLABLE, "kappa": BAD},
    ),
    (
        dln.langevin_em,
        lambda: dict(W0=W, grad_E=None, kappa=1.0, beta=4.0, dt=0.01, n_steps=5, rng=_rng()),
        {
            "W0": bad_layers(W),
            "kappa": BAD,
            "beta": BAD,
            "dt": BAD,
            "n_steps": BAD_INT,
            "rng": BAD_RNG,
            "grad_E": BAD_CALLABLE,
            "n_paths": BAD_INT,
            "save_every": BAD_INT,
            "observe": BAD_CALLABLE,
            "progress": BAD_HOOK,
        },
    ),
    (
        dln.langevin_em_ladder,
        lambda: dict(W0=W, grad_E=None, kappa=1.0, beta=4.0, T=0.1, n_fine=8, ratios=(1, 2), rng=_rng()),
        {
            "W0": bad_layers(W),
            "kappa": BAD,
            "beta": BAD,
            "T": BAD,
            "n_fine": BAD_INT,
            "ratios": [*BAD_INT, (3,), (0,), (1, "a"), ()],
            "rng": BAD_RNG,
            "grad_E": BAD_CALLABLE,
            "n_paths": BAD_INT,
        },
    ),
    (
        dln.noise_growth_coefficient,
        lambda: dict(W=WB),
        {"W": bad_layers(WB)},
    ),
    (
        dln.ou_exact,
        lambda: dict(W0=W, kappa=1.0, beta=4.0, t=[0.0, 0.5, 1.0], rng=_rng()),
        {"W0": bad_layers(W), "kappa": BAD, "beta": BAD, "t": BAD_TIMES, "rng": BAD_RNG, "n_paths": BAD_INT},
    ),
    (
        dln.ou_moment_G,
        lambda: dict(W0=W, kappa=1.0, beta=4.0, t=[0.0, 1.0]),
        {"W0": bad_layers(W), "kappa": BAD, "beta": BAD, "t": BAD_TIMES},
    ),
    (
        dln.ou_stationary_G2,
        lambda: dict(N=3, d=2, beta=4.0, kappa=1.0),
        {"N": BAD_INT, "d": BAD_INT, "beta": BAD, "kappa": BAD, "field": BAD_NAME},
    ),
    # --- posterior
    (
        dln.fiber_log_density,
        lambda: dict(W=W, beta=4.0, kappa=1.0),
        {"W": bad_layers(W), "beta": BAD, "kappa": BAD},
    ),
    (
        dln.sample_fiber_posterior,
        lambda: dict(X=X, N=3, beta=4.0, kappa=1.0, rng=_rng(), n_chains=4, n_steps=10),
        {
            "X": bad_square(X, full_rank=True),
            "N": BAD_INT,
            "beta": BAD,
            "kappa": BAD,
            "rng": BAD_RNG,
            "n_chains": BAD_INT,
            "n_steps": BAD_INT,
            "n_burn": BAD_INT,
            "observe": BAD_CALLABLE,
            "target_accept": BAD,
            "progress": BAD_HOOK,
        },
    ),
    (
        dln.integrated_autocorr_time,
        lambda: dict(y=CHAINS),
        {"y": bad_arrays(CHAINS, 2, square=False), "c": BAD},
    ),
    (
        dln.effective_sample_size,
        lambda: dict(y=CHAINS),
        {"y": [*bad_arrays(CHAINS, 2, square=False), np.ones((50, 3))]},
    ),
    (
        dln.posterior_quadrature_d1,
        lambda: dict(x=1.0, beta=4.0, kappa=1.0),
        {"x": BAD, "beta": BAD, "kappa": BAD, "field": BAD_NAME},
    ),
    (dln.posterior_laplace_G2, lambda: dict(X=X, N=3), {"X": bad_square(X, full_rank=True), "N": BAD_INT}),
    # --- free energy
    (
        dln.entropic_constant,
        lambda: dict(d=2, N=3, beta=5.0),
        {"d": BAD_INT, "N": BAD_INT, "beta": BAD, "field": BAD_NAME},
    ),
    (
        dln.equilibrium,
        lambda: dict(d=2, N=3, beta=5.0, energy=2.0),
        {"d": BAD_INT, "N": BAD_INT, "beta": BAD, "energy": [*BAD, *BAD_CALLABLE], "field": BAD_NAME},
    ),
    (
        dln.relaxation_rates,
        lambda: dict(d=2, N=3, beta=5.0, energy=2.0),
        {"d": BAD_INT, "N": BAD_INT, "beta": BAD, "energy": [*BAD, *BAD_CALLABLE], "field": BAD_NAME},
    ),
    (
        dln.infinite_depth_limits,
        lambda: dict(d=2, p=2.0, beta=5.0),
        {"d": BAD_INT, "p": BAD, "beta": BAD, "field": BAD_NAME},
    ),
    (
        dln.chamber_metric,
        lambda: dict(sigma=SIGB, N=3),
        {"sigma": bad_sigma(SIGB), "N": BAD_INT},
    ),
    (
        dln.free_energy,
        lambda: dict(sigma=SIGMA, N=3, beta=5.0, p=2.0),
        {"sigma": bad_sigma(SIGB), "N": BAD_INT, "beta": BAD, "p": BAD, "field": BAD_NAME},
    ),
    (
        dln.free_energy_gradient,
        lambda: dict(sigma=SIGB, N=3, beta=5.0, energy=2.0),
        {
            "sigma": bad_sigma(SIGB),
            "N": BAD_INT,
            "beta": BAD,
            "energy": [*BAD, *BAD_CALLABLE],
            "field": BAD_NAME,
        },
    ),
    (
        dln.free_energy_field,
        lambda: dict(sigma=SIGB, N=3, beta=5.0, energy=2.0),
        {
            "sigma": bad_sigma(SIGB),
            "N": BAD_INT,
            "beta": BAD,
            "energy": [*BAD, *BAD_CALLABLE],
            "field": BAD_NAME,
        },
    ),
    (
        dln.free_energy_jacobian,
        lambda: dict(sigma=SIGMA, N=3, beta=5.0, energy=2.0),
        {"sigma": bad_sigma(SIGMA), "N": BAD_INT, "beta": BAD, "energy": [*BAD, *BAD_CALLABLE], "h": BAD},
    ),
    (
        dln.free_energy_flow,
        lambda: dict(sigma0=SIGMA, N=3, beta=5.0, energy=2.0, t=[0.0, 0.5], rtol=1e-6, atol=1e-9),
        {
            "sigma0": bad_sigma(SIGMA),
            "N": BAD_INT,
            "beta": BAD,
            "energy": [*BAD, *BAD_CALLABLE],
            "t": BAD_TIMES,
            "rtol": BAD,
            "atol": BAD,
            "method": BAD_NAME,
        },
    ),
    (
        dln.equal_sv_solution,
        lambda: dict(t=[0.0, 0.5], sigma0=1.5, d=2, N=3, beta=5.0, p=2.0),
        {
            "t": BAD_TIMES,
            "sigma0": BAD,
            "d": BAD_INT,
            "N": BAD_INT,
            "beta": BAD,
            "p": [*BAD, *BAD_CALLABLE],
            "field": BAD_NAME,
        },
    ),
    (
        dln.spectral_gradient,
        lambda: dict(X=XB, dfdsigma=lambda s: s),
        {"X": bad_square(XB), "dfdsigma": BAD_CALLABLE},
    ),
    (
        dln.matrix_free_energy_field,
        lambda: dict(X=XB, N=3, beta=5.0, energy=2.0),
        {
            "X": bad_square(XB, full_rank=True),
            "N": BAD_INT,
            "beta": BAD,
            "energy": [*BAD, *BAD_CALLABLE],
            "field": BAD_NAME,
        },
    ),
    (
        dln.matrix_free_energy_flow,
        lambda: dict(X0=X, N=3, beta=5.0, energy=2.0, t=[0.0, 0.5], rtol=1e-6, atol=1e-9),
        {
            "X0": bad_square(X, full_rank=True),
            "N": BAD_INT,
            "beta": BAD,
            "energy": [*BAD, *BAD_CALLABLE],
            "t": BAD_TIMES,
            "rtol": BAD,
            "atol": BAD,
            "max_evaluations": BAD_INT,
            "field": BAD_NAME,
        },
    ),
    # --- Schatten
    (
        dln.schatten_minimize,
        lambda: dict(X=X, N=3, p=2.0, rng=_rng(), n_restarts=1, max_outer=2, maxiter=30),
        {
            "X": bad_square(X, full_rank=True),
            "p": BAD,
            "N": BAD_INT,
            "rng": BAD_RNG,
            "n_restarts": BAD_INT,
            "A0": bad_layers(np.broadcast_to(np.eye(2), (2, 2, 2)).copy()),
            "gtol": BAD,
            "objective": BAD_NAME,
            "max_outer": BAD_INT,
            "maxiter": BAD_INT,
            "spread": BAD,
        },
    ),
    (
        dln.schatten_closed_form,
        lambda: dict(X=X, N=3, p=2.0),
        {"X": bad_square(X, full_rank=True), "N": BAD_INT, "p": BAD, "objective": BAD_NAME},
    ),
    (
        dln.schatten_objective,
        lambda: dict(W=WB, p=2.0),
        {"W": bad_layers(WB), "p": BAD, "objective": BAD_NAME},
    ),
    (
        dln.schatten_hessian,
        lambda: dict(W=W1, p=2.0),
        {"W": bad_layers(W1), "p": BAD, "objective": BAD_NAME, "h": BAD},
    ),
    # --- product map, moment map
    (dln.end_to_end, lambda: dict(W=WB), {"W": bad_layers(WB)}),
    (dln.moments, lambda: dict(W=WB), {"W": bad_layers(WB)}),
    (dln.partial_products, lambda: dict(W=WB), {"W": bad_layers(WB)}),
    (dln.dphi, lambda: dict(W=WB, V=VB), {"W": bad_layers(WB), "V": bad_layers(VB)}),
    (dln.dphi_adjoint, lambda: dict(W=WB, Y=PB), {"W": bad_layers(WB), "Y": bad_square(PB)}),
    # --- group action, centre, fiber coordinates
    (dln.act, lambda: dict(A=AB, W=WB), {"A": bad_layers(AB, full_rank=True), "W": bad_layers(WB)}),
    (dln.center, lambda: dict(X=XB, N=3), {"X": bad_square(XB, full_rank=True), "N": BAD_INT}),
    (dln.svd_center, lambda: dict(X=XB, N=3), {"X": bad_square(XB, full_rank=True), "N": BAD_INT}),
    (
        dln.balanced_point,
        lambda: dict(X=XB, N=3, rng=_rng()),
        {"X": bad_square(XB, full_rank=True), "N": BAD_INT, "rng": BAD_RNG},
    ),
    (dln.fiber_coordinates, lambda: dict(W=WB), {"W": bad_layers(WB, full_rank=True)}),
    # --- orbit tangents and the Gram operator
    (dln.orbit_tangent, lambda: dict(W=WB, a=CB), {"W": bad_layers(WB), "a": bad_layers(CB)}),
    (dln.orbit_tangent_adjoint, lambda: dict(W=WB, V=VB), {"W": bad_layers(WB), "V": bad_layers(VB)}),
    (dln.gram_operator, lambda: dict(W=WB, c=CB), {"W": bad_layers(WB), "c": bad_layers(CB)}),
    (dln.gram_matrix, lambda: dict(W=WB), {"W": bad_layers(WB)}),
    (dln.tangent_matrix, lambda: dict(W=WB), {"W": bad_layers(WB)}),
    # --- metric
    (
        dln.A_operator,
        lambda: dict(X=XB, P=PB, N=3),
        {"X": bad_square(XB, full_rank=True), "P": bad_square(PB), "N": BAD_INT},
    ),
    (
        dln.A_operator_inverse,
        lambda: dict(X=XB, Z=PB, N=3),
        {"X": bad_square(XB, full_rank=True), "Z": bad_square(PB), "N": BAD_INT},
    ),
    (
        dln.metric_gN,
        lambda: dict(X=XB, Z1=PB, Z2=PB, N=3),
        {"X": bad_square(XB, full_rank=True), "Z1": bad_square(PB), "Z2": bad_square(PB), "N": BAD_INT},
    ),
    (
        dln.end_to_end_velocity,
        lambda: dict(X=XB, gradE=PB, N=3),
        {"X": bad_square(XB, full_rank=True), "gradE": bad_square(PB), "N": BAD_INT},
    ),
    (
        dln.riemannian_gradient,
        lambda: dict(X=XB, gradE=PB, N=3),
        {"X": bad_square(XB, full_rank=True), "gradE": bad_square(PB), "N": BAD_INT},
    ),
    (dln.spectral_kernel, lambda: dict(sigma=SIGB, N=3), {"sigma": bad_sigma(SIGB), "N": BAD_INT}),
    (dln.horizontal_lift, lambda: dict(W=WB, Z=PB), {"W": bad_layers(WB, full_rank=True), "Z": bad_square(PB)}),
    # --- entropy
    (
        dln.entropy,
        lambda: dict(sigma=SIGB, N=3),
        {"sigma": bad_sigma(SIGB), "N": BAD_INT, "field": BAD_NAME, "constant": BAD_NAME},
    ),
    (
        dln.entropy_gradient,
        lambda: dict(sigma=SIGB, N=3),
        {"sigma": bad_sigma(SIGB), "N": BAD_INT, "field": BAD_NAME},
    ),
    (
        dln.entropy_hessian,
        lambda: dict(sigma=SIGB, N=3),
        {"sigma": bad_sigma(SIGB), "N": BAD_INT, "field": BAD_NAME, "coords": BAD_NAME},
    ),
    (dln.entropy_infinite_depth, lambda: dict(sigma=SIGB), {"sigma": bad_sigma(SIGB), "field": BAD_NAME}),
    (dln.entropy_log_depth_coefficient, lambda: dict(d=2), {"d": BAD_INT, "field": BAD_NAME}),
    (dln.group_volume, lambda: dict(d=2), {"d": BAD_INT, "field": BAD_NAME}),
    (
        dln.jacobi_block,
        lambda: dict(lam_i=SIGB, lam_j=SIGB[::-1], N=3),
        {"lam_i": bad_sigma(SIGB), "lam_j": bad_sigma(SIGB), "N": BAD_INT},
    ),
    (dln.orbit_gram_matrix, lambda: dict(W=WB), {"W": bad_layers(WB), "field": BAD_NAME}),
    (
        dln.orbit_volume_gram,
        lambda: dict(X=XB, N=3, rng=_rng()),
        {
            "X": bad_square(XB, full_rank=True),
            "N": BAD_INT,
            "field": BAD_NAME,
            "rng": BAD_RNG,
            "constant": BAD_NAME,
        },
    ),
    # --- random inputs
    (dln.rng_from_params, lambda: dict(seed=1), {"seed": [*BAD, *BAD_NAME, object()]}),
    (
        dln.random_matrix,
        lambda: dict(rng=_rng(), shape=(2, 2)),
        {"rng": BAD_RNG, "shape": [*BAD_INT, (2, -1), (10**12, 10**12), "s"], "field": BAD_NAME},
    ),
    (
        dln.random_layers,
        lambda: dict(rng=_rng(), N=3, d=2),
        {
            "rng": BAD_RNG,
            "N": BAD_INT,
            "d": BAD_INT,
            "field": BAD_NAME,
            "batch": [*BAD_INT, (2, -1), (10**12,), "s"],
            "scale": BAD,
        },
    ),
    (
        dln.haar_unitary,
        lambda: dict(rng=_rng(), batch=(2,), d=2),
        {"rng": BAD_RNG, "batch": [*BAD_INT, (2, -1), (10**12,), "s"], "d": BAD_INT, "complex_": BAD_NAME},
    ),
    # --- flows
    (
        dln.learning_flow,
        lambda: dict(W0=WB, grad_E=grad_quadratic, t=[0.0, 0.05], **FAST),
        {
            "W0": bad_layers(WB),
            "grad_E": BAD_CALLABLE,
            "t": BAD_FLOW_TIMES,
            "rtol": BAD,
            "atol": BAD,
            "method": BAD_NAME,
            "dt": BAD,
            "progress": BAD_HOOK,
            "stats": BAD_DICT,
        },
    ),
    (
        dln.regularized_flow,
        lambda: dict(W0=WB, grad_E=grad_quadratic, kappa=0.5, t=[0.0, 0.05], **FAST),
        {
            "W0": bad_layers(WB),
            "grad_E": BAD_CALLABLE,
            "kappa": BAD,
            "t": BAD_FLOW_TIMES,
            "rtol": BAD,
            "atol": BAD,
            "method": BAD_NAME,
            "dt": BAD,
            "progress": BAD_HOOK,
            "stats": BAD_DICT,
        },
    ),
    (
        dln.end_to_end_flow,
        lambda: dict(X0=XB, grad_E=grad_quadratic, N=3, t=[0.0, 0.05], **FAST),
        {
            "X0": bad_square(XB, full_rank=True),
            "grad_E": BAD_CALLABLE,
            "N": BAD_INT,
            "t": BAD_FLOW_TIMES,
            "rtol": BAD,
            "atol": BAD,
            "method": BAD_NAME,
            "dt": BAD,
            "progress": BAD_HOOK,
            "stats": BAD_DICT,
        },
    ),
    (
        dln.regularizing_flow,
        lambda: dict(W0=WB, t=[0.0, 0.05], **FAST),
        {
            "W0": bad_layers(WB, full_rank=True),
            "t": BAD_FLOW_TIMES,
            "rtol": BAD,
            "atol": BAD,
            "method": BAD_NAME,
            "dt": BAD,
            "solver": BAD_NAME,
            "progress": BAD_HOOK,
            "stats": BAD_DICT,
        },
    ),
    (
        dln.kirwan_ness_flow,
        lambda: dict(W0=WB, t=[0.0, 0.05], **FAST),
        {
            "W0": bad_layers(WB),
            "t": BAD_FLOW_TIMES,
            "rtol": BAD,
            "atol": BAD,
            "method": BAD_NAME,
            "dt": BAD,
            "progress": BAD_HOOK,
            "stats": BAD_DICT,
        },
    ),
    (
        dln.progress_logger,
        lambda: dict(log=lambda line: None),
        {"log": BAD_HOOK, "every": BAD, "name": [None, 3, ["a"]]},
    ),
    # --- fiber gradients
    (dln.kirwan_ness_field, lambda: dict(W=WB), {"W": bad_layers(WB)}),
    (
        dln.fiber_gradient,
        lambda: dict(W=WB),
        {"W": bad_layers(WB, full_rank=True), "method": BAD_NAME},
    ),
    (
        dln.regularizing_generator,
        lambda: dict(W=WB, method="pcg"),
        {
            "W": bad_layers(WB, full_rank=True),
            "method": BAD_NAME,
            "tol": BAD,
            "maxiter": BAD_INT,
            "b0": bad_layers(CB),
            "info": BAD_DICT,
        },
    ),
]

#: calls made on the returned value (a callback must work when it is used)
POST = {dln.progress_logger: lambda progress: progress(0.5, 1.0, 3)}

PARAMS = [(fn, base, arg) for fn, base, args in CASES for arg in args]
CASES_BY_FN = {fn: (base, args) for fn, base, args in CASES}


class _Hang(BaseException):
    """Raised by the alarm; a BaseException, so that no ``except Exception`` inside the library swallows it."""


@contextmanager
def _time_limit(seconds: float, what: str):
    def _raise(signum, frame):
        raise _Hang(f"{what} ran longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _finite(out) -> bool:
    # the oracle is written here, not imported from dln._errors: it must not share the code it checks
    if isinstance(out, dict):
        return all(_finite(v) for v in out.values())
    if isinstance(out, tuple | list):
        return all(_finite(v) for v in out)
    if hasattr(out, "__dataclass_fields__"):
        return all(_finite(getattr(out, f)) for f in out.__dataclass_fields__)
    if isinstance(out, str | bool | int | type(None)) or callable(out) or isinstance(out, np.random.Generator):
        return True
    arr = np.asarray(out)
    return arr.dtype.kind not in "fc" or bool(np.all(np.isfinite(arr)))


def _shapes(out):
    if isinstance(out, dict):
        return {k: _shapes(v) for k, v in out.items()}
    if isinstance(out, tuple | list):
        return tuple(_shapes(v) for v in out)
    if hasattr(out, "__dataclass_fields__"):
        return tuple(_shapes(getattr(out, f)) for f in out.__dataclass_fields__)
    if isinstance(out, np.ndarray):
        return out.shape
    return None


def _close(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list):
        return isinstance(b, tuple | list) and len(a) == len(b) and all(map(_close, a, b))
    if hasattr(a, "__dataclass_fields__"):
        return all(_close(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    if isinstance(a, np.ndarray | float | complex | np.number):
        return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))
    return True


def _names(arg: str, message: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(arg)}(?![A-Za-z0-9_])", message) is not None


def _show(value) -> str:
    if isinstance(value, np.ndarray):
        finite = bool(np.all(np.isfinite(value))) if value.dtype.kind in "fc" else True
        scale = float(np.max(np.abs(value))) if value.size and value.dtype.kind in "biufc" else 0.0
        return f"array(shape={value.shape}, dtype={value.dtype}, max|.|={scale:.3g}, finite={finite})"
    return repr(value)


def outcome(fn, base, arg, value) -> tuple[str, str]:
    """Run one hostile call: ("ok" | "named" | "non-finite" | "wrong shape" | "wrong value" | "not a DLNError"
    | "wrong argument" | "hang", detail)."""
    kwargs = {**base(), arg: value}
    what = f"{fn.__name__}({arg}={_show(value)})"
    try:
        with _time_limit(TIME_LIMIT_S, what):
            out = fn(**kwargs)
            if fn in POST:
                POST[fn](out)
    except dln.DLNError as exc:
        if _names(arg, str(exc)):
            return "named", f"{what}: {exc}"
        return "wrong argument", f"{what}: the error blames another argument: {exc}"
    except _Hang as exc:
        return "hang", str(exc)
    except Exception as exc:  # anything else is a defect
        return "not a DLNError", f"{what} raised {type(exc).__name__}: {exc}"
    if not _finite(out):
        return "non-finite", f"{what} returned non-finite output without an error"
    ref_value = base()[arg] if arg in base() else None
    same_kind = isinstance(value, np.ndarray) and isinstance(ref_value, np.ndarray) and value.shape == ref_value.shape
    if same_kind and (value.dtype.kind in "biu" or value.dtype.kind == ref_value.dtype.kind):
        with np.errstate(all="ignore"):
            ref = fn(**base())
        if _shapes(out) != _shapes(ref):
            return "wrong shape", f"{what} returned shapes {_shapes(out)}, expected {_shapes(ref)}"
        if value.dtype.kind in "iu":
            with np.errstate(all="ignore"):
                as_float = fn(**{**base(), arg: value.astype(np.float64)})
            if not _close(out, as_float):
                return "wrong value", f"{what} differs from the call with the same float64 array"
    return "ok", what


@pytest.mark.parametrize(("fn", "base", "arg"), PARAMS, ids=[f"{fn.__name__}-{arg}" for fn, _, arg in PARAMS])
def test_hostile_argument_is_finite_output_or_a_named_error(fn, base, arg):
    values = CASES_BY_FN[fn][1][arg]
    todo = list(range(len(values)))

    @settings(
        max_examples=len(todo) * 3,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.sampled_from(todo))
    def check(i):
        kind, detail = outcome(fn, base, arg, values[i])
        assert kind in ("ok", "named"), f"[{kind}] value #{i}: {detail}"

    check()


#: public names that are not functions taking hostile arguments
EXEMPT = {
    "DLNError": "an exception class",
    "NonFiniteError": "an exception class",
    "RankDeficientError": "an exception class",
    "MemoryLimitError": "an exception class",
    "ShapeError": "an exception class",
    "SchattenResult": "the result record of schatten_minimize (fuzzed through it)",
    "SOLVERS": "a tuple of solver names (fuzzed as the method/solver arguments)",
}


def test_the_fuzz_covers_every_public_name():
    fuzzed = {fn.__name__ for fn, _, _ in CASES}
    missing = set(dln.__all__) - fuzzed - set(EXEMPT)
    assert missing == set(), f"public names neither fuzzed nor exempt: {sorted(missing)}"
    assert set(EXEMPT) <= set(dln.__all__), set(EXEMPT) - set(dln.__all__)
    for name in EXEMPT:
        assert not inspect.isfunction(getattr(dln, name)), f"{name} is a function: fuzz it"


def test_every_fuzzed_argument_exists():
    for fn, base, args in CASES:
        params = inspect.signature(fn).parameters
        var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for arg in [*args, *base()]:
            assert arg in params or var_kw, f"{fn.__name__} has no argument {arg!r}"
