"""The theorem ledger's registry: one :class:`Check` per catalogue ID (THEOREMS.md).

A check is a function ``fn(params: dict) -> Outcome`` registered with
:func:`register`, together with its one-line statement, source, what it
measures, and a named tolerance from :data:`dln.tolerances.TOL`.

Status rules
------------
- ``pass``: the corrected (or only) statement holds: ``outcome.passed`` is true
  (when the check leaves ``passed`` as ``None``, it is ``|measured| <= tolerance``).
- ``erratum``: the entry is an erratum (``erratum=True``), the corrected
  statement passes and the printed statement fails (``outcome.printed`` holds
  the printed statement's residual, which must exceed the tolerance).
- ``fail``: anything else (including an exception while measuring, a NaN, or an
  erratum entry whose printed statement unexpectedly holds).

Two sources
-----------
Every entry computes its numbers directly (``fn(params)``, small default
parameters, seconds). An entry may also register ``from_dataset``, a function
``(datasets: dict[str, path]) -> Outcome`` that reads the workflow's netCDF
datasets (e.g. ``datasets["regularizing_flow"] = "results/regularizing_flow.nc"``).
:func:`run_check` uses the dataset hook when datasets are given, and falls back
to the direct computation (saying why in ``data_source``) when a dataset is
missing or unreadable.

The catalogue
-------------
:data:`EXPECTED_IDS` lists the IDs of THEOREMS.md that must be registered (issue 4);
extra entries found while reading the papers live in ``_extra.py`` with their own IDs.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..tolerances import TOL

__all__ = [
    "Check",
    "Outcome",
    "CheckResult",
    "CHECKS",
    "EXPECTED_IDS",
    "STATUSES",
    "register",
    "run_check",
    "run_checks",
    "missing_ids",
    "status_of",
]

#: The catalogue IDs of THEOREMS.md that the ledger must cover (issue 4), in catalogue order.
EXPECTED_IDS: tuple[str, ...] = (
    "LM-Cons",
    "LM-Inv",
    "LM-Lem1",
    "LM-Lem2",
    "LM-Def8",
    "LM-Lem3",
    "LM-Lem4",
    "LM-Lem5",
    "NUM-proj",
    "LM-Thm2",
    "LM-Rem9",
    "LM-Thm1",
    "LM-Thm20",
    "LM-p1",
    "LM-Thm10",
    "LM-(2.31)",
    "LM-Cor1",
    "LM-Rem18",
    "LM-Rem5",
    "LM-4.1",
    "LM-4.2",
    "LM-4.3",
    "MY-metric",
    "MY-Thm4",
    "MY-Jacobi",
    "MY-complex",
    "CKM-flow",
    "CKM-Thm1.2",
    "CKM-Thm1.3",
    "CKM-Thm1.7",
    "CKM-Rmk1.4",
    "CKM-concavity",
)

#: The possible statuses of a ledger row.
STATUSES: tuple[str, ...] = ("pass", "erratum", "fail")


@dataclass
class Outcome:
    """What a check function measured.

    Attributes
    ----------
    measured : float
        The primary number compared with the tolerance (a residual, a relative
        error, or a z-score for stochastic checks).
    passed : bool or None
        Whether the corrected statement holds within the tolerance; ``None``
        lets the registry decide ``|measured| <= tolerance``.
    values : dict
        Further measured numbers (floats), reported in the ledger.
    printed : float or None
        For errata: the same residual for the statement as printed in the paper.
    """

    measured: float
    passed: bool | None = None
    values: dict = field(default_factory=dict)
    printed: float | None = None


@dataclass
class Check:
    """A catalogue entry: metadata plus the function that measures it."""

    id: str
    statement: str
    source: str
    measures: str
    tolerance: str
    fn: Callable[[dict], Outcome]
    params: dict = field(default_factory=dict)
    erratum: bool = False
    printed_statement: str = ""
    stochastic: bool = False
    page: str = ""
    from_dataset: Callable[[dict], Outcome] | None = None

    @property
    def tolerance_value(self) -> float:
        return TOL[self.tolerance].value

    @property
    def tolerance_reason(self) -> str:
        return TOL[self.tolerance].reason


@dataclass
class CheckResult:
    """The ledger row of one check."""

    id: str
    status: str
    statement: str
    source: str
    measures: str
    measured: float
    tolerance: float
    tolerance_name: str
    tolerance_reason: str
    values: dict
    printed: float | None
    printed_statement: str
    params: dict
    stochastic: bool
    page: str
    seconds: float
    error: str = ""
    data_source: str = "direct"

    def to_dict(self) -> dict:
        return asdict(self)


CHECKS: dict[str, Check] = {}


def register(
    id: str,
    *,
    statement: str,
    source: str,
    measures: str,
    tolerance: str,
    params: dict | None = None,
    erratum: bool = False,
    printed_statement: str = "",
    stochastic: bool = False,
    page: str = "",
    from_dataset: Callable[[dict], Outcome] | None = None,
):
    """Decorator registering ``fn(params) -> Outcome`` as the check ``id``.

    Parameters
    ----------
    id : str
        Catalogue ID (THEOREMS.md), e.g. ``"LM-Thm2"``.
    statement : str
        The (corrected) statement in one line (LaTeX allowed).
    source : str
        Paper and equation, e.g. ``"LM Thm 2, eq. (1.19)"``.
    measures : str
        What the number ``measured`` is.
    tolerance : str
        A name in :data:`dln.tolerances.TOL` (value and reason).
    params : dict, optional
        Default (small, fast) parameters passed to ``fn``.
    erratum : bool
        The printed statement is wrong; ``fn`` reports its residual in ``Outcome.printed``.
    printed_statement : str
        The statement as printed (errata only).
    stochastic : bool
        ``measured`` is a number of standard errors.
    page : str
        Where in the book the entry is discussed.
    from_dataset : callable, optional
        ``(datasets: dict[str, path]) -> Outcome`` reading the workflow's datasets.
    """
    if not id or not isinstance(id, str):
        raise ValueError(f"id: expected a non-empty string, got {id!r}")
    for name, val in (("statement", statement), ("source", source), ("measures", measures)):
        if not isinstance(val, str) or not val.strip():
            raise ValueError(f"check {id}: {name} must be a non-empty string")
    if erratum and not printed_statement:
        raise ValueError(f"check {id}: an erratum entry needs printed_statement")
    if tolerance not in TOL:
        raise KeyError(f"check {id}: unknown tolerance name {tolerance!r}")

    def deco(fn):
        if id in CHECKS:
            raise KeyError(f"check {id} registered twice")
        CHECKS[id] = Check(
            id=id,
            statement=statement,
            source=source,
            measures=measures,
            tolerance=tolerance,
            fn=fn,
            params=dict(params or {}),
            erratum=erratum,
            printed_statement=printed_statement,
            stochastic=stochastic,
            page=page,
            from_dataset=from_dataset,
        )
        return fn

    return deco


def status_of(check: Check, out: Outcome) -> str:
    """The status (``pass``, ``erratum`` or ``fail``) of an outcome of ``check`` (see the module docstring)."""
    tol = check.tolerance_value
    measured = float(out.measured)
    if out.passed is None:
        ok = bool(np.isfinite(measured) and abs(measured) <= tol)
    else:
        ok = bool(out.passed) and not np.isnan(measured)
    if not check.erratum:
        return "pass" if ok else "fail"
    printed = None if out.printed is None else float(out.printed)
    printed_fails = printed is not None and (np.isnan(printed) or abs(printed) > tol)
    return "erratum" if (ok and printed_fails) else "fail"


def _clean_values(values: dict) -> dict:
    out = {}
    for k, v in (values or {}).items():
        if isinstance(v, bool | np.bool_):
            out[str(k)] = bool(v)
        elif isinstance(v, int | np.integer):
            out[str(k)] = int(v)
        elif isinstance(v, float | np.floating):
            out[str(k)] = float(v)
        elif isinstance(v, np.ndarray):
            out[str(k)] = v.tolist()
        else:
            out[str(k)] = v
    return out


def run_check(check: Check, params: dict | None = None, datasets: dict | None = None) -> CheckResult:
    """Run one check with its default parameters updated by ``params``.

    With ``datasets`` (a dict family -> netCDF path) and a ``from_dataset`` hook, the
    entry is evaluated from the datasets; if that fails (missing or unreadable file,
    missing variable), it falls back to the direct computation and says so in
    ``data_source``.
    """
    p = dict(check.params)
    p.update(params or {})
    t0 = time.perf_counter()
    error = ""
    source = "direct"
    out = None
    if datasets is not None and check.from_dataset is not None:
        try:
            out = check.from_dataset(dict(datasets))
            source = "dataset"
            if isinstance(out, tuple):  # (Outcome, description of the data used)
                out, desc = out
                source = f"dataset: {desc}"
        except Exception as exc:  # fall back to the direct computation
            reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            source = f"direct (dataset unavailable: {reason})"
            out = None
    try:
        if out is None:
            out = check.fn(p)
        if not isinstance(out, Outcome):
            raise TypeError(f"check {check.id} returned {type(out).__name__}, expected Outcome")
        status = status_of(check, out)
    except Exception as exc:  # a check that crashes is a failed check, reported with its traceback
        out = Outcome(measured=float("nan"), passed=False)
        status = "fail"
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip() + "\n" + traceback.format_exc(limit=5)
    return CheckResult(
        id=check.id,
        status=status,
        statement=check.statement,
        source=check.source,
        measures=check.measures,
        measured=float(out.measured),
        tolerance=check.tolerance_value,
        tolerance_name=check.tolerance,
        tolerance_reason=check.tolerance_reason,
        values=_clean_values(out.values),
        printed=None if out.printed is None else float(out.printed),
        printed_statement=check.printed_statement,
        params=p,
        stochastic=check.stochastic,
        page=check.page,
        seconds=time.perf_counter() - t0,
        error=error,
        data_source=source,
    )


def missing_ids(registry: dict[str, Check] | None = None, expected=None) -> list[str]:
    """The expected catalogue IDs (default :data:`EXPECTED_IDS`) that have no registered entry."""
    reg = CHECKS if registry is None else registry
    expected = EXPECTED_IDS if expected is None else expected
    return [i for i in expected if i not in reg]


def run_checks(
    ids: list[str] | None = None, datasets: dict | None = None, registry: dict[str, Check] | None = None
) -> list[CheckResult]:
    """Run the named checks (default: all, expected IDs first in catalogue order, then the extras)."""
    reg = CHECKS if registry is None else registry
    if ids is None:
        ids = [i for i in EXPECTED_IDS if i in reg] + [i for i in reg if i not in EXPECTED_IDS]
    unknown = [i for i in ids if i not in reg]
    if unknown:
        from .._errors import DLNError

        raise DLNError(f"id: unknown check ID(s) {unknown}; known: {sorted(reg)}")
    return [run_check(reg[i], datasets=datasets) for i in ids]
