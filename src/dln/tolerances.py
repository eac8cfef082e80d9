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
        "adaptive ODE integration run with rtol <= 1e-10 (atol <= rtol): the global error of a stable, "
        "Lipschitz flow over t in [0, 5] stays within ~100 times the local tolerance",
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
        1e-8,
        "|G(T)| / |G_0| of the Kirwan-Ness flow from full-rank starts run to T = 10 + 20 / r* (r* the predicted "
        "slowest rate): the slowest mode has decayed by e^{-20} ~ 2e-9 (measured <= 2e-13); also bounds the "
        "distance of the layer singular values to sigma^{1/N}, which is O(|G(T)|)",
    ),
    "kn_algebraic": Tolerance(
        1e-2,
        "|G(T)| / |G_0| of the Kirwan-Ness flow from rank-deficient starts at T = 100: |G| ~ 1 / (a t) with "
        "a >= 1 on the ledger's starts (measured <= 5e-4)",
    ),
    "monotone_roundoff": Tolerance(
        1e-10,
        "largest increase of |G| between saved times, relative to |G_0|, along a gradient flow of |G|^2/2: "
        "only the round-off of G (~eps |W|^2) can make it positive (measured <= 2e-13)",
    ),
    "asymptotic_rate": Tolerance(
        1e-3,
        "relative difference between a decay rate fitted over the late window (last 30% of the times where "
        "|G| > 1e-9 |W_0|^2) and its predicted asymptotic value: the next mode's share of the window is "
        "below 1e-5 there (measured <= 6e-7 where the slowest mode is visible)",
    ),
    "asymptotic_law": Tolerance(
        1e-2,
        "departure from an asymptotic law over a late window: relative residual of a straight-line "
        "fit of 1/|G(t)| (corrections O(log t / t), measured <= 8e-4), or the decay rate of the excess of "
        "|W|^2 over its minimum, fitted over [0.8 T, T] with T = 5, against 4 (measured <= 2.1e-3 relative)",
    ),
    "posterior_limit": Tolerance(
        1e-3,
        "beta kappa E[G^2] / x - 4 at beta = 1e4 by quadrature (d = 1, N = 2): the Hausdorff correction "
        "4 (m+1) / (2 beta kappa x) is 6e-4 (real) and 9e-4 (complex) there at x = 1.3",
    ),
    "collapse": Tolerance(
        1e-6,
        "a singular value counts as collapsed below 1e-6 of its target (the scalar integrations stop at 1e-8)",
    ),
    "quadrature": Tolerance(
        1e-8,
        "a volume by Gauss-Legendre / periodic trapezoid quadrature of a smooth density whose Jacobian is taken "
        "by central differences (step 1e-6): error ~1e-10 (measured <= 2e-10)",
    ),
    "positive_part": Tolerance(
        1e-12,
        "a quantity that must be <= 0 (a largest eigenvalue of a negative definite matrix, scaled by the largest "
        "|eigenvalue|): its positive part may only be round-off",
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
        "stochastic estimates must lie within this many standard errors of the prediction; "
        "seeds are fixed, so the check is deterministic, and a correct estimator fails a 3-sigma band with "
        "probability 2.7e-3 per independent estimate when the seeds are changed",
    ),
    "order_band": Tolerance(
        0.2,
        "fitted convergence order over a geometric ladder of step sizes must lie within +-0.2 of "
        "the theoretical order (cf. diffrax's fitted-order tests)",
    ),
    "inverse_identity": Tolerance(
        1e-8,
        "exact identity evaluated through a solve with A_{N,X}, whose condition number is about "
        "cond(X)^{2(N-1)/N} (up to 3e5 on the ledger's Gaussian points): forward error <= cond(A) eps d^2 ~ 1e-9",
    ),
    "taylor_slope": Tolerance(
        0.1,
        "log-log slope of a Taylor remainder |f(t) - f(0) - t f'(0)| over t in [1e-5, 1e-1] (points above the "
        "1e-13 round-off floor): 2 + O(t) when f'(0) is the derivative (measured 1.997-2.001), near 1 when it "
        "is wrong by more than the remainder at the smallest t",
    ),
    "ledger_false_fail": Tolerance(
        1e-3,
        "probability that one run of the whole ledger, reseeded, fails a correct implementation: split equally "
        "among the stochastic claims, each of which tests all its z-scores together (Bonferroni, valid under "
        "any dependence between them; normal approximation of each estimate)",
    ),
    # Reproducibility of a run against a committed reference (dln.repro, `dln repro compare`). Measured on the
    # CI configuration with OpenBLAS's SkylakeX, Haswell and Nehalem kernels and numpy's SIMD dispatch limited
    # to AVX2 or to SSE4.2 (one BLAS thread or two: bitwise identical).
    "repro_exact": Tolerance(
        0.0,
        "integers, booleans and strings of a run (statuses, counts, ranks, dimensions, sweep values) compared "
        "with the reference: any difference is a changed result (none changed across BLAS kernels and SIMD paths)",
    ),
    "repro_roundoff": Tolerance(
        1e-9,
        "relative change allowed for a float that is a result in itself (a printed statement's residual, a "
        "positive margin, a number of the book not from the ledger): across BLAS kernels and SIMD paths these "
        "moved by at most 2.5e-14 relative; 1e-9 leaves a factor 4e4 for other compilers and libm",
    ),
    "repro_roundoff_floor": Tolerance(
        1e-14,
        "absolute floor under repro_roundoff for values near 0: about 50 eps, the round-off of a float64 "
        "expression of O(1) data",
    ),
    "repro_residual": Tolerance(
        0.2,
        "change allowed for an enforced residual or deviation, as a fraction of the check's own tolerance: its "
        "digits are round-off or integration error (across BLAS kernels and SIMD paths they moved by up to 100% "
        "of their value and by at most 2.0e-2 of the check's tolerance, LM-Lem1 at identity_tight and LM-Cor1 at "
        "group_conservation), its size against that tolerance is the result (factor 10 of safety)",
    ),
    "repro_information": Tolerance(
        1e-3,
        "relative change allowed for an informational number (reported, deciding nothing; mostly errors and "
        "deviations of adaptive integrations, whose step sequence reacts to round-off, so they move by the "
        "integration error, not by eps): measured at most 2.3e-5 relative (LM-Cor1, a rank-deficient "
        "Kirwan-Ness flow to T = 100 at rtol 1e-9; all others <= 3.3e-9), factor 40 of safety",
    ),
    "repro_information_floor": Tolerance(
        1e-8,
        "absolute floor under repro_information for informational errors below 1e-8, integration and finite-"
        "difference errors whose digits move with the step sequence: measured at most 1.4e-9 absolute "
        "(LM-Cor1-rates, rtol 1e-9)",
    ),
    "repro_monte_carlo": Tolerance(
        0.25,
        "change allowed for a Monte Carlo estimate of a stochastic claim, in its standard errors (a z-score: in "
        "z units): fixed seeds give the same paths, and the estimates moved by at most 6e-13 SE across BLAS "
        "kernels and SIMD paths; round-off on another platform may flip a Metropolis accept/reject decision, "
        "which decorrelates one of the 100 chains and moves the mean by about sqrt(2 / 100) = 0.14 SE; a "
        "reseeded estimate moves by O(1) SE and is caught (probability 0.86 per estimate)",
    ),
    "fiber_wb": Tolerance(
        1e-10,
        "relative error of the fiber gradient w_b from the normal-space iteration against the dense reference, "
        "cond(X) <= 1e12 and d, N <= 8: the stopping rule targets 1e-11 (an upper bound up to the Ritz "
        "estimate of lambda_min) and the dense least squares is accurate to cond(w) eps <= 1e-12 there "
        "(measured <= 6e-12 for both)",
    ),
}


def tol(name: str) -> float:
    """The value of the named tolerance."""
    return TOL[name].value
