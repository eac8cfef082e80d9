"""The theorem ledger: every checkable claim of LM, MY and CKM (THEOREMS.md), by ID.

Entries live in small modules by area; importing this package registers them all.
"""

# Area modules (each registers its entries on import). One line per area module.
from . import (
    _dynamics,  # noqa: E402,F401  LM section 4: fast-slow, Langevin noise, posterior on fibers
    _entropy,  # noqa: E402,F401  MY entropy formula, CKM free-energy flow
    _extra,  # noqa: E402,F401  claims of LM that THEOREMS.md lacks (new IDs)
    _flows,  # noqa: E402,F401  LM Thm 2, Cor 1, (2.31), Inv (integrated flows)
    _schatten,  # noqa: E402,F401  LM Thm 1, Thm 20, p = 1 (minimum principles)
    _structural,  # noqa: E402,F401  LM structural items, Kirwan-Ness, Rem5
)
from ._registry import (
    CHECKS,
    EXPECTED_IDS,
    STATUSES,
    Check,
    CheckResult,
    Outcome,
    missing_ids,
    register,
    run_check,
    run_checks,
)

__all__ = [
    "CHECKS",
    "EXPECTED_IDS",
    "STATUSES",
    "Check",
    "CheckResult",
    "Outcome",
    "missing_ids",
    "register",
    "run_check",
    "run_checks",
]
