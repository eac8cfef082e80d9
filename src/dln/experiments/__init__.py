"""Experiment families: plain functions of parameters that return xarray Datasets.

Each family is one module ``dln.experiments.<family>`` with

- ``SPEC``: its typed parameters (:class:`dln.experiments._spec.Spec`), from which its defaults, its sweep keys,
  the workflow's config schema, the command line's help and the checks of a job's parameters all come;
- ``simulate(params, progress=None) -> xarray.Dataset``: one job (one point of a parameter sweep);
- ``TITLE``, ``SUMMARY``, ``REFERENCES``: the metadata of its aggregated dataset;
- ``LEDGER`` (the small sweep ``dln check`` runs in memory), ``MUTATION`` (the mutation tests' sweep), ``COST``
  (relative cost of ``LEDGER``) and ``FIGURES`` (the book's figures drawn from its dataset: each figure's name
  -> the module's function drawing it, ``fig_*(ds) -> matplotlib.figure.Figure``, which imports Matplotlib only
  when it runs).

:data:`FAMILIES` maps every family's name to its :class:`Family` (modules are imported on first use);
:func:`aggregate` combines the jobs of any family. All datasets follow :mod:`dln.experiments._conventions`. A
family's name is also the name of its workflow rules (``<family>``, ``<family>_aggregate``), its dataset
``results/<family>.nc`` and its book page ``book/<family>.md`` (a family without one gets a page rendered from
its module). :data:`PARTS` groups the families into the book's parts.
"""

from __future__ import annotations

import importlib
import itertools
import os
from collections.abc import Iterator, Mapping

__all__ = [
    "BOOK_PARTS",
    "DIMENSIONS",
    "NAMES",
    "PACKAGE",
    "PARTS",
    "REFERENCES",
    "FAMILIES",
    "Family",
    "aggregate",
    "book_numbers",
    "combine",
    "finalize",
    "read_netcdf",
    "write_netcdf",
    "family_module",
    "sweep_jobs",
    "run_sweep",
]

#: The package holding the experiment modules: ``dln.experiments``, or a plug-in package named by the environment
#: variable ``DLN_EXPERIMENTS_PACKAGE`` (its public modules are the families; tests use stand-in packages).
PACKAGE: str = os.environ.get("DLN_EXPERIMENTS_PACKAGE", __name__)

#: The book's parts and the experiment families of each, in the order of the book.
BOOK_PARTS: dict[str, tuple[str, ...]] = {
    "Lindsey-Menon": (
        "fibers",
        "lm_figures",
        "regularizing_flow",
        "kirwan_ness",
        "scale",
        "schatten",
        "learning_flow",
    ),
    "Section 4 of LM": ("fast_slow", "langevin", "posterior"),
    "Entropy": ("entropy", "free_energy"),
}

#: The book's part of the families of a plug-in package that are not in :data:`BOOK_PARTS`.
PLUGIN_PART = "Experiments"


def _parts(package: str) -> dict[str, tuple[str, ...]]:
    """The families of ``package`` by book part: :data:`BOOK_PARTS` for ``dln.experiments``; for a plug-in package,
    its public modules (those named in :data:`BOOK_PARTS` in their parts, the others sorted in
    :data:`PLUGIN_PART`)."""
    if package == __name__:
        return dict(BOOK_PARTS)
    import pkgutil

    found = {m.name for m in pkgutil.iter_modules(importlib.import_module(package).__path__) if m.name[0] != "_"}
    parts = {part: tuple(n for n in names if n in found) for part, names in BOOK_PARTS.items()}
    known = {n for names in parts.values() for n in names}
    parts[PLUGIN_PART] = tuple(sorted(found - known))
    return {part: names for part, names in parts.items() if names}


#: The book's parts and their families, for the experiments package in use (:data:`PACKAGE`).
PARTS: dict[str, tuple[str, ...]] = _parts(PACKAGE)

#: Every experiment family, in the order of the book.
NAMES: tuple[str, ...] = tuple(n for names in PARTS.values() for n in names)


class Family:
    """One experiment family: its module and what the protocol derives from it.

    Parameters
    ----------
    name : str
    package : str
        The package holding the module (``dln.experiments``; tests use stand-in packages).
    """

    def __init__(self, name: str, package: str = __name__):
        self.name, self.package = name, package

    def __repr__(self) -> str:
        return f"Family({self.name!r})"

    @property
    def module(self):
        return importlib.import_module(f"{self.package}.{self.name}")

    @property
    def spec(self):
        return self.module.SPEC

    @property
    def defaults(self) -> dict:
        return self.spec.defaults

    @property
    def sweep_keys(self) -> tuple[str, ...]:
        return self.spec.sweep_keys

    @property
    def description(self) -> str:
        """The first paragraph of the module's docstring, on one line, without its final period."""
        return " ".join((self.module.__doc__ or self.name).strip().split("\n\n")[0].split()).rstrip(".")

    def resolve(self, params=None) -> dict:
        """The full parameters of one job (defaults, types and ranges, rules); see :meth:`Spec.resolve`."""
        return self.spec.resolve(params, self.name)

    def simulate(self, params=None, progress=None):
        """One job: ``simulate(params, progress)`` of the module."""
        return self.module.simulate(params, progress=progress)

    def aggregate(self, datasets: list):
        """Combine the jobs of a sweep (:func:`aggregate`)."""
        return aggregate(self, datasets)

    def __getattr__(self, attr: str):
        if attr in ("LEDGER", "MUTATION", "COST", "FIGURES", "TITLE", "SUMMARY", "REFERENCES"):
            return getattr(self.module, attr)
        raise AttributeError(attr)


