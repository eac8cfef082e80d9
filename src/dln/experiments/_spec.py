"""Typed parameter specifications of the experiment families.

Every family module declares ``SPEC = Spec(param("N", 4, sweep=True), ...)``: one :class:`Param` per parameter
(name, type, default, range or choices, units, description, whether it can be swept) and the rules between
parameters as short expressions (``"dt < T"``). From the spec come the family's defaults, its sweep keys, the
workflow's JSON schema (``workflow/schemas/make_schema.py``), the command line's help (``dln run``), the checks
of one job's parameters (:meth:`Spec.resolve`, used by ``simulate``) and the checks of a configuration before
any job (the workflow evaluates the same rules).

A parameter shared by several families is described once in :data:`COMMON`; a family takes it with
:func:`param`, giving its default and any narrower range.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import operator
from collections.abc import Mapping

__all__ = ["COMMON", "Param", "Spec", "param", "evaluate_rule", "rule_names"]

_KINDS = {"integer": int, "number": float, "string": str, "boolean": bool, "array": list}


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of an experiment family.

    Attributes
    ----------
    name : str
    kind : {"integer", "number", "string", "boolean", "array"}
        Its JSON type. An integer parameter stays an ``int`` (``3.0`` is read as ``3``, ``3.5`` is an error); a
        number becomes a ``float`` (``5`` is read as ``5.0``), so equal values give identical jobs.
    default
        The value of a job that does not set it.
    description : str
    units : str
        UDUNITS string of the value (``"1"``: dimensionless).
    minimum, maximum : float, optional
        Inclusive bounds; ``exclusive_minimum`` makes the lower bound strict.
    choices : tuple, optional
        The allowed values of a string parameter.
    sweep : bool
        Whether jobs can differ in it (the family's aggregation combines them along it).
    """

    name: str
    kind: str
    default: object
    description: str
    units: str = "1"
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple | None = None
    sweep: bool = False

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"parameter {self.name!r}: kind must be one of {sorted(_KINDS)}, got {self.kind!r}")

    def allowed(self) -> str:
        """What the parameter accepts, in words (for error messages and help)."""
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        bits = {"integer": "an integer", "number": "a finite number", "string": "a string"}.get(self.kind, self.kind)
        if self.minimum is not None:
            bits += f" {'>' if self.exclusive_minimum else '>='} {self.minimum:g}"
        if self.maximum is not None:
            bits += f" <= {self.maximum:g}"
        return bits

    def coerce(self, value, family: str = ""):
        """``value`` as this parameter's type, checked against its range; a :class:`DLNError` names the key."""
        where = f"{family}: parameter {self.name!r}" if family else f"parameter {self.name!r}"
        bad = _error(f"{where}: expected {self.allowed()}, got {value!r}")
        if self.kind == "array":
            if not isinstance(value, list | tuple):
                raise bad
            return list(value)
        if self.kind == "boolean":
            if not isinstance(value, bool):
                raise bad
            return value
        if self.kind == "string":
            if not isinstance(value, str) or (self.choices is not None and value not in self.choices):
                raise bad
            return value
        if not isinstance(value, int | float) and callable(getattr(value, "item", None)):
            value = value.item()  # a NumPy scalar as the Python number it holds
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        if isinstance(value, float) and not math.isfinite(value):
            raise bad
        if self.kind == "integer":
            if isinstance(value, float):
                if not value.is_integer():
                    raise bad
                value = int(value)
            value = int(value)
        else:
            value = float(value)
        if self.minimum is not None and (value <= self.minimum if self.exclusive_minimum else value < self.minimum):
            raise bad
        if self.maximum is not None and value > self.maximum:
            raise bad
        return value

    def json_schema(self) -> dict:
        """The JSON schema of one value (``description`` ends with the units and the default)."""
        out: dict = {"type": self.kind}
        if self.kind == "array":
            out["items"] = {}
        if self.choices is not None:
            out["enum"] = list(self.choices)
        if self.minimum is not None:
            out["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        out["description"] = self.description
        return out


@dataclasses.dataclass(frozen=True)
class Spec:
    """The parameters of one family, in order, and the rules between them.

    Parameters
    ----------
    *params : Param
    rules : tuple of str
        Conditions every job must satisfy, each an expression in the parameter names with numbers, ``+ - * / // %
        **``, comparisons, ``and``/``or``/``not`` and the functions ``round``, ``abs``, ``min``, ``max``
        (:func:`evaluate_rule`), e.g. ``"dt < T"``.
    """

    params: tuple[Param, ...]
    rules: tuple[str, ...] = ()

    def __init__(self, *params: Param, rules: tuple[str, ...] = ()):
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names in {names}")
        for rule in rules:
            unknown = set(rule_names(rule)) - set(names)
            if unknown:
                raise ValueError(f"rule {rule!r} uses {sorted(unknown)}, which are not parameters ({names})")
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(self, "rules", tuple(rules))

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def __iter__(self):
        return iter(self.params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> dict:
        """Every parameter's default (a fresh dict; lists are copied)."""
        return {p.name: list(p.default) if isinstance(p.default, list) else p.default for p in self.params}

    @property
    def sweep_keys(self) -> tuple[str, ...]:
        """The parameters jobs can differ in, in order."""
        return tuple(p.name for p in self.params if p.sweep)

    def resolve(self, params: Mapping | None = None, family: str = "") -> dict:
        """The defaults updated by ``params``, each value coerced and checked, and the rules checked.

        Raises
        ------
        DLNError
            Naming the unknown key, the parameter and what it allows, or the rule that fails with the values.
        """
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.names))
        if unknown:
            raise _error(
                f"{family + ': ' if family else ''}unknown parameter(s) {unknown}; known: {', '.join(self.names)}"
            )
        out = self.defaults
        for p in self.params:
            if p.name in params:
                out[p.name] = p.coerce(params[p.name], family)
        for rule in self.rules:
            if not evaluate_rule(rule, out):
                values = ", ".join(f"{k} = {out[k]!r}" for k in rule_names(rule))
                raise _error(f"{family + ': ' if family else ''}parameters break the rule {rule} ({values})")
        return out


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCS = {"round": round, "abs": abs, "min": min, "max": max}


