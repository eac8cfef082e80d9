"""Mutation testing of the ledger: perturb one public function of :mod:`dln`, rerun the claims that check it.

A *mutant* replaces a public function ``f`` by ``T(f(...))`` everywhere :mod:`dln` refers to it (every
``dln`` module whose namespace holds ``f``, including the claims' own modules), where ``T`` is one of

- ``scale``: multiply every floating-point output by 1 + 1e-5;
- ``perturb``: add 1e-5 |x| R/|R| to every floating-point output array x (R a fixed random array);
- ``block``: the same, but only in the last block along the layer axis (-3): an index slip in one block;
- ``conj``: complex conjugate of complex outputs (a missing conjugate);
- ``transpose``: swap the last two axes of square-matrix outputs (a missing transpose).

The mutant is *killed* when at least one claim that lists ``f`` in ``implements`` fails. A kind that does
not apply to any output ``f`` returns on the claims' inputs (the conjugate of a real output, the transpose
of a non-square one, a block of an output without a layer axis) is *not applicable*; one that applies but
changes nothing (the transpose of a symmetric matrix) is *equivalent*. Neither is counted. The mutation
score is killed / (killed + survived); a function that a claim lists but never calls counts as survived.

Run ``dln mutate`` (every function, every mutant; ``--full`` evaluates every listed claim instead of
stopping at the first failure) or the test ``tests/test_mutation.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import sys
import time

import numpy as np

from . import _claims

__all__ = ["KINDS", "EPS", "EXCLUDED", "targets", "mutated", "run_mutant", "run_all", "format_report"]

#: The mutant kinds, in the order they are tried.
KINDS: tuple[str, ...] = ("scale", "perturb", "block", "conj", "transpose")

#: Relative size of the numerical perturbations.
EPS = 1e-5

#: Public names of :mod:`dln` that no claim checks, and why.
EXCLUDED: dict[str, str] = {
    "random_layers": "input generator: a perturbed Gaussian draw is another valid random input",
    "random_matrix": "input generator: a perturbed Gaussian draw is another valid random input",
    "haar_unitary": "input generator (Haar-random unitaries); balanced_point, which uses it, is checked",
    "rng_from_params": "returns a random generator, not a number",
    "progress_logger": "returns a logging callback, not a number",
    "brownian_increments": "input generator (Gaussian increments); the integrators that use them are checked",
}


def targets(registry: dict | None = None) -> dict[str, list[str]]:
    """Every public function some claim checks -> the IDs of those claims (registry order)."""
    reg = _claims.CLAIMS if registry is None else registry
    out: dict[str, list[str]] = {}
    for cid, c in reg.items():
        for name in c.implements:
            out.setdefault(name, []).append(cid)
    return out


def _direction(x: np.ndarray, salt: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(f"{salt}{x.shape}".encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(x.shape)
    if np.iscomplexobj(x):
        r = r + 1j * rng.standard_normal(x.shape)
    return r / max(np.linalg.norm(r.ravel()), 1e-300)


class _Transform:
    """Applies one mutant kind to outputs, and records the largest relative change it made."""

    def __init__(self, kind: str, salt: str, eps: float = EPS):
        self.kind, self.salt, self.eps = kind, salt, eps
        self.max_change = 0.0
        self.calls = 0
        self.eligible = 0  # outputs the kind applies to

    def array(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind not in "fc" or x.size == 0:
            return x
        k, eps = self.kind, self.eps
        if k == "scale":
            y = x * (1.0 + eps)
        elif k == "perturb":
            y = x + eps * np.linalg.norm(x.ravel()) * _direction(x, self.salt).astype(x.dtype, copy=False)
        elif k == "block":
            if x.ndim < 3 or x.shape[-1] != x.shape[-2]:
                return x
            y = x.copy()
            blk = y[..., -1, :, :]
            y[..., -1, :, :] = blk + eps * np.linalg.norm(blk.ravel()) * _direction(blk, self.salt).astype(
                x.dtype, copy=False
            )
        elif k == "conj":
            if x.dtype.kind != "c":
                return x
            y = np.conj(x)
        elif k == "transpose":
            if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
                return x
            y = np.swapaxes(x, -1, -2).copy()
        else:  # pragma: no cover
            raise ValueError(k)
        self.eligible += 1
        nx = np.linalg.norm(x.ravel())
        if nx > 0:
            self.max_change = max(self.max_change, float(np.linalg.norm((y - x).ravel()) / nx))
        return y

    def __call__(self, out):
        self.calls += 1
        return self._apply(out)

    def _apply(self, out):
        if isinstance(out, np.ndarray):
            return self.array(out)
        if isinstance(out, float | np.floating) and not isinstance(out, bool):
            if self.kind in ("scale", "perturb"):
                self.eligible += 1
                y = float(out) * (1.0 + self.eps)
                if out != 0:
                    self.max_change = max(self.max_change, self.eps)
                return type(out)(y) if isinstance(out, np.floating) else y
            return out
        if isinstance(out, tuple) and not hasattr(out, "_fields"):
            return tuple(self._apply(o) for o in out)
        if isinstance(out, list):
            return [self._apply(o) for o in out]
        if isinstance(out, dict):
            return {k: self._apply(v) for k, v in out.items()}
        if dataclasses.is_dataclass(out) and not isinstance(out, type):
            changes = {f.name: self._apply(getattr(out, f.name)) for f in dataclasses.fields(out)}
            return dataclasses.replace(out, **changes)
        return out


@contextlib.contextmanager
def mutated(name: str, kind: str, eps: float = EPS):
    """Within the block, every reference to ``dln.<name>`` inside :mod:`dln` is the mutant; yields its transform."""
    import dln

    original = getattr(dln, name)
    transform = _Transform(kind, salt=name, eps=eps)

    def mutant(*args, **kwargs):
        return transform(original(*args, **kwargs))

    mutant.__wrapped__ = original
    patched = []
    for modname, mod in list(sys.modules.items()):
        if mod is None or not (modname == "dln" or modname.startswith("dln.")):
            continue
        for attr, val in list(vars(mod).items()):
            if val is original:
                setattr(mod, attr, mutant)
                patched.append((mod, attr))
    try:
        yield transform
    finally:
        for mod, attr in patched:
            setattr(mod, attr, original)


def _family_cost(family: str) -> float:
    from ..experiments import family_module

    return float(getattr(family_module(family), "COST", 1.0))


class MutantTimeout(BaseException):  # not an Exception: nothing on the way may swallow it
    """A mutant made the evidence take longer than the time limit (counted as noticed: the claim cannot pass)."""


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise :class:`MutantTimeout` in the main thread after ``seconds`` (no limit when None or off the main thread)."""
    import signal
    import threading

    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise MutantTimeout(f"the evidence took longer than {seconds:g} s under this mutant")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


