"""The claims registry: every checkable claim of the papers, the evidence that decides it, and its status.

A claim is registered with :func:`claim` on a function ``measure(ds) -> Evidence`` of ONE dataset: the
aggregated dataset of the experiment family that holds its evidence (``dln.experiments.<family>``). The
same function decides the claim everywhere: ``dln check`` runs the family's ``simulate`` in memory over
the family's small ``LEDGER`` sweep and applies it; the workflow applies it to ``results/<family>.nc``.

Evidence
--------
An :class:`Evidence` collects named numbers. Each is either **enforced** (compared with a named tolerance
of :data:`dln.tolerances.TOL`; the claim's statement holds when every enforced number passes) or
**information** (reported, never decides). Stochastic evidence is a set of z-scores tested together
with a Bonferroni threshold (valid under any dependence between them), so that the false-fail
probability of one whole ledger run stays below ``TOL["ledger_false_fail"]`` (see :func:`stochastic_alpha`).

Statuses
--------
- ``pass``: a theorem, lemma or identity of a paper; every enforced number holds.
- ``erratum``: the statement as printed is wrong: every enforced number of the corrected statement holds
  and the printed statement's residual exceeds its tolerance.
- ``notation``: a wording or normalization issue that is not a mathematical error; the statement holds
  under the reading given in ``printed``.
- ``finding``: a statement beyond the papers, derived here; every enforced number holds.
- ``open``: a question the paper leaves open; the evidence gathered holds (it supports an answer, it proves none).
- ``fail``: anything else (an enforced number out of tolerance, a NaN, an exception, a missing or
  unreadable dataset, an erratum whose printed statement holds after all).
"""

from __future__ import annotations

import inspect
import math
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..tolerances import TOL

__all__ = [
    "KINDS",
    "STATUSES",
    "PAPERS",
    "Claim",
    "Evidence",
    "Item",
    "CLAIMS",
    "claim",
    "stochastic_alpha",
    "evaluate",
    "where",
]

#: Kinds of claims, and the status each has when its evidence holds.
KINDS: dict[str, str] = {
    "theorem": "pass",
    "erratum": "erratum",
    "notation": "notation",
    "finding": "finding",
    "open": "open",
}

#: Every possible status of a ledger row.
STATUSES: tuple[str, ...] = ("pass", "erratum", "notation", "finding", "open", "fail")

#: The papers (and the numerics, for claims about the methods themselves).
PAPERS: dict[str, str] = {
    "LM": "Lindsey & Menon, Regularization implies balancedness in the deep linear network, arXiv:2511.01137v2",
    "MY": "Menon & Yu, An entropy formula for the deep linear network, arXiv:2509.09088",
    "CKM": "Chen, Kotwal & Menon, Entropic regularization in the deep linear network, arXiv:2512.06137",
    "NUM": "the numerical methods of this project (no paper)",
}

#: Relations between an enforced number and its tolerance.
RELATIONS = {
    "le": "value <= tolerance",
    "dev": "|value - target| <= tolerance",
    "gt": "value > target",
    "eq": "value == target (exact)",
    "z": "max |z| <= Bonferroni threshold",
}


@dataclass
class Item:
    """One number of the evidence."""

    name: str
    value: float
    definition: str
    enforced: bool
    relation: str = ""
    tolerance_name: str = ""
    tolerance: float | None = None
    target: float | None = None
    holds: bool | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "value": _num(self.value),
            "definition": self.definition,
            "enforced": self.enforced,
        }
        if self.enforced:
            out.update(
                {
                    "relation": self.relation,
                    "tolerance_name": self.tolerance_name,
                    "tolerance": _num(self.tolerance),
                    "target": _num(self.target),
                    "holds": bool(self.holds),
                }
            )
        if self.extra:
            out["extra"] = {
                k: _num(v) if isinstance(v, float | int | np.floating | np.integer) else v
                for k, v in self.extra.items()
            }
        return out


