"""One named table of numerical tolerances, each with the reason for its size.

Tests, the theorem ledger and the workflow read tolerances from here only, so a
loosened tolerance is visible and reviewable in one place (cf. geomstats).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Tolerance", "TOL", "tol"]


@dataclass(frozen=True)
class Tolerance:
    """A tolerance value and why it has that size."""

    value: float
    reason: str

    def __float__(self) -> float:
        return self.value


TOL: dict[str, Tolerance] = {
    "identity": Tolerance(
        1e-10,
        "exact algebraic identity evaluated in float64 on O(1) random inputs with d, N <= 8: "
        "round-off is ~1e-15 times a growth factor <= 1e4 from products of N Gaussian layers",
    ),
    "identity_tight": Tolerance(
        1e-12,
        "exact identity with no products of more than two layers (Lemma 1, Lemma 3): round-off ~1e-15",
    ),
    "fd_central": Tolerance(
        1e-7,
        "central finite difference with h = 1e-5: truncation O(h^2) ~ 1e-10 times third derivatives, "
        "plus round-off eps/h ~ 1e-11, on O(1)-scaled inputs",
    ),
    "linear_solve": Tolerance(
        1e-9,
        "residual of a linear solve relative to the right-hand side: cond(H) <= 1e6 on the test "
        "inputs times eps ~ 2e-16 gives <= 2e-10",
    ),
    "solver_agreement": Tolerance(
        1e-8,
        "relative disagreement between two backward-stable solvers of the same system: "
        "cond(system) * eps with cond up to ~1e7 on the ill-conditioned test inputs",
    ),
    "fiber_ill_b": Tolerance(
        1e-7,
        "relative error of the fiber-gradient generator b against the dense reference at cond(X) <= 1e12: "
        "cond(H) reaches ~1e8 there, so any backward-stable solver has forward error ~cond(H) eps ~ 2e-8 "
        "(measured <= 1e-9 for pcg, <= 4e-10 for block)",
    ),
    "group_conservation": Tolerance(
        1e-12,
        "X conserved by a group integrator (W <- exp(h a).W): only round-off from the product of "
        "exponentials accumulates, ~1e-15 per step over <= 1e3 steps",
    ),
    "ode_adaptive": Tolerance(
        1e-8,
        "adaptive ODE integration run with rtol = atol = 1e-11: global error a few hundred times the "
        "local tolerance over t in [0, 5]",
    ),
    "ode_drift": Tolerance(
        1e-5,
        "quantities not preserved by the integrator's structure (e.g. X under plain RK4 for the "
        "Kirwan-Ness flow), bounded by the global error of the ODE solver",
    ),
    "optimizer": Tolerance(
        1e-10,
        "minimum found by L-BFGS with gradient tolerance 1e-12 relative to the closed form: "
        "quadratic convergence near the minimum gives value error ~ |grad|^2",
    ),
    "kn_convergence": Tolerance(
        1e-5,
        "|G(T)| of the Kirwan-Ness flow at T = 40 from Gaussian starts: the decay rate is not uniform "
        "(slowest mode ~0.3 for d = 3, N = 5), so e^{-0.3 * 40} ~ 6e-6 bounds what is reachable",
    ),
    "ode_tight": Tolerance(
        1e-9,
        "two adaptive DP5(4) integrations at rtol 1e-12 compared over t <= 2: the global error of each "
        "is ~1e-11, the difference a hundred times smaller than this bound",
    ),
    "balancedness_optimizer": Tolerance(
        1e-7,
        "|G|/|W|^2 at an L-BFGS + Newton minimizer on the fiber: |G| is linear in the distance to the "
        "orbit, which is ~sqrt(value gap) ~ 1e-8 for a gap at round-off (measured <= 1.4e-12)",
    ),
    "monte_carlo_sigmas": Tolerance(
        3.0,
        "stochastic estimates must lie within this many standard errors of the prediction (issue 5); "
        "seeds are fixed, so the check is deterministic, and a correct estimator fails a 3-sigma band with "
        "probability 2.7e-3 per independent estimate when the seeds are changed",
    ),
    "order_band": Tolerance(
        0.2,
        "fitted convergence order over a geometric ladder of step sizes must lie within +-0.2 of "
        "the theoretical order (cf. diffrax's fitted-order tests)",
    ),
}


def tol(name: str) -> float:
    """The value of the named tolerance."""
    return TOL[name].value