#: Time limit of one mutant's evaluation (seconds).
TIME_LIMIT = 120.0


def run_mutant(
    name: str, kind: str, registry: dict | None = None, full: bool = False, time_limit: float | None = TIME_LIMIT
) -> dict:
    """Run the claims listing ``name`` under one mutant (cheapest family first; stop at the first failure
    unless ``full``). Returns ``{"function", "kind", "outcome", "killed_by", "evaluated", "max_change", "seconds"}``
    with outcome ``killed``, ``survived`` or ``equivalent``.
    """
    from .ledger import FamilyData, run_ledger

    reg = _claims.CLAIMS if registry is None else registry
    ids = sorted(targets(reg).get(name, []), key=lambda i: _family_cost(reg[i].family))
    t0 = time.perf_counter()
    killed, evaluated = [], []
    data = FamilyData(mutation=True)
    timed_out = False
    with mutated(name, kind) as transform:
        try:
            with _time_limit(time_limit):
                for cid in ids:
                    row = run_ledger([cid], registry=reg, data=data)[0]
                    evaluated.append(cid)
                    if row["status"] == "fail":
                        killed.append(cid)
                        if not full:
                            break
        except MutantTimeout:
            timed_out = True
            killed.append(f"{ids[len(evaluated)]} (time limit)")
    if killed:
        outcome = "killed"
    elif transform.calls == 0:
        outcome = "survived"  # a claim lists the function but its evidence never calls it
    elif transform.eligible == 0:
        outcome = "n/a"  # the kind does not apply to this function's outputs (e.g. conj of real output)
    elif transform.max_change < 1e-14:
        outcome = "equivalent"  # applied, but the output is unchanged (e.g. transpose of a symmetric matrix)
    else:
        outcome = "survived"
    return {
        "function": name,
        "kind": kind,
        "outcome": outcome,
        "timed_out": timed_out,
        "killed_by": killed,
        "evaluated": evaluated,
        "max_change": transform.max_change,
        "calls": transform.calls,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _run_one(args: tuple) -> dict:
    name, kind, full = args
    return run_mutant(name, kind, full=full)


def run_all(
    functions: list[str] | None = None,
    kinds=KINDS,
    registry: dict | None = None,
    full: bool = False,
    progress=None,
    jobs: int = 1,
) -> list[dict]:
    """Every (function, kind) mutant of ``functions`` (default: every target), in that order.

    ``jobs > 1`` runs the mutants in that many worker processes (the registered claims only: ``registry`` must
    be None); ``progress(result)`` is called as each one finishes.
    """
    names = sorted(targets(registry)) if functions is None else list(functions)
    tasks = [(name, kind, full) for name in names for kind in kinds]
    if jobs <= 1:
        out = []
        for name, kind, _ in tasks:
            res = run_mutant(name, kind, registry=registry, full=full)
            out.append(res)
            if progress is not None:
                progress(res)
        return out
    if registry is not None:
        raise ValueError("registry: a custom registry runs with jobs = 1 only")
    import concurrent.futures
    import multiprocessing

    results: dict[int, dict] = {}
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {pool.submit(_run_one, task): i for i, task in enumerate(tasks)}
        for fut in concurrent.futures.as_completed(futures):
            results[futures[fut]] = fut.result()
            if progress is not None:
                progress(results[futures[fut]])
    return [results[i] for i in range(len(tasks))]


def score(results: list[dict]) -> dict:
    """Counts of killed, survived and equivalent mutants, and the score killed / (killed + survived)."""
    k = sum(r["outcome"] == "killed" for r in results)
    s = sum(r["outcome"] == "survived" for r in results)
    e = sum(r["outcome"] == "equivalent" for r in results)
    na = sum(r["outcome"] == "n/a" for r in results)
    return {"killed": k, "survived": s, "equivalent": e, "not_applicable": na, "score": k / (k + s) if k + s else 1.0}


def format_report(results: list[dict]) -> str:
    """A Markdown table: function, mutant, outcome, the claims that failed."""
    lines = ["| function | mutant | outcome | failed claims |", "|---|---|---|---|"]
    for r in results:
        killers = ", ".join(r["killed_by"]) if r["killed_by"] else "-"
        lines.append(f"| `{r['function']}` | {r['kind']} | {r['outcome']} | {killers} |")
    s = score(results)
    lines.append("")
    lines.append(
        f"{s['killed']} killed, {s['survived']} survived, {s['equivalent']} equivalent, {s['not_applicable']} not "
        f"applicable: mutation score {100 * s['score']:.1f} %"
    )
    return "\n".join(lines)
