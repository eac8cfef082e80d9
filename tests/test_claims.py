"""Every claim on other points than ``dln check`` uses: other sizes, other seeds, both fields.

``dln check`` evaluates each claim on its family's ``LEDGER`` sweep. Here the same measurements run on
``OTHER_POINTS``: other widths and depths (the seeds derive from the parameters, so the random points differ
too). A claim's status must not change: a theorem passes, an erratum stays an erratum, a finding holds.

The stochastic claims (LM-4.2, LM-4.3, NUM-EM-order) run on fresh paths; each uses its share of the ledger's
family-wise false-fail probability ``TOL['ledger_false_fail']``, so this module fails by chance with at most
that probability.
"""

from __future__ import annotations

import pytest

from dln.checks import CLAIMS, FamilyData, run_ledger

#: Sweeps of the families, disjoint in size (or seed) from their LEDGER sweeps.
OTHER_POINTS: dict[str, dict] = {
    "fibers": {"sweep": {"field": ["real", "complex"], "N": [3, 5]}, "fixed": {"d": 4, "n_seeds": 2}},
    "lm_figures": {"sweep": {}, "fixed": {"rate_N": 5, "rate_d": 2, "rate_runs": 2}},
    "regularizing_flow": {"sweep": {"field": ["real", "complex"]}, "fixed": {"N": 4, "d": 4, "n_seeds": 2}},
    "kirwan_ness": {
        "sweep": {"field": ["real", "complex"], "start": ["gaussian", "rank_deficient"]},
        "fixed": {"N": 4, "d": 3, "n_seeds": 2},
    },
    "scale": {
        "sweep": {"field": ["real", "complex"], "start": ["gaussian", "near_identity", "far_from_balanced"]},
        "fixed": {"N": 5, "d": 8, "n_seeds": 2, "T_reg": 1.0, "efolds": 20.0, "T_kn_max": 50.0, "n_t": 6, "cond": 1e6},
    },
    "schatten": {
        "sweep": {"p": [0.5, 1.0, 2.0, 3.0], "objective": ["norms", "powers"], "field": ["real", "complex"]},
        "fixed": {"N": 4, "d": 3, "n_seeds": 1, "n_restarts": 2},
    },
    "learning_flow": {"sweep": {"field": ["real", "complex"]}, "fixed": {"N": 3, "d": 4, "n_seeds": 2}},
    "fast_slow": {
        "sweep": {"kappa": [0.3, 1.1, 1.5], "loss": ["quadratic", "completion"], "field": ["real", "complex"]},
        "fixed": {"N": 3, "d": 3, "seed": 1, "T": 3.0, "n_t": 31, "n_imbalance": 2, "rtol": 1e-10},
    },
    "langevin": {
        "sweep": {"kappa": [0.0, 1.0, 2.0], "loss": ["none", "quadratic"], "field": ["real", "complex"]},
        "fixed": {"N": 2, "d": 3, "seed": 1, "beta": 4.0, "n_paths": 2000, "T": 3.0, "dt": 0.005, "n_save": 7},
    },
    "posterior": {
        "sweep": {"beta": [10.0, 100.0, 1000.0], "field": ["real", "complex"], "d": [1, 2]},
        "fixed": {"N": 2, "seed": 1, "n_chains": 100, "n_steps": 1000},
    },
    "entropy": {
        "sweep": {"field": ["real", "complex"], "N": [4]},
        "fixed": {"d": 2, "seed": 1, "n_samples": 2, "n_points": 30, "n_curve": 21},
    },
    "free_energy": {
        "sweep": {"p": [2.0, 3.0], "field": ["real", "complex"]},
        "fixed": {
            "N": 5,
            "d": 3,
            "seed": 1,
            "beta": 5.0,
            "n_grid": 7,
            "n_starts": 2,
            "T": 40.0,
            "n_t": 41,
            "n_exact": 5,
        },
    },
}


@pytest.fixture(scope="module")
def in_memory_status():
    """Each claim's status as ``dln check`` reports it when its evidence holds."""
    return {cid: c.status_if_holds for cid, c in CLAIMS.items()}


def _holds(family: str, expected: dict) -> None:
    ids = [cid for cid, c in CLAIMS.items() if c.family == family]
    rows = run_ledger(ids, data=FamilyData(sweeps={family: OTHER_POINTS[family]}))
    wrong = {
        r["id"]: (r["status"], r["measured_name"], r["measured"], r["tolerance"], r["error"][-400:])
        for r in rows
        if r["status"] != expected[r["id"]]
    }
    assert not wrong, wrong


