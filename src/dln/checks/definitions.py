"""The definitions the claims rest on: nodes of the blueprint (:mod:`dln.checks.blueprint`) without a measurement.

A definition is registered once with :func:`definition`: its ID (``DEF-<name>``), the paper and place where it
is made, a short name and the definition in one line of LaTeX. Claims name definitions in their ``uses`` and
``proof_uses``. Definitions have no status of their own; what they define is measured by the claims that use
them (the structural identities of the ``fibers`` family, for example).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Definition", "DEFINITIONS", "definition"]


@dataclass(frozen=True)
class Definition:
    """A definition of a paper: where it is made, its name and its statement."""

    id: str
    paper: str
    where: str
    name: str
    statement: str


#: Every registered definition, by ID, in registration order.
DEFINITIONS: dict[str, Definition] = {}


def definition(id: str, *, paper: str, where: str, name: str, statement: str) -> Definition:
    """Register a definition (``id`` of the form ``DEF-<name>``)."""
    from ._claims import PAPERS

    if not id.startswith("DEF-"):
        raise ValueError(f"definition {id}: IDs start with 'DEF-'")
    if paper not in PAPERS:
        raise ValueError(f"definition {id}: paper must be one of {sorted(PAPERS)}, got {paper!r}")
    for key, val in (("where", where), ("name", name), ("statement", statement)):
        if not val.strip():
            raise ValueError(f"definition {id}: {key} must be a non-empty string")
    if id in DEFINITIONS:
        raise KeyError(f"definition {id} registered twice")
    DEFINITIONS[id] = Definition(id, paper, where, name, statement)
    return DEFINITIONS[id]


# ---------------------------------------------------------------------------------------- the definitions

definition(
    "DEF-fiber",
    paper="LM",
    where="eq. (1.1), §1.1",
    name="the product map and its fibers",
    statement=r"\phi(\mathbf W) = W_N W_{N-1}\cdots W_1,\quad \mathcal F_X = \phi^{-1}(X) \subset \mathbb M_d^N",
)
definition(
    "DEF-inner",
    paper="LM",
    where="eqs. (1.14)-(1.16), §1.4",
    name="the Euclidean metric iota",
    statement=r"\langle\mathbf A,\mathbf B\rangle = \textstyle\sum_k \mathrm{Re\,Tr}(A_k^*B_k)",
)
definition(
    "DEF-moment",
    paper="LM",
    where="eqs. (1.11), (1.13), §1.4.1",
    name="the moments (imbalance) G",
    statement=r"G_k = W_kW_k^* - W_{k+1}^*W_{k+1},\ 1 \le k \le N-1,\quad \mathbf G = (G_{N-1},\dots,G_1)",
)
definition(
    "DEF-balanced",
    paper="LM",
    where="eq. (1.3), §1.1",
    name="the balanced variety and manifold",
    statement=r"\mathcal M_0 = \{\mathbf W: \mathbf G(\mathbf W) = 0\},\ "
    r"\mathcal M = \mathcal M_0 \cap \{\operatorname{rank} X = d\}",
)
definition(
    "DEF-action",
    paper="LM",
    where="eq. (1.6), §1.2; the tangent vectors w_a, §2.2",
    name="the group action and orbit tangents",
    statement=r"\mathbf A\cdot\mathbf W = (W_NA_{N-1}^{-1}, A_{N-1}W_{N-1}A_{N-2}^{-1},\dots,A_1W_1),\quad "
    r"\mathbf w_{\mathbf a} = \tfrac{d}{dt}\big|_{0}(e^{t\mathbf a}\cdot\mathbf W)",
)
definition(
    "DEF-orbit",
    paper="LM",
    where="eqs. (1.5), (1.7), §1.1-1.2",
    name="the balanced orbit O_X",
    statement=r"\mathcal O_X = \mathcal F_X \cap \mathcal M = U_d^{N-1}\cdot\mathbf W_\star\ "
    r"(O_d^{N-1} \text{ over } \mathbb R)",
)
definition(
    "DEF-gram",
    paper="LM",
    where="Definition 8, eq. (2.8), §2.3 (its block matrix and H = H* > 0 are the claim LM-Def8)",
    name="the Gram operator H",
    statement=r"H_k(\mathbf c) = -W_kc_{k-1}W_k^* + c_kW_kW_k^* + W_{k+1}^*W_{k+1}c_k - W_{k+1}^*c_{k+1}W_{k+1}",
)
definition(
    "DEF-reg-flow",
    paper="LM",
    where="eq. (1.17), §1.5",
    name="the regularizing flow",
    statement=r"\dot{\mathbf W} = -\tfrac12\operatorname{grad}_{(\mathcal F_X,\iota)}\|\mathbf W\|_2^2",
)
definition(
    "DEF-kn-flow",
    paper="LM",
    where="eq. (1.21), §1.5",
    name="the Kirwan-Ness flow",
    statement=r"\dot{\mathbf W} = -\tfrac12\operatorname{grad}_{(\mathcal F_X,\iota)}\|\mathbf G\|_2^2",
)
definition(
    "DEF-learning-flow",
    paper="LM",
    where="eqs. (1.2), (1.18), §1.1 and §1.5",
    name="the learning flow",
    statement=r"\dot{\mathbf W} = -\nabla_{\mathbf W}E(X(\mathbf W));\ \text{on } (\mathcal M,\iota):\ "
    r"\dot{\mathbf W} = -\operatorname{grad}E(X(\mathbf W))",
)
definition(
    "DEF-metric-gN",
    paper="MY",
    where="the metric of the Riemannian submersion; LM Remark 5, eq. (1.20)",
    name="the metric g^N on M_d",
    statement=r"g^N_X(Z,Z) = \mathrm{Tr}(Z^*\mathcal A_{N,X}^{-1}Z),\quad "
    r"\mathcal A_{N,X}(Z) = \textstyle\sum_{k=1}^N (XX^*)^{\frac{N-k}{N}} Z (X^*X)^{\frac{k-1}{N}}",
)
definition(
    "DEF-schatten",
    paper="LM",
    where="eq. (3.8), §3.4",
    name="Schatten norms",
    statement=r"\|W\|_{S_p} = \big(\textstyle\sum_i \sigma_i(W)^p\big)^{1/p}",
)
definition(
    "DEF-regularized-flow",
    paper="LM",
    where="eq. (4.1), §4.1",
    name="the regularized learning flow",
    statement=r"\dot{\mathbf W} = -\nabla_{\mathbf W}\big(E(X(\mathbf W)) + \tfrac\kappa2\|\mathbf W\|_2^2\big)",
)
definition(
    "DEF-langevin",
    paper="LM",
    where="eqs. (4.2)-(4.4), §4.2",
    name="the Langevin equation",
    statement=r"d\mathbf W = -\nabla_{\mathbf W}\big(E + \tfrac\kappa2\|\mathbf W\|^2\big)dt "
    r"+ \sqrt{2/\beta}\,d\mathbf B",
)
definition(
    "DEF-prior",
    paper="LM",
    where="eq. (4.5), §4.3",
    name="the Gaussian prior restricted to a fiber",
    statement=r"\mu_{\beta}(d\mathbf W) \propto e^{-\beta\kappa\|\mathbf W\|^2/2}\,\mathcal H^{n}(d\mathbf W) "
    r"\text{ on } \mathcal F_X",
)
definition(
    "DEF-entropy",
    paper="MY",
    where="the Boltzmann entropy of group orbits (abstract and main theorem)",
    name="the entropy S_N",
    statement=r"S_N(X) = \log\mathrm{vol}(\mathcal O_X)",
)
definition(
    "DEF-free-energy",
    paper="CKM",
    where="the free energy (abstract, §1)",
    name="the free energy F_beta",
    statement=r"F_\beta(X) = E(X) - \beta^{-1}S_N(X)",
)
