"""The theorem ledger: every checkable claim of LM, MY and CKM (THEOREMS.md), by ID.

Entries live in small modules by area; importing this package registers them all.
"""

from ._registry import CHECKS, Check, CheckResult, Outcome, register, run_check, run_checks

# Area modules (each registers its entries on import). One line per area module.
from . import _structural  # noqa: E402,F401  LM structural items, Kirwan-Ness, Rem5

__all__ = ["CHECKS", "Check", "CheckResult", "Outcome", "register", "run_check", "run_checks"]