def test_every_family_has_other_points_and_every_claim_a_test():
    from dln.checks._claims import tests_of
    from dln.experiments import FAMILIES

    assert set(OTHER_POINTS) == {c.family for c in CLAIMS.values()} <= set(FAMILIES)
    untested = [cid for cid in CLAIMS if not tests_of(cid)]
    assert not untested, f"claims without a test marked @pytest.mark.claims: {untested}"


def test_markers_name_known_claims_and_cover_their_family():
    """Each family test below is marked with exactly its family's claims; no test anywhere names an unknown ID."""
    import ast
    from pathlib import Path

    from dln.checks._claims import _decorator_ids

    here = Path(__file__).parent
    for path in here.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                ids = _decorator_ids(node.decorator_list)
                assert ids <= set(CLAIMS), (path.name, node.name, ids - set(CLAIMS))
                if path == Path(__file__) and node.name.startswith("test_claims_of_"):
                    family = node.name.removeprefix("test_claims_of_")
                    assert ids == {cid for cid, c in CLAIMS.items() if c.family == family}, family


@pytest.mark.claims("LM-Fig1.1", "LM-Fig1.2", "LM-Fig1.3")
def test_claims_of_lm_figures(in_memory_status):
    _holds("lm_figures", in_memory_status)


@pytest.mark.claims(
    "LM-Cons",
    "LM-Lem1",
    "LM-Lem2",
    "LM-Def8",
    "LM-Lem3",
    "LM-Lem4",
    "LM-Lem5",
    "LM-(2.21)",
    "NUM-proj",
    "NUM-solvers",
    "LM-Rem9",
    "LM-Thm10",
    "LM-Rem18",
    "MY-metric",
    "LM-(2.7)",
    "LM-1.3.2-align",
    "LM-Rem18-dim",
    "LM-Inv-dim",
)
def test_claims_of_fibers(in_memory_status):
    _holds("fibers", in_memory_status)


@pytest.mark.claims("LM-Thm2")
def test_claims_of_regularizing_flow(in_memory_status):
    _holds("regularizing_flow", in_memory_status)


@pytest.mark.slow
@pytest.mark.claims("LM-Cor1", "LM-Cor1-rates", "LM-(2.31)")
def test_claims_of_kirwan_ness(in_memory_status):
    _holds("kirwan_ness", in_memory_status)


@pytest.mark.claims("LM-Inv", "LM-Rem5")
def test_claims_of_learning_flow(in_memory_status):
    _holds("learning_flow", in_memory_status)


@pytest.mark.slow
@pytest.mark.claims("LM-Thm2-scale", "LM-Cor1-scale")
def test_claims_of_scale(in_memory_status):
    _holds("scale", in_memory_status)


@pytest.mark.slow
@pytest.mark.claims("LM-Thm1", "LM-Thm20", "LM-p1", "LM-Thm14-p2", "LM-Thm20-powers", "LM-Thm20-quasi")
def test_claims_of_schatten(in_memory_status):
    _holds("schatten", in_memory_status)


@pytest.mark.slow
@pytest.mark.claims("LM-4.1", "LM-4.1-fold", "LM-4.1-window")
def test_claims_of_fast_slow(in_memory_status):
    _holds("fast_slow", in_memory_status)


@pytest.mark.slow
@pytest.mark.claims("LM-4.2", "NUM-EM-order")
def test_claims_of_langevin(in_memory_status):
    _holds("langevin", in_memory_status)


@pytest.mark.slow
@pytest.mark.claims("LM-4.3", "LM-4.3-hausdorff")
def test_claims_of_posterior(in_memory_status):
    _holds("posterior", in_memory_status)


@pytest.mark.slow
@pytest.mark.claims("MY-Thm4", "MY-complex", "MY-Jacobi", "MY-const", "CKM-concavity")
def test_claims_of_entropy(in_memory_status):
    _holds("entropy", in_memory_status)


@pytest.mark.slow
@pytest.mark.claims("CKM-flow", "CKM-Thm1.2", "CKM-Thm1.3", "CKM-complex", "CKM-Thm1.7", "CKM-Rmk1.4")
def test_claims_of_free_energy(in_memory_status):
    _holds("free_energy", in_memory_status)
