"""The book's figures: the dataset each is drawn from, the function that draws it, and how to redraw one.

A figure's name is the one listed in its family's ``FIGURES`` (``dln.experiments.<family>.FIGURES``); it
is also the file name ``book/_generated/figures/<name>.png`` and the target of ``dln figure <name>``.
The book's rule ``book_assets`` draws every figure through :func:`draw` and :func:`save`, so a figure
redrawn by hand is the figure of the book.

Examples
--------
>>> from dln.figures import FIGURES
>>> FIGURES["regularizing_flow_errors"].family
'regularizing_flow'
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

from ._errors import DLNError

__all__ = ["DPI", "FIGURES", "Figure", "draw", "save", "reproduce_command"]

#: Resolution of the book's PNG figures (dots per inch).
DPI = 120

#: The function of :mod:`dln.plotting` drawing each figure, by figure name.
_FUNCTIONS: dict[str, str] = {
    "lm_fig_1_1": "fig_1_1",
    "lm_fig_1_2": "fig_1_2",
    "lm_fig_1_3": "fig_1_3",
    "regularizing_flow_errors": "fig_regularizing_flow",
    "kirwan_ness": "fig_kirwan_ness",
    "schatten_gap": "fig_schatten",
    "schatten_hessian": "fig_schatten_hessian",
    "learning_flow": "fig_learning_flow",
    "fast_slow_scales": "fig_fast_slow_scales",
    "fast_slow_shadowing": "fig_fast_slow_shadowing",
    "noise_mean_G": "fig_noise_mean_G",
    "noise_stationary": "fig_noise_stationary",
    "posterior": "fig_posterior",
    "entropy": "fig_entropy",
    "ckm_fig_1": "fig_ckm_1",
    "free_energy_panels": "fig_free_energy_panels",
}


@dataclass(frozen=True)
class Figure:
    """One figure of the book.

    Attributes
    ----------
    name : str
        The figure's name (file ``<name>.png``).
    family : str
        The experiment family whose dataset ``results/<family>.nc`` it is drawn from.
    function : str
        The name of the function of :mod:`dln.plotting` that draws it from that dataset.
    """

    name: str
    family: str
    function: str

    def source(self) -> tuple[str, int]:
        """The file of the drawing function, relative to the repository root, and its first line."""
        from . import plotting

        fn = getattr(plotting, self.function)
        path = Path(inspect.getsourcefile(fn)).resolve()
        root = Path(__file__).resolve().parents[2]
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:  # an installed (non-editable) package
            rel = f"src/dln/{path.name}"
        return rel, inspect.getsourcelines(fn)[1]


def _figures() -> dict[str, Figure]:
    from .experiments import FAMILIES, family_module

    out: dict[str, Figure] = {}
    for family in FAMILIES:
        for name in getattr(family_module(family), "FIGURES", ()):
            if name not in _FUNCTIONS:
                raise DLNError(f"figure {name!r} of family {family!r} has no drawing function in dln.figures")
            out[name] = Figure(name, family, _FUNCTIONS[name])
    unused = sorted(set(_FUNCTIONS) - set(out))
    if unused:
        raise DLNError(f"dln.figures names drawing functions for figures no family lists: {unused}")
    return out


#: Every figure of the book, by name, in the order of the families.
FIGURES: dict[str, Figure] = _figures()


def draw(name: str, ds):
    """Draw one figure from its family's dataset.

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

    return getattr(plotting, FIGURES[name].function)(ds)


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
