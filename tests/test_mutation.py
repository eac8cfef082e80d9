"""Every claim can fail: each public function a claim checks, perturbed, is noticed by the ledger.

For every function listed in some claim's ``implements`` and every mutant kind of :mod:`dln.checks.mutation`
(output x (1 + 1e-5); a random perturbation of relative size 1e-5; the same in the last layer only; a dropped
complex conjugate; a dropped transpose), the claims that list the function run on their families' small
``MUTATION`` sweeps, and at least one must fail. Kinds that do not apply to a function's outputs (the conjugate
of a real array) or change nothing (the transpose of a symmetric matrix) are reported as such, not counted.
The same run is ``dln mutate``.
"""

from __future__ import annotations

import inspect
import os

import pytest

import dln
from dln.checks import CLAIMS, mutation


def test_every_public_function_is_checked_or_excluded():
    public = {name for name in dln.__all__ if callable(getattr(dln, name)) and not inspect.isclass(getattr(dln, name))}
    checked = set(mutation.targets())
    assert checked <= public, checked - public
    assert not checked & set(mutation.EXCLUDED), checked & set(mutation.EXCLUDED)
    unchecked = public - checked - set(mutation.EXCLUDED)
    assert not unchecked, f"public functions no claim checks (add them to a claim or to EXCLUDED): {unchecked}"


def test_a_mutant_is_noticed_and_restored():
    """The harness itself: a scaled dln.moments fails LM-Cons, and the original is back afterwards."""
    original = dln.moments
    res = mutation.run_mutant("moments", "scale")
    assert res["outcome"] == "killed" and res["killed_by"] and res["max_change"] == pytest.approx(1e-5)
    from dln import _product

    assert dln.moments is original and _product.moments is original
    assert all(c in CLAIMS for c in res["evaluated"])


@pytest.mark.slow
def test_every_mutant_is_noticed():
    results = mutation.run_all(jobs=max(1, min(2, os.cpu_count() or 1)))
    survived = [(r["function"], r["kind"], r["evaluated"]) for r in results if r["outcome"] == "survived"]
    assert not survived, f"mutants no claim noticed: {survived}"
    killed = {r["function"] for r in results if r["outcome"] == "killed"}
    assert killed == set(mutation.targets()), set(mutation.targets()) - killed
    print("\n" + mutation.format_report(results))
