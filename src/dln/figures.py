"""The book's figures: the family each is drawn from, the function that draws it, and how to redraw one.

Every experiment family lists its figures in ``dln.experiments.<family>.FIGURES``, a dict from the figure's name
to the function of that module that draws it from the family's dataset; :data:`FIGURES` gathers them. A
figure's name is also the file name ``book/_generated/figures/<name>.png`` and the target of
``dln figure <name>``. The book's rule ``book_assets`` draws every figure through :func:`draw` (in the book's
style, :func:`dln.plotting.styled`) and :func:`save`, so a figure redrawn by hand is the figure of the book.

Examples
--------
>>> from dln.figures import FIGURES
>>> FIGURES["regularizing_flow_errors"].family
'regularizing_flow'
>>> FIGURES["regularizing_flow_errors"].dotted_name
'dln.experiments.regularizing_flow.fig_regularizing_flow'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import DLNError

if TYPE_CHECKING:
    import matplotlib.figure
    import xarray

__all__ = ["DPI", "FIGURES", "Figure", "draw", "save", "reproduce_command"]

#: Resolution of the book's PNG figures (dots per inch).
DPI = 120


@dataclass(frozen=True)
class Figure:
    """One figure of the book.

    Attributes
    ----------
    name : str
        The figure's name (file ``<name>.png``).
    family : str
        The experiment family whose dataset ``results/<family>.nc`` it is drawn from (and whose module defines
        :attr:`function`).
    function : callable
        ``function(ds) -> matplotlib.figure.Figure``, which draws it from that dataset.
    """

    name: str
    family: str
    function: Callable[[xarray.Dataset], matplotlib.figure.Figure]

    @property
    def module(self) -> str:
        """The module defining the drawing function (``dln.experiments.<family>``)."""
        return self.function.__module__

    @property
    def qualname(self) -> str:
        """The drawing function's qualified name in its module."""
        return self.function.__qualname__

    @property
    def dotted_name(self) -> str:
        """``<module>.<qualname>`` of the drawing function."""
        return f"{self.module}.{self.qualname}"

    def source(self) -> tuple[str, int]:
        """The file of the drawing function, relative to the repository root, and its first line."""
        fn = inspect.unwrap(self.function)
        path = Path(inspect.getsourcefile(fn)).resolve()
        package = Path(__file__).resolve().parent
        try:
            rel = path.relative_to(package.parents[1]).as_posix()
        except ValueError:
            try:  # an installed (non-editable) dln
                rel = f"src/dln/{path.relative_to(package).as_posix()}"
            except ValueError:  # a plug-in experiments package outside the repository
                rel = path.as_posix()
        return rel, inspect.getsourcelines(fn)[1]


def _figures() -> dict[str, Figure]:
    from .experiments import FAMILIES, family_module

    out: dict[str, Figure] = {}
    for family in FAMILIES:
        listed = getattr(family_module(family), "FIGURES", {})
        if not isinstance(listed, Mapping):
            raise DLNError(
                f"FIGURES of family {family!r} must map each figure's name to its drawing function, "
                f"not be a {type(listed).__name__}"
            )
        for name, function in listed.items():
            if name in out:
                raise DLNError(f"figure {name!r} is listed by the families {out[name].family!r} and {family!r}")
            if not callable(function):
                raise DLNError(f"figure {name!r} of family {family!r}: {function!r} is not a drawing function")
            out[name] = Figure(name, family, function)
    return out


#: Every figure of the book, by name, in the order of the families.
FIGURES: dict[str, Figure] = _figures()


def draw(name: str, ds: xarray.Dataset) -> matplotlib.figure.Figure:
    """Draw one figure from its family's dataset, in the book's style (:func:`dln.plotting.styled`).

    Parameters
    ----------
    name : str
        A key of :data:`FIGURES`.
    ds : xarray.Dataset
        The dataset ``results/<family>.nc`` of the figure's family.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if name not in FIGURES:
        raise DLNError(f"unknown figure {name!r}; the figures are: {', '.join(FIGURES)}")
    from . import plotting

    return plotting.styled(FIGURES[name].function)(ds)


def save(fig, path: str | Path) -> Path:
    """Write a figure as the book does (PNG at :data:`DPI`), to a temporary file renamed into place."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=DPI, format="png")
    tmp.replace(path)
    plt.close(fig)
    return path


def reproduce_command(name: str) -> str:
    """The one-line shell command that recomputes a figure's dataset with the workflow and redraws the figure."""
    fig = FIGURES[name]
    return f"bash run.sh all results/{fig.family}.nc && .venv/bin/dln figure {name}"