def _num(x):
    if x is None:
        return None
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


class Evidence:
    """The numbers a claim's measurement produced: enforced ones, information, the printed statement's residual."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.printed: Item | None = None
        self.coverage: dict[str, list] = {}
        self._z: list[tuple[str, np.ndarray, str, np.ndarray | None, int]] = []
        self.alpha: float | None = None  # set by the registry for stochastic claims

    # -- enforced numbers ---------------------------------------------------------------------------
    def require(self, name: str, value, tolerance: str, definition: str, *, target: float | None = None) -> bool:
        """Enforce ``value <= TOL[tolerance]`` (or ``|value - target| <= TOL[tolerance]`` with ``target``)."""
        tol = TOL[tolerance].value
        v = float(value)
        if target is None:
            holds = _finite(v) and v <= tol
            rel = "le"
        else:
            holds = _finite(v) and abs(v - target) <= tol
            rel = "dev"
        self.items.append(Item(name, v, definition, True, rel, tolerance, tol, target, holds))
        return holds

    def require_equal(self, name: str, value, target, definition: str) -> bool:
        """Enforce exact equality of integers (dimensions, ranks, counts)."""
        holds = int(value) == int(target)
        self.items.append(Item(name, int(value), definition, True, "eq", "exact", 0.0, int(target), holds))
        return holds

    def require_positive(self, name: str, value, definition: str) -> bool:
        """Enforce value > 0 (e.g. the smallest eigenvalue of a positive definite matrix)."""
        v = float(value)
        holds = _finite(v) and v > 0
        self.items.append(Item(name, v, definition, True, "gt", "positive", 0.0, 0.0, holds))
        return holds

    def ztest(self, name: str, z, definition: str, se_over_pred=None, counts=None) -> None:
        """Record z-scores |estimate - prediction| / SE, tested together (Bonferroni) when the evidence closes.

        ``se_over_pred`` (same shape as ``z``), when given, is SE / |prediction| for each z-score; it gives the
        smallest relative deviation each test detects (reported, see :meth:`close`). ``counts`` (same shape),
        when given, says how many z-scores each entry of ``z`` is the maximum of (all count for Bonferroni).
        """
        z = np.abs(np.asarray(z, dtype=float))
        n = z.size if counts is None else int(np.sum(np.broadcast_to(np.asarray(counts), z.shape)))
        z = z.ravel()
        sop = None if se_over_pred is None else np.abs(np.asarray(se_over_pred, dtype=float)).ravel()
        self._z.append((name, z, definition, sop, n))

    def band(self, name: str, estimate, se, target: float, tolerance: str, definition: str) -> bool:
        """Enforce |estimate - target| <= TOL[tolerance] for a Monte Carlo estimate with standard error ``se``.

        Also reports the probability that a rerun with other seeds fails this band, taking the estimate as
        the truth (normal approximation): P(|estimate' - target| > band).
        """
        holds = self.require(name, estimate, tolerance, definition, target=target)
        tol = TOL[tolerance].value
        est, s = float(estimate), float(se)
        if s > 0 and _finite(est):
            from scipy.stats import norm

            p = float(norm.sf((tol - (est - target)) / s) + norm.cdf((-tol - (est - target)) / s))
        else:
            p = 0.0
        self.items[-1].extra = {"se": s, "false_fail_probability": p}
        return holds

    # -- information -------------------------------------------------------------------------------
    def info(self, name: str, value, definition: str) -> None:
        """Report a number that does not decide the claim."""
        v = value if isinstance(value, int | np.integer) else float(value)
        self.items.append(Item(name, v, definition, False))

    def printed_residual(self, value, tolerance: str, definition: str, forced: str = "") -> None:
        """The residual of the statement as printed (errata): it must exceed ``TOL[tolerance]``.

        ``forced``: when the printed residual follows from the corrected statement by algebra (a sign or a
        factor), the derivation; the value is then reported as derived, not as an independent measurement.
        A z-score printed residual (tolerance ``"ledger_false_fail"``) is compared with the claim's Bonferroni
        threshold when the evidence closes.
        """
        tol = TOL[tolerance].value
        v = float(value)
        self.printed = Item("printed", v, definition, True, "gt", tolerance, tol, None, _finite(v) and v > tol)
        if forced:
            self.printed.extra = {"forced_by_algebra": forced}

    def cover(self, ds, *dims: str) -> None:
        """Record which values of ``dims`` (field, seed, d, N, ...) the evidence covers, from the dataset."""
        for dim in dims:
            if dim in ds.coords:
                vals = np.atleast_1d(ds[dim].values).tolist()
                self.coverage[dim] = [v if isinstance(v, str) else _num(v) for v in vals]
            elif dim in ds.dims:  # a dimension without coordinate: its indices
                self.coverage[dim] = list(range(ds.sizes[dim]))

    # -- closing ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Turn the recorded z-scores into one enforced item (Bonferroni over all of them)."""
        if not self._z:
            return
        from scipy.stats import norm

        if self.alpha is None:
            raise RuntimeError("z-scores recorded by a claim that is not registered as stochastic")
        zs = np.concatenate([z for _, z, _, _, _ in self._z])
        m = int(sum(n for *_, n in self._z))
        zstar = float(norm.isf(self.alpha / (2 * m)))
        zmax = float(np.max(zs)) if zs.size else 0.0
        holds = bool(np.all(np.isfinite(zs)) and zmax <= zstar)
        parts = "; ".join(f"{name}: {definition} ({n})" for name, _, definition, _, n in self._z)
        extra = {"m": m, "alpha": self.alpha, "z_threshold": zstar}
        sops = [s[s > 0] for _, _, _, s, _ in self._z if s is not None]
        if sops and np.concatenate(sops).size:
            sop = np.concatenate(sops)
            power90 = zstar + float(norm.isf(0.10))
            extra["detectable_rel_min"] = float(np.min(sop) * power90)
            extra["detectable_rel_max"] = float(np.max(sop) * power90)
        for name, z, _, _, _ in self._z:
            extra[f"max_z_{name}"] = float(np.max(z)) if z.size else 0.0
        self.items.insert(
            0,
            Item(
                "max_z",
                zmax,
                f"largest of {m} z-scores |estimate - prediction| / SE, tested together at family-wise level "
                f"alpha = {self.alpha:.2g} (Bonferroni threshold {zstar:.2f}): {parts}",
                True,
                "z",
                "ledger_false_fail",
                zstar,
                0.0,
                holds,
                extra,
            ),
        )
        self._z = []
        if self.printed is not None and self.printed.tolerance_name == "ledger_false_fail":
            self.printed.tolerance = zstar
            self.printed.holds = _finite(self.printed.value) and self.printed.value > zstar

    def holds(self) -> bool:
        enforced = [i for i in self.items if i.enforced]
        return bool(enforced) and all(i.holds for i in enforced)


@dataclass
class Claim:
    """A registered claim: where it is printed, what it states, how it is measured and what would fail it."""

    id: str
    paper: str
    where: str
    statement: str
    kind: str
    family: str
    measure: Callable
    implements: tuple[str, ...]
    fails_if: str
    printed_statement: str = ""
    reading: str = ""
    stochastic: bool = False
    derivation: str = ""
    uses: tuple[str, ...] = ()
    proof_uses: tuple[str, ...] = ()
    dependency_note: str = ""
    residual_tex: str = ""
    printed_residual_tex: str = ""

    @property
    def status_if_holds(self) -> str:
        return KINDS[self.kind]


#: Every registered claim, by ID, in registration order (the order of the claim modules' imports).
CLAIMS: dict[str, Claim] = {}


def claim(
    id: str,
    *,
    paper: str,
    where: str,
    statement: str,
    family: str,
    implements: tuple[str, ...] | list[str],
    fails_if: str,
    kind: str = "theorem",
    printed_statement: str = "",
    reading: str = "",
    stochastic: bool = False,
    derivation: str = "",
    uses: tuple[str, ...] | list[str] = (),
    proof_uses: tuple[str, ...] | list[str] = (),
    dependency_note: str = "",
    residual_tex: str = "",
    printed_residual_tex: str = "",
    registry: dict | None = None,
):
    """Register ``measure(ds) -> Evidence`` as the claim ``id`` (decorator).

    Parameters
    ----------
    id : str
        The claim's ID, ``<paper>-<item>`` (e.g. ``"LM-Thm2"``, ``"LM-(2.31)"``).
    paper : {"LM", "MY", "CKM", "NUM"}
    where : str
        Theorem, equation and section in the paper, e.g. ``"Theorem 2, eq. (1.19), §1.5"``.
    statement : str
        The statement (corrected, for errata) in one line of LaTeX.
    family : str
        The experiment family whose dataset ``measure`` reads (``dln.experiments.<family>``).
    implements : sequence of str
        Names of the public :mod:`dln` functions whose output the evidence checks.
    fails_if : str
        One sentence: what would make the claim fail.
    kind : {"theorem", "erratum", "notation", "finding", "open"}
    printed_statement : str
        Errata and notation: the statement as printed.
    reading : str
        Notation: the reading under which the printed statement holds.
    stochastic : bool
        The evidence includes Monte Carlo estimates (z-scores or bands).
    derivation : str
        Findings and derived values: how the statement was derived (Markdown with LaTeX).
    uses : sequence of str
        IDs of the claims and definitions (:mod:`dln.checks.definitions`) the statement is about or presupposes.
    proof_uses : sequence of str
        IDs the printed proof invokes (for findings and numerical claims: what the derivation rests on).
    dependency_note : str
        Where in the paper the dependencies are visible (one sentence).
    residual_tex : str
        Errata and notation: the primary measured residual of the (corrected) statement, in LaTeX (the same
        quantity as the measurement's plain-text definition; the errata page shows it as mathematics).
    printed_residual_tex : str
        Errata with a printed-statement measurement: that residual, in LaTeX.
    """
    reg = CLAIMS if registry is None else registry
    if paper not in PAPERS:
        raise ValueError(f"claim {id}: paper must be one of {sorted(PAPERS)}, got {paper!r}")
    if kind not in KINDS:
        raise ValueError(f"claim {id}: kind must be one of {sorted(KINDS)}, got {kind!r}")
    for name, val in (("where", where), ("statement", statement), ("family", family), ("fails_if", fails_if)):
        if not isinstance(val, str) or not val.strip():
            raise ValueError(f"claim {id}: {name} must be a non-empty string")
    if kind in ("erratum", "notation") and not printed_statement:
        raise ValueError(f"claim {id}: a {kind} claim needs printed_statement")
    if kind in ("erratum", "notation") and not residual_tex:
        raise ValueError(f"claim {id}: a {kind} claim needs residual_tex (its measured residual in LaTeX)")
    if kind == "finding" and not derivation:
        raise ValueError(f"claim {id}: a finding needs its derivation")
    if not implements:
        raise ValueError(f"claim {id}: implements must name the dln functions the evidence checks")

    def deco(fn):
        if id in reg:
            raise KeyError(f"claim {id} registered twice")
        reg[id] = Claim(
            id=id,
            paper=paper,
            where=where,
            statement=statement,
            kind=kind,
            family=family,
            measure=fn,
            implements=tuple(implements),
            fails_if=fails_if,
            printed_statement=printed_statement,
            reading=reading,
            stochastic=stochastic,
            derivation=derivation,
            uses=tuple(uses),
            proof_uses=tuple(proof_uses),
            dependency_note=dependency_note,
            residual_tex=residual_tex,
            printed_residual_tex=printed_residual_tex,
        )
        return fn

    return deco


def stochastic_alpha(registry: dict | None = None) -> float:
    """Family-wise false-fail level of ONE stochastic claim: ``TOL["ledger_false_fail"]`` split equally.

    By the union bound, the probability that a correct implementation fails any stochastic claim of one
    ledger run (reseeded) is at most ``TOL["ledger_false_fail"]`` (plus the band tests' own probabilities,
    which the rows report).
    """
    reg = CLAIMS if registry is None else registry
    n = sum(1 for c in reg.values() if c.stochastic)
    return TOL["ledger_false_fail"].value / max(n, 1)


def status_of(c: Claim, ev: Evidence) -> str:
    """The status of claim ``c`` given its closed evidence (see the module docstring)."""
    if not ev.holds():
        return "fail"
    if c.kind == "erratum":
        return "erratum" if (ev.printed is not None and ev.printed.holds) else "fail"
    return c.status_if_holds


def evaluate(c: Claim, ds, data_source: str, registry: dict | None = None) -> dict:
    """Apply a claim's measurement to its family's dataset; return the ledger row (plain JSON data)."""
    t0 = time.perf_counter()
    error = ""
    ev = None
    try:
        result = c.measure(ds)
        if not isinstance(result, Evidence):
            raise TypeError(f"claim {c.id}: measure returned {type(result).__name__}, expected Evidence")
        ev = result
        if c.stochastic:
            ev.alpha = stochastic_alpha(registry)
        ev.close()
        status = status_of(c, ev)
    except Exception as exc:  # a measurement that crashes is a failed claim, with its traceback
        status = "fail"
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip() + "\n" + traceback.format_exc(limit=6)
    return row(c, ev, status, data_source, time.perf_counter() - t0, error)


def failed_row(c: Claim, data_source: str, error: str) -> dict:
    """The row of a claim whose dataset could not be produced or read."""
    return row(c, None, "fail", data_source, 0.0, error)


def row(c: Claim, ev: Evidence | None, status: str, data_source: str, seconds: float, error: str) -> dict:
    items = [] if ev is None else [i.to_dict() for i in ev.items]
    primary = next((i for i in items if i["enforced"]), None)
    if primary is None or (status == "fail" and ev is not None):
        failing = [i for i in items if i["enforced"] and not i["holds"]]
        primary = failing[0] if failing else primary
    return {
        "id": c.id,
        "paper": c.paper,
        "where": c.where,
        "kind": c.kind,
        "status": status,
        "statement": c.statement,
        "printed_statement": c.printed_statement,
        "reading": c.reading,
        "fails_if": c.fails_if,
        "family": c.family,
        "stochastic": c.stochastic,
        "measured": None if primary is None else primary["value"],
        "measured_name": "" if primary is None else primary["name"],
        "measured_definition": "" if primary is None else primary["definition"],
        "tolerance": None if primary is None else primary.get("tolerance"),
        "tolerance_name": "" if primary is None else primary.get("tolerance_name", ""),
        "tolerance_reason": "" if primary is None else _reason(primary.get("tolerance_name", "")),
        "printed": None if (ev is None or ev.printed is None) else ev.printed.to_dict(),
        "items": items,
        "coverage": {} if ev is None else ev.coverage,
        "implements": list(c.implements),
        "data_source": data_source,
        "seconds": round(float(seconds), 3),
        "error": error,
    }


def _reason(name: str) -> str:
    if name in TOL:
        return TOL[name].reason
    return {"exact": "integers compared exactly", "positive": "a strict inequality"}.get(name, "")


# ------------------------------------------------------------------------------------------------ the hub


def _source_line(obj) -> str:
    try:
        fn = inspect.unwrap(obj)
        path = Path(inspect.getsourcefile(fn)).resolve()
        line = inspect.getsourcelines(fn)[1]
    except (TypeError, OSError):
        return "?"
    root = Path(__file__).resolve().parents[3]
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = path
    return f"{rel}:{line}"


def repository_root() -> Path:
    """The repository root of a source checkout (``src/dln/checks/`` -> root)."""
    return Path(__file__).resolve().parents[3]


def tests_of(claim_id: str, tests_dir: str | os.PathLike | None = None) -> list[str]:
    """Test functions marked ``@pytest.mark.claims(...)`` with ``claim_id`` (file::name), from the sources."""
    folder = Path(tests_dir) if tests_dir is not None else repository_root() / "tests"
    found = []
    for path in sorted(folder.rglob("test_*.py")):
        for name, ids in _marked_tests(path):
            if claim_id in ids:
                found.append(f"{path.relative_to(folder.parent)}::{name}")
    return found


_MARKED: dict[tuple[str, float], list[tuple[str, set[str]]]] = {}


def _marked_tests(path: Path) -> list[tuple[str, set[str]]]:
    """(test name, claim IDs of its marker) for the marked tests of one file; parsed once per file version."""
    import ast

    try:
        stamp = (str(path), path.stat().st_mtime)
        if stamp not in _MARKED:
            tree = ast.parse(path.read_text())
            module_ids = _marker_ids(getattr(tree, "body", []), module=True)
            out = []
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name.startswith(("test", "Test")):
                    ids = _decorator_ids(node.decorator_list) | module_ids
                    if ids:
                        out.append((node.name, ids))
            _MARKED[stamp] = out
        return _MARKED[stamp]
    except (OSError, SyntaxError):
        return []


def _decorator_ids(decorators) -> set[str]:
    ids: set[str] = set()
    for dec in decorators:
        if isinstance(dec, __import__("ast").Call) and getattr(dec.func, "attr", "") == "claims":
            for arg in dec.args:
                if isinstance(arg, __import__("ast").Constant) and isinstance(arg.value, str):
                    ids.add(arg.value)
    return ids


def _marker_ids(body, module: bool) -> set[str]:
    """IDs of a module-level ``pytestmark = pytest.mark.claims(...)``."""
    import ast

    ids: set[str] = set()
    for node in body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            vals = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
            ids |= _decorator_ids(vals)
    return ids


def where(claim_id: str, registry: dict | None = None) -> dict:
    """Everything about one claim: its source in the paper, code, tests, rule, dataset, figures and book page."""
    from .. import experiments
    from . import blueprint

    reg = CLAIMS if registry is None else registry
    c = reg[claim_id]
    import dln

    root = repository_root()
    fam = experiments.family_module(c.family)
    impl = {name: _source_line(getattr(dln, name)) for name in c.implements}
    return {
        "id": c.id,
        "paper": f"{c.paper}: {PAPERS[c.paper]}",
        "where": c.where,
        "kind": c.kind,
        "statement": c.statement,
        "printed_statement": c.printed_statement,
        "fails_if": c.fails_if,
        "measurement": _source_line(c.measure),
        "implements": impl,
        "experiment": _source_line(fam.simulate),
        "tests": tests_of(c.id, root / "tests"),
        "uses": list(c.uses),
        "proof_uses": list(c.proof_uses),
        "used_by": blueprint.used_by(c.id, reg),
        "dependency_note": c.dependency_note,
        "rule": f"{c.family} and {c.family}_aggregate (workflow/rules/families.smk)",
        "dataset": f"results/{c.family}.nc",
        "figures": [f"book/_generated/figures/{f}.png" for f in getattr(fam, "FIGURES", {})],
        "book_page": f"book/{c.family}.md (section 'Checks on this page'); "
        f"the claim's card: book/claims.md#{anchor(c.id)}; its node: book/blueprint.md",
    }


def anchor(claim_id: str) -> str:
    """The HTML anchor of a claim's card in the book (``claim-lm-thm2``, ``claim-lm-2-31``)."""
    import re

    return "claim-" + re.sub(r"[^a-z0-9]+", "-", claim_id.lower()).strip("-")
