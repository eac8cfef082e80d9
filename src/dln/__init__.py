"""dln: geometry and dynamics of the deep linear network.

Conventions: layers ``W`` have shape ``(..., N, d, d)`` with ``W[..., k-1] = W_k``
(first layer first); X = W_N ... W_1; inner product Re Tr(A^* B). Real
(float64) and complex (complex128) inputs are both supported.
"""

from ._action import act, balanced_point, center, fiber_coordinates, svd_center
from ._entropy import (
    entropy,
    entropy_gradient,
    entropy_hessian,
    entropy_infinite_depth,
    entropy_log_depth_coefficient,
    group_volume,
    jacobi_block,
    orbit_gram_matrix,
    orbit_volume_gram,
)
from ._errors import DLNError, NonFiniteError, RankDeficientError, ShapeError
from ._fiber import SOLVERS, fiber_gradient, kirwan_ness_field, regularizing_generator
from ._flows import end_to_end_flow, kirwan_ness_flow, learning_flow, regularized_flow, regularizing_flow
from ._free_energy import (
    chamber_metric,
    entropic_constant,
    equal_sv_solution,
    equilibrium,
    free_energy,
    free_energy_field,
    free_energy_flow,
    free_energy_gradient,
    free_energy_jacobian,
    infinite_depth_limits,
    matrix_free_energy_field,
    matrix_free_energy_flow,
    relaxation_rates,
    spectral_gradient,
)
from ._integrators import progress_logger
from ._metric import (
    A_operator,
    A_operator_inverse,
    end_to_end_velocity,
    horizontal_lift,
    metric_gN,
    riemannian_gradient,
    spectral_kernel,
)
from ._posterior import (
    effective_sample_size,
    fiber_log_density,
    integrated_autocorr_time,
    posterior_laplace_G2,
    posterior_quadrature_d1,
    sample_fiber_posterior,
)
from ._product import dphi, dphi_adjoint, end_to_end, moments, partial_products
from ._random import haar_unitary, random_layers, random_matrix, rng_from_params
from ._schatten import SchattenResult, schatten_closed_form, schatten_hessian, schatten_minimize, schatten_objective
from ._stochastic import (
    brownian_increments,
    langevin_drift,
    langevin_em,
    langevin_em_ladder,
    noise_growth_coefficient,
    ou_exact,
    ou_moment_G,
    ou_stationary_G2,
)
from ._tangent import gram_matrix, gram_operator, orbit_tangent, orbit_tangent_adjoint, tangent_matrix

__version__ = "0.1.0"

__all__ = [
    "A_operator",
    "A_operator_inverse",
    "end_to_end_velocity",
    "metric_gN",
    "spectral_kernel",
    "end_to_end_flow",
    "progress_logger",
    "kirwan_ness_flow",
    "learning_flow",
    "regularized_flow",
    "regularizing_flow",
    "SchattenResult",
    "schatten_closed_form",
    "schatten_hessian",
    "schatten_minimize",
    "schatten_objective",
    "brownian_increments",
    "langevin_drift",
    "langevin_em",
    "langevin_em_ladder",
    "noise_growth_coefficient",
    "ou_exact",
    "ou_moment_G",
    "ou_stationary_G2",
    "effective_sample_size",
    "fiber_log_density",
    "integrated_autocorr_time",
    "posterior_laplace_G2",
    "posterior_quadrature_d1",
    "sample_fiber_posterior",
    "entropy",
    "entropy_gradient",
    "entropy_hessian",
    "entropy_infinite_depth",
    "entropy_log_depth_coefficient",
    "group_volume",
    "jacobi_block",
    "orbit_gram_matrix",
    "orbit_volume_gram",
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
    "horizontal_lift",
    "riemannian_gradient",
    "DLNError",
    "NonFiniteError",
    "RankDeficientError",
    "SOLVERS",
    "ShapeError",
    "act",
    "balanced_point",
    "center",
    "dphi",
    "dphi_adjoint",
    "end_to_end",
    "fiber_coordinates",
    "fiber_gradient",
    "gram_matrix",
    "gram_operator",
    "haar_unitary",
    "kirwan_ness_field",
    "moments",
    "orbit_tangent",
    "orbit_tangent_adjoint",
    "partial_products",
    "random_layers",
    "random_matrix",
    "regularizing_generator",
    "rng_from_params",
    "svd_center",
    "tangent_matrix",
]