def rule_names(rule: str) -> list[str]:
    """The parameter names a rule uses, in the order they first appear."""
    names = [n for n in ast.walk(ast.parse(rule, mode="eval")) if isinstance(n, ast.Name) and n.id not in _FUNCS]
    return list(dict.fromkeys(n.id for n in sorted(names, key=lambda n: n.col_offset)))


def evaluate_rule(rule: str, values: Mapping) -> bool:
    """Evaluate a rule of :class:`Spec` on parameter values (no other Python is allowed in a rule)."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not ev(node.operand)
        if isinstance(node, ast.BoolOp):
            vals = (ev(v) for v in node.values)
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.Compare) and all(type(op) in _CMPOPS for op in node.ops):
            left = ev(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = ev(right_node)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            return _FUNCS[node.func.id](*(ev(a) for a in node.args))
        raise ValueError(f"rule {rule!r}: {ast.unparse(node)!r} is not allowed in a rule")

    try:
        return bool(ev(ast.parse(rule, mode="eval")))
    except ZeroDivisionError:
        return False


def _error(message: str):
    """A :class:`dln.DLNError` (imported on use: this module is read while the Snakefile parses, before NumPy)."""
    from .._errors import DLNError

    return DLNError(message)


def _p(kind, description, units="1", **bounds):
    return {"kind": kind, "description": description, "units": units, **bounds}


#: Parameters shared by several families: name -> their type, description, units and widest range.
COMMON: dict[str, dict] = {
    "efolds": _p(
        "number",
        "the Kirwan-Ness flow runs to T = 10 + efolds / r*, r* the predicted slowest decay rate",
        minimum=0,
        exclusive_minimum=True,
        maximum=1000,
    ),
    "N": _p("integer", "number of layers N of the deep linear network", minimum=2, maximum=1024),
    "d": _p("integer", "layer width d (every W_k is d x d)", minimum=1, maximum=16),
    "field": _p("string", "scalar field of the matrices", choices=("real", "complex")),
    "seed": _p(
        "integer",
        "seed index; the RNG comes from a SeedSequence of all the job's parameters",
        minimum=0,
        maximum=1000000,
    ),
    "T": _p("number", "final (dimensionless) flow time", minimum=0, exclusive_minimum=True, maximum=10000),
    "n_t": _p("integer", "number of output times in [0, T]", minimum=2, maximum=100000),
    "kappa": _p("number", "regularization strength kappa", minimum=0, maximum=1000),
    "beta": _p("number", "inverse temperature beta", minimum=0, exclusive_minimum=True, maximum=1e6),
    "p": _p("number", "Schatten exponent p", minimum=0, exclusive_minimum=True, maximum=1000),
    "rtol": _p("number", "relative tolerance of the ODE solver", minimum=0, exclusive_minimum=True, maximum=0.1),
    "dt": _p("number", "integrator step size", minimum=0, exclusive_minimum=True, maximum=1),
    "n_seeds": _p("integer", "number of random points (seeds) per job", minimum=1, maximum=10000),
    "n_samples": _p("integer", "number of random samples", minimum=1, maximum=1000000),
    "n_starts": _p("integer", "number of random initial conditions", minimum=1, maximum=10000),
}


def param(name: str, default, *, sweep: bool = False, **overrides) -> Param:
    """A :class:`Param` from :data:`COMMON` (or, for a family's own parameter, from ``overrides`` alone).

    ``overrides`` narrow or replace the common entry (``minimum=3``, ``description=...``, ``choices=...``).
    """
    base = dict(COMMON.get(name, {}))
    base.update(overrides)
    if "kind" not in base or "description" not in base:
        raise ValueError(f"parameter {name!r} is not in COMMON: give its kind and description")
    return Param(name=name, default=default, sweep=sweep, **base)
