"""The ledger of claims: every checkable claim of LM, MY and CKM (and of the numerical methods), by ID.

Claims live in modules named by paper (``lm_*.py``, ``my.py``, ``ckm.py``, ``num.py``); importing this
package registers them all, in registry order. The family modules of a plug-in experiments package
(``DLN_EXPERIMENTS_PACKAGE``, :data:`dln.experiments.PACKAGE`) may register claims about their own datasets with
:func:`claim`; they are imported here, after the papers' claims. See :mod:`dln.checks._claims` for the registry and the
statuses, :mod:`dln.checks.ledger` for running it.
"""

# The claim modules register their claims on import; the import order is the registry order.
from . import definitions  # noqa: F401, I001
from . import lm_figures  # noqa: F401
from . import lm_fibers  # noqa: F401
from . import lm_flows  # noqa: F401
from . import lm_minimum  # noqa: F401
from . import lm_dynamics  # noqa: F401
from . import my  # noqa: F401
from . import ckm  # noqa: F401
from ._claims import CLAIMS, KINDS, PAPERS, STATUSES, Claim, Evidence, anchor, claim, stochastic_alpha, where
from .ledger import FamilyData, run_ledger, summarize, write_ledger
from .. import experiments as _experiments  # noqa: E402

if _experiments.PACKAGE != _experiments.__name__:
    for _family in _experiments.FAMILIES.values():
        _family.module  # noqa: B018  (registers the claims the module declares)
from . import blueprint  # noqa: E402
from .definitions import DEFINITIONS

__all__ = [
    "CLAIMS",
    "DEFINITIONS",
    "KINDS",
    "PAPERS",
    "STATUSES",
    "Claim",
    "Evidence",
    "FamilyData",
    "anchor",
    "blueprint",
    "claim",
    "run_ledger",
    "stochastic_alpha",
    "summarize",
    "where",
    "write_ledger",
]