class _Registry(Mapping):
    """Name -> :class:`Family`, in book order (iterating gives the names)."""

    def __init__(self, names: tuple[str, ...], package: str):
        self._families = {n: Family(n, package) for n in names}

    def __getitem__(self, name: str) -> Family:
        try:
            return self._families[name]
        except KeyError:
            raise KeyError(f"family {name!r} is not an experiment family; known: {', '.join(self._families)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._families)

    def __len__(self) -> int:
        return len(self._families)

    def __repr__(self) -> str:
        return f"FAMILIES({', '.join(self._families)})"


#: Every experiment family: name -> :class:`Family`, in the order of the book.
FAMILIES: Mapping[str, Family] = _Registry(NAMES, PACKAGE)


def family_module(family: str):
    """The module ``<PACKAGE>.<family>`` (a :class:`KeyError` naming the known families otherwise)."""
    return FAMILIES[family].module


def combine(family: Family | str, datasets: list):
    """The job datasets of one family merged along its sweep keys (not finalized).

    The jobs are merged with :func:`~dln.experiments._conventions.combine_jobs` (every other parameter must be
    equal in all jobs). A variable that some jobs lack along a dimension (a quantity defined only for d = 1, a
    mode index of size d) is 0 there, with a mask ``<name>_available``. A swept string parameter's coordinate gets
    the parameter's description.
    """
    from ._conventions import combine_jobs, data_array, flag_variable

    fam = FAMILIES[family] if isinstance(family, str) else family
    spec = fam.spec
    out = combine_jobs(datasets, spec.sweep_keys, spec.defaults)
    padded = [n for n, v in out.data_vars.items() if v.dtype.kind in "fc" and bool(v.isnull().any())]
    for name in padded:
        attrs = dict(out[name].attrs)
        out[name + "_available"] = flag_variable(
            data_array((~out[name].isnull()).values, out[name].dims, f"1 where {name} is defined"),
            "undefined defined",
        )
        out[name] = out[name].fillna(0.0)
        ancillary = " ".join([*attrs.get("ancillary_variables", "").split(), name + "_available"])
        out[name].attrs.update(attrs, ancillary_variables=ancillary)
    for p in spec:
        if p.sweep and p.name in out.coords and p.kind == "string":
            out[p.name].attrs.update({"long_name": p.description, "units": "1"})
    return out


def aggregate(family: Family | str, datasets: list):
    """Combine the job datasets of one family's sweep into its dataset (:func:`combine`), finalized with the
    family's ``TITLE``, ``SUMMARY`` and ``REFERENCES``."""
    from ._conventions import finalize

    fam = FAMILIES[family] if isinstance(family, str) else family
    return finalize(
        combine(fam, datasets),
        title=fam.TITLE,
        summary=fam.SUMMARY,
        references=list(fam.REFERENCES),
        config={"jobs": len(datasets)},
        context=f"rule {fam.name}_aggregate",
    )


def book_numbers(family: Family | str, ds) -> dict[str, dict]:
    """The numbers the book quotes about a family's dataset, raw, each with its definition and source.

    For every swept parameter that is a dimension of ``ds``: ``<family>__<key>``, the list of its values; and
    ``<family>__jobs``, the number of sweep points (the product of those dimensions' sizes; a chunked sweep runs
    several points per Snakemake job). Sources read
    ``dataset:<family>:<key>:values`` and ``dataset:<family>:jobs`` (``tests/test_book_numbers.py`` recomputes
    each from the job files). The Sphinx extension formats them.

    Returns
    -------
    dict
        ``name -> {"value": ..., "definition": str, "source": str}``.
    """
    fam = FAMILIES[family] if isinstance(family, str) else family
    dims = [d for d in fam.sweep_keys if d in ds.dims]
    out: dict[str, dict] = {}
    for dim in dims:
        out[f"{fam.name}__{dim}"] = {
            "value": [v.item() if hasattr(v, "item") else v for v in ds[dim].values],
            "definition": f"values of {dim} in results/{fam.name}.nc",
            "source": f"dataset:{fam.name}:{dim}:values",
        }
    jobs = 1
    for d in dims:
        jobs *= int(ds.sizes[d])
    out[f"{fam.name}__jobs"] = {
        "value": jobs,
        "definition": f"number of sweep points (parameter combinations) of results/{fam.name}.nc: the product of "
        "the sizes of the swept dimensions",
        "source": f"dataset:{fam.name}:jobs",
    }
    return out


def sweep_jobs(family: str, sweep: dict | None = None) -> list[dict]:
    """The parameter dicts of a sweep ``{"sweep": {key: [values]}, "fixed": {key: value}}`` (default: ``LEDGER``).

    Every job is the family's defaults updated by ``fixed`` and one point of the cartesian product of ``sweep``,
    resolved by the family's spec (types, ranges, rules).
    """
    fam = FAMILIES[family]
    spec = fam.LEDGER if sweep is None else sweep
    keys = list(spec.get("sweep", {}))
    base = dict(spec.get("fixed", {}))
    return [
        fam.resolve({**base, **dict(zip(keys, combo, strict=True))})
        for combo in itertools.product(*(spec["sweep"][k] for k in keys))
    ]


def run_sweep(family: str, sweep: dict | None = None):
    """Simulate every job of a sweep in memory and aggregate them (default: the family's ``LEDGER`` sweep)."""
    fam = FAMILIES[family]
    return fam.aggregate([fam.simulate(p) for p in sweep_jobs(family, sweep)])


_LAZY = {"DIMENSIONS", "REFERENCES", "finalize", "read_netcdf", "write_netcdf"}


def __getattr__(name: str):
    if name in _LAZY:
        from . import _conventions

        return getattr(_conventions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
