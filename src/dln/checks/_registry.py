"""The theorem ledger's registry: one :class:`Check` per catalogue ID (THEOREMS.md).

A check is a function ``fn(params: dict) -> Outcome`` registered with
:func:`register`, together with its one-line statement, source, what it
measures, and a named tolerance from :data:`dln.tolerances.TOL`.

Status rules
------------
- ``pass``: ``outcome.passed`` is true.
- ``erratum``: the entry is an erratum (``erratum=True``), the corrected
  statement passes and the printed statement fails (``outcome.printed`` holds
  the printed statement's residual, which must exceed the tolerance).
- ``fail``: anything else (including an exception while measuring).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ..tolerances import TOL

__all__ = ["Check", "Outcome", "CheckResult", "CHECKS", "register", "run_check", "run_checks"]


@dataclass
class Outcome:
    """What a check function measured.

    Attributes
    ----------
    measured : float
        The primary number compared with the tolerance (a residual, a relative
        error, or a z-score for stochastic checks).
    passed : bool
        Whether the corrected statement holds within the tolerance.
    values : dict
        Further measured numbers (floats), reported in the ledger.
    printed : float or None
        For errata: the same residual for the statement as printed in the paper.
    """

    measured: float
    passed: bool
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
):
    """Decorator registering ``fn(params) -> Outcome`` as the check ``id``."""
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
        )
        return fn

    return deco


def run_check(check: Check, params: dict | None = None) -> CheckResult:
    """Run one check with its default parameters updated by ``params``."""
    p = dict(check.params)
    p.update(params or {})
    t0 = time.perf_counter()
    error = ""
    try:
        out = check.fn(p)
        if check.erratum:
            ok = bool(out.passed) and out.printed is not None and out.printed > check.tolerance_value
            status = "erratum" if ok else "fail"
        else:
            status = "pass" if out.passed else "fail"
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
        values={k: (float(v) if isinstance(v, int | float) else v) for k, v in out.values.items()},
        printed=None if out.printed is None else float(out.printed),
        printed_statement=check.printed_statement,
        params=p,
        stochastic=check.stochastic,
        page=check.page,
        seconds=time.perf_counter() - t0,
        error=error,
    )


def run_checks(ids: list[str] | None = None) -> list[CheckResult]:
    """Run the named checks (default: all, in catalogue order)."""
    if ids is None:
        ids = list(CHECKS)
    unknown = [i for i in ids if i not in CHECKS]
    if unknown:
        from .._errors import DLNError

        raise DLNError(f"id: unknown check ID(s) {unknown}; known: {sorted(CHECKS)}")
    return [run_check(CHECKS[i]) for i in ids]
