"""dln: geometry and dynamics of the deep linear network.

Conventions: layers ``W`` have shape ``(..., N, d, d)`` with ``W[..., k-1] = W_k``
(first layer first); X = W_N ... W_1; inner product Re Tr(A^* B). Real
(float64) and complex (complex128) inputs are both supported.
"""

from ._action import act, balanced_point, center, fiber_coordinates, svd_center
from ._errors import DLNError, NonFiniteError, RankDeficientError, ShapeError
from ._fiber import SOLVERS, fiber_gradient, kirwan_ness_field, regularizing_generator
from ._product import dphi, dphi_adjoint, end_to_end, moments, partial_products
from ._random import haar_unitary, random_layers, random_matrix, rng_from_params
from ._tangent import gram_matrix, gram_operator, orbit_tangent, orbit_tangent_adjoint, tangent_matrix

__version__ = "0.1.0"

__all__ = [
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
