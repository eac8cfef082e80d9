"""Generate ``config.schema.yaml`` from one table of parameters (run after adding a parameter).

    python workflow/schemas/make_schema.py            # rewrite config.schema.yaml
    python workflow/schemas/make_schema.py --check    # exit 1 if the file is stale

Every experiment parameter has ONE entry in :data:`PARAMS` (type, range, description);
:data:`FAMILY_PARAMS` lists which parameters each family accepts (exactly the keys of
``dln.experiments.<family>.DEFAULT_PARAMS``; tests/test_config_schema.py checks that) and which
of them may be swept (``sweep``: the module's ``SWEEP_KEYS``/``_SCALARS``, the dimensions its
``aggregate`` combines jobs along).
Under ``families.<family>`` a parameter goes either in ``sweep`` (a list of values, one job
per combination) or in ``fixed`` (one value shared by every job).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

INT = "integer"
NUM = "number"
STR = "string"
BOOL = "boolean"

#: name -> JSON schema of one value (with a description).
PARAMS: dict[str, dict] = {
    "N": {"type": INT, "minimum": 2, "maximum": 1024, "description": "number of layers N of the deep linear network"},
    "d": {"type": INT, "minimum": 1, "maximum": 16, "description": "layer width d (every W_k is d x d)"},
    "field": {"type": STR, "enum": ["real", "complex"], "description": "scalar field of the matrices"},
    "seed": {
        "type": INT,
        "minimum": 0,
        "maximum": 1000000,
        "description": "seed index; the RNG comes from a SeedSequence of all the job's parameters",
    },
    "T": {"type": NUM, "exclusiveMinimum": 0, "maximum": 10000, "description": "final (dimensionless) flow time"},
    "n_t": {"type": INT, "minimum": 2, "maximum": 100000, "description": "number of output times in [0, T]"},
    "kappa": {"type": NUM, "minimum": 0, "maximum": 1000, "description": "regularization strength kappa"},
    "beta": {"type": NUM, "exclusiveMinimum": 0, "maximum": 1e6, "description": "inverse temperature beta"},
    "p": {"type": NUM, "exclusiveMinimum": 0, "maximum": 1000, "description": "Schatten exponent p"},
    "n_restarts": {"type": INT, "minimum": 1, "maximum": 1000, "description": "number of optimizer restarts"},
    "loss": {
        "type": STR,
        "enum": ["quadratic", "completion"],
        "description": "training loss: quadratic E = |X - Phi|^2/2 or masked matrix completion",
    },
    "imbalance_min": {
        "type": NUM,
        "exclusiveMinimum": 0,
        "maximum": 10,
        "description": "smallest imbalance level s of the unbalanced starts exp(s a).C",
    },
    "imbalance_max": {
        "type": NUM,
        "exclusiveMinimum": 0,
        "maximum": 10,
        "description": "largest imbalance level s of the unbalanced starts exp(s a).C",
    },
    "n_imbalance": {"type": INT, "minimum": 1, "maximum": 100, "description": "number of imbalance levels"},
    "mask_density": {
        "type": NUM,
        "exclusiveMinimum": 0,
        "maximum": 1,
        "description": "fraction of observed entries of the completion mask",
    },
    "rtol": {"type": NUM, "exclusiveMinimum": 0, "maximum": 0.1, "description": "relative tolerance of the ODE solver"},
    "dt": {"type": NUM, "exclusiveMinimum": 0, "maximum": 1, "description": "integrator step size"},
    "n_paths": {"type": INT, "minimum": 1, "maximum": 10000000, "description": "number of sample paths"},
    "n_save": {"type": INT, "minimum": 2, "maximum": 100000, "description": "number of saved times in [0, T]"},
    "n_chains": {"type": INT, "minimum": 1, "maximum": 1000000, "description": "number of Markov chains"},
    "n_steps": {"type": INT, "minimum": 1, "maximum": 100000000, "description": "number of MCMC steps per chain"},
    "n_samples": {"type": INT, "minimum": 1, "maximum": 1000000, "description": "number of random samples"},
    "n_curve": {"type": INT, "minimum": 2, "maximum": 100000, "description": "number of points on the plotted curve"},
    "n_grid": {"type": INT, "minimum": 2, "maximum": 2000, "description": "grid points per axis of the phase portrait"},
    "sigma_max": {
        "type": NUM,
        "exclusiveMinimum": 0,
        "maximum": 1000,
        "description": "largest singular value of the phase-portrait grid and of the random starts",
    },
    "n_starts": {"type": INT, "minimum": 1, "maximum": 10000, "description": "number of random initial conditions"},
    "n_exact": {
        "type": INT,
        "minimum": 2,
        "maximum": 100000,
        "description": "number of times at which the exact equal-singular-value solution is compared",
    },
    "start": {"type": STR, "enum": ["gaussian"], "description": "kind of initial condition"},
    "n_seeds": {"type": INT, "minimum": 1, "maximum": 10000, "description": "number of random points (seeds) per job"},
    "objective": {
        "type": STR,
        "enum": ["norms", "powers"],
        "description": "Schatten objective: sum of norms (LM eq. 3.8) or sum of p-th powers (p = 2: |W|^2)",
    },
    "efolds": {
        "type": NUM,
        "exclusiveMinimum": 0,
        "maximum": 1000,
        "description": "full-rank starts run to T = 10 + efolds / r*, r* the predicted slowest decay rate",
    },
    "T_rank_deficient": {
        "type": NUM,
        "exclusiveMinimum": 0,
        "maximum": 100000,
        "description": "final time of the Kirwan-Ness flow from rank-deficient starts",
    },
    "n_points": {"type": INT, "minimum": 1, "maximum": 100000, "description": "number of random points of the chamber"},
    "balance_tol": {
        "type": NUM,
        "exclusiveMinimum": 0,
        "maximum": 1,
        "description": "relative imbalance |G|/|W|^2 below which a trajectory counts as balanced",
    },
}

#: family -> its parameters (the keys of dln.experiments.<family>.DEFAULT_PARAMS).
FAMILY_PARAMS: dict[str, dict] = {
    "fibers": {
        "description": "fibers, moments and the Gram operator at random points (LM §1-3, MY's metric): the library "
        "against the printed formulas",
        "sweep": ["d", "N", "field"],
        "params": ["d", {"N": {"minimum": 3}}, "field", "n_seeds"],
    },
    "regularizing_flow": {
        "description": "the regularizing flow on a fiber (LM eq. 1.17, Thm 2): G(t) = G_0 e^{-2t}",
        "sweep": ["N", "d", "field"],
        "params": ["N", "d", "field", "n_seeds", "T", {"n_t": {"minimum": 5}}, "rtol"],
    },
    "kirwan_ness": {
        "description": "the Kirwan-Ness flow (LM eq. 1.22, Thm 10, eq. 2.31, Cor 1), full-rank and rank-deficient",
        "sweep": ["N", "d", "field", "start"],
        "params": [
            "N",
            "d",
            "field",
            {
                "start": {
                    "enum": ["gaussian", "rank_deficient"],
                    "description": "initial layers: gaussian, or gaussian with the middle layer's smallest "
                    "singular value set to 0 (X singular)",
                }
            },
            "n_seeds",
            "efolds",
            "T_rank_deficient",
            {"n_t": {"minimum": 11}},
            "rtol",
        ],
    },
    "learning_flow": {
        "description": "the learning flow and its end-to-end reduction (LM eq. 1.2, Remark 5)",
        "sweep": ["N", "d", "field"],
        "params": ["N", "d", "field", "n_seeds", "T", "n_t", "rtol"],
    },
    "fast_slow": {
        "sweep": ["kappa", "loss", "field", "N", "d", "seed"],
        "description": "fast-slow regularized training (LM section 4.1): full vs reduced flow, fold and window",
        "params": [
            "N",
            "d",
            "field",
            "seed",
            "kappa",
            "loss",
            "T",
            "n_t",
            "imbalance_min",
            "imbalance_max",
            "n_imbalance",
            "mask_density",
            "rtol",
            "balance_tol",
        ],
    },
    "schatten": {
        "sweep": ["p", "objective", "N", "d", "field"],
        "description": "Schatten-p minimization over the fiber (LM Thm 1, Thm 14(2), Thm 20, p = 1)",
        "params": ["p", "objective", "N", "d", "field", "n_seeds", "n_restarts"],
    },
    "langevin": {
        "sweep": ["kappa", "beta", "loss", "field", "N", "d", "seed", "dt"],
        "description": "background noise (LM section 4.2): Euler-Maruyama ensembles of the Langevin equation",
        "params": [
            "N",
            "d",
            "field",
            "seed",
            "kappa",
            "beta",
            "dt",
            "n_paths",
            "T",
            {
                "loss": {
                    "enum": ["none", "quadratic"],
                    "description": "loss: none (the OU process, LM eq. 4.2) or quadratic E = |X - Y|^2/2",
                }
            },
            {"n_save": {"minimum": 3}},
        ],
    },
    "posterior": {
        "sweep": ["beta", "kappa", "field", "N", "d", "seed"],
        "description": "the posterior on a fiber (LM section 4.3): concentration on the minimizing orbit as beta grows",
        "params": ["N", "d", "field", "seed", "beta", "kappa", "n_chains", "n_steps"],
    },
    "entropy": {
        "sweep": ["d", "N", "field", "seed"],
        "description": "the Menon-Yu entropy formula, its complex case, c_d, and the concavity of S_N (CKM)",
        "params": [{"d": {"minimum": 2}}, "N", "field", "seed", "n_samples", "n_points", "n_curve"],
    },
    "free_energy": {
        "sweep": ["N", "p", "beta", "d", "field", "seed"],
        "description": "the CKM free-energy flow on singular values (CKM Fig. 1, Thm 1.2, 1.3, 1.7, Rmk 1.4)",
        "params": [
            "N",
            {"p": {"description": "exponent p of the Schatten energy E = (1/p) sum sigma_i^p"}},
            "beta",
            {"d": {"minimum": 2}},
            "field",
            "seed",
            "n_grid",
            "sigma_max",
            "n_starts",
            "T",
            "n_t",
            {"n_exact": {"minimum": 3}},
        ],
    },
}


def param_names(family: str) -> list[str]:
    """The parameter names of a family, in order."""
    return [next(iter(e)) if isinstance(e, dict) else e for e in FAMILY_PARAMS[family]["params"]]


def param_schema(entry) -> tuple[str, dict]:
    """(name, schema) of one FAMILY_PARAMS entry: a name, or {name: overrides of PARAMS[name]}."""
    if isinstance(entry, dict):
        (name, over), *_ = entry.items()
        return name, {**PARAMS[name], **over}
    return entry, dict(PARAMS[entry])


ORDER = (
    "fibers",
    "regularizing_flow",
    "kirwan_ness",
    "learning_flow",
    "schatten",
    "fast_slow",
    "langevin",
    "posterior",
    "entropy",
    "free_energy",
)


def family_schema(family: str) -> dict:
    spec = FAMILY_PARAMS[family]
    sweep, fixed = {}, {}
    sweepable = spec.get("sweep", param_names(family))
    for entry in spec["params"]:
        name, one = param_schema(entry)
        desc = one["description"]
        fixed[name] = one
        if name not in sweepable:
            continue
        sweep[name] = {
            "type": "array",
            "description": f"values of {name} to sweep over ({desc})",
            "items": {k: v for k, v in one.items() if k != "description"},
            "minItems": 1,
            "uniqueItems": True,
        }
    return {
        "type": "object",
        "description": spec["description"]
        + ". Parameters left out of both 'sweep' and 'fixed' take the module's DEFAULT_PARAMS.",
        "additionalProperties": False,
        "required": ["sweep"],
        "properties": {
            "sweep": {
                "type": "object",
                "description": "parameters swept over: one job per combination (cartesian product); only the "
                "parameters that the family's aggregate() combines along a dimension can be swept",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": sweep,
            },
            "fixed": {
                "type": "object",
                "description": "parameters shared by every job of the family",
                "additionalProperties": False,
                "default": {},
                "properties": fixed,
            },
        },
    }


def schema() -> dict:
    families = [f for f in ORDER if f in FAMILY_PARAMS]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dln workflow configuration",
        "description": "Configuration of the dln Snakemake workflow (config/config.yaml, config/ci.yaml). "
        "Generated by workflow/schemas/make_schema.py: edit that file, not this one.",
        "type": "object",
        "additionalProperties": False,
        "required": ["families"],
        "properties": {
            "families": {
                "type": "object",
                "description": "experiment families to run, each with its sweep; a family left out is not run",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {f: family_schema(f) for f in families},
            },
            "figures": {
                "type": "boolean",
                "default": True,
                "description": "draw results/figures/<family>_overview.png for the Snakemake report",
            },
            "ledger": {
                "type": "boolean",
                "default": True,
                "description": "run the theorem ledger (results/ledger.json, results/ledger.nc)",
            },
            "book": {
                "type": "boolean",
                "default": True,
                "description": "build the Jupyter Book (needs every family and the ledger)",
            },
        },
    }


def render() -> str:
    head = "# GENERATED by workflow/schemas/make_schema.py -- edit that file and rerun it.\n"
    return head + yaml.safe_dump(schema(), sort_keys=False, width=110, allow_unicode=True)


def main(argv: list[str]) -> int:
    target = HERE / "config.schema.yaml"
    text = render()
    if "--check" in argv:
        if not target.exists() or target.read_text() != text:
            print(f"{target} is stale: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
