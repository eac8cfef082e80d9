"""dln: geometry and dynamics of the deep linear network.

Conventions: layers ``W`` have shape ``(..., N, d, d)`` with ``W[..., k-1] = W_k``
(first layer first); X = W_N ... W_1; inner product Re Tr(A^* B). Real
(float64) and complex (complex128) inputs are both supported.

The public names are imported on first use (PEP 562), so ``import dln`` is cheap and a process that uses one
module does not load the others (SciPy, the fiber solvers).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Private module -> the public names it provides.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "_action": ("act", "balanced_point", "center", "fiber_coordinates", "svd_center"),
    "_entropy": (
        "entropy",
        "entropy_gradient",
        "entropy_hessian",
        "entropy_infinite_depth",
        "entropy_log_depth_coefficient",
        "group_volume",
        "jacobi_block",
        "orbit_gram_matrix",
        "orbit_volume_gram",
    ),
    "_errors": ("DLNError", "MemoryLimitError", "NonFiniteError", "RankDeficientError", "ShapeError"),
    "_fiber": ("SOLVERS", "fiber_gradient", "kirwan_ness_field", "regularizing_generator"),
    "_flows": ("end_to_end_flow", "kirwan_ness_flow", "learning_flow", "regularized_flow", "regularizing_flow"),
    "_free_energy": (
        "chamber_metric",
        "entropic_constant",
        "equal_sv_solution",
        "equilibrium",
        "free_energy",
        "free_energy_field",
        "free_energy_flow",
        "free_energy_gradient",
        "free_energy_jacobian",
        "infinite_depth_limits",
        "matrix_free_energy_field",
        "matrix_free_energy_flow",
        "relaxation_rates",
        "spectral_gradient",
    ),
    "_integrators": ("progress_logger",),
    "_metric": (
        "A_operator",
        "A_operator_inverse",
        "end_to_end_velocity",
        "horizontal_lift",
        "metric_gN",
        "riemannian_gradient",
        "spectral_kernel",
    ),
    "_posterior": (
        "effective_sample_size",
        "fiber_log_density",
        "integrated_autocorr_time",
        "posterior_laplace_G2",
        "posterior_quadrature_d1",
        "sample_fiber_posterior",
    ),
    "_product": ("dphi", "dphi_adjoint", "end_to_end", "moments", "partial_products"),
    "_random": ("haar_unitary", "random_layers", "random_matrix", "rng_from_params"),
    "_schatten": (
        "SchattenResult",
        "schatten_closed_form",
        "schatten_hessian",
        "schatten_minimize",
        "schatten_objective",
    ),
    "_stochastic": (
        "brownian_increments",
        "langevin_drift",
        "langevin_em",
        "langevin_em_ladder",
        "noise_growth_coefficient",
        "ou_exact",
        "ou_moment_G",
        "ou_stationary_G2",
    ),
    "_tangent": ("gram_matrix", "gram_operator", "orbit_tangent", "orbit_tangent_adjoint", "tangent_matrix"),
}

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
