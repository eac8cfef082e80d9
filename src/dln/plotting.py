"""The drawing toolkit of the book's figures: the book's style and the helpers the families' figures share.

Each experiment family draws its own figures: functions ``fig_*(ds) -> matplotlib.figure.Figure`` in its module
``dln.experiments.<family>``, listed in its ``FIGURES``, that use the helpers here. :func:`dln.figures.draw` calls
one in the book's style (:func:`styled`) and :func:`dln.figures.save` writes it as the book does; in a session::

    from dln import figures
    from dln.experiments import read_netcdf

    figures.save(figures.draw("lm_fig_1_2", read_netcdf("results/lm_figures.nc")), "lm_fig_1_2.png")

A drawing function imports this module by name when it runs (``importlib.import_module("dln.plotting")``), not
with an ``import`` statement: importing a family module, as every simulation job does, then loads no Matplotlib,
and the code version of a family's jobs (:func:`dln.workflow.family_code`, the static import closure of
:mod:`dln._sources`) does not include the drawing toolkit, so an edit here redraws the book and reruns no
simulation.

The figures are sized for the book's text column, about 850 CSS px wide: :data:`WIDTH` = 6.5 in (780 px at
120 dpi) with fonts of at least 8.5 pt, 14 px on screen. Legends sit below or beside the axes, never over data
(:func:`legend_below`); a value that colour encodes has a legend entry per value or a labelled colour bar
(:func:`key_colorbar`). Every figure accepts the full sweep of its family and a dataset of a single job;
dimensions a dataset lacks are ignored (:func:`coords`, :func:`sel`, :func:`one`). Values a dataset marks as
undefined (an ``<name>_available`` mask, NaN from combining jobs of different shapes) are never drawn
(:func:`available`), and exact zeros are left out of logarithmic axes (:func:`pos`). Nothing here runs a
simulation; Matplotlib is used without pyplot state.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.font_manager
import matplotlib.textpath
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullFormatter

__all__ = [
    "EPS",
    "FIELD_LS",
    "FIELD_MARKER",
    "FIELD_STYLE",
    "LEGEND_ROW",
    "MAX_COLOR_ENTRIES",
    "MEDIUM",
    "RC",
    "SMALL",
    "WIDTH",
    "available",
    "band",
    "case_label",
    "cases",
    "colors",
    "config_styles",
    "coords",
    "eps_axis",
    "figure",
    "flow_handles",
    "grid",
    "jitter",
    "key_colorbar",
    "legend_below",
    "legend_shape",
    "line",
    "log_runs",
    "message",
    "num",
    "one",
    "pos",
    "runs",
    "scalar",
    "sel",
    "seq_colors",
    "styled",
    "zscore",
    "zscore_axis",
]

#: Colour and marker of each field, wherever colour encodes the field.
FIELD_STYLE = {"real": {"color": "C0", "marker": "o"}, "complex": {"color": "C3", "marker": "s"}}
#: Line style and marker of each field, wherever colour encodes something else.
FIELD_LS = {"real": "-", "complex": "--"}
FIELD_MARKER = {"real": "o", "complex": "s"}

#: Total width of a full-column figure (inches; 780 px at the book's 120 dpi).
WIDTH = 6.5
#: Font sizes (pt): tick labels, legends; axis labels and titles.
SMALL, MEDIUM = 8.5, 9.0
#: Machine epsilon of float64 (round-off quantities are drawn in its units).
EPS = float(np.finfo(float).eps)

#: The book's Matplotlib settings (font sizes, line widths), in force while a figure is drawn (:func:`styled`).
RC = {
    "font.size": MEDIUM,
    "axes.titlesize": MEDIUM,
    "axes.labelsize": MEDIUM,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "legend.fontsize": SMALL,
    "legend.title_fontsize": SMALL,
    "figure.titlesize": MEDIUM,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.0,
    "legend.handlelength": 2.4,
}


def styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Wrap a drawing function so that it draws in the book's style.

    Parameters
    ----------
    fn : callable
        A function returning a :class:`~matplotlib.figure.Figure`.

    Returns
    -------
    callable
        ``fn`` run under :data:`RC`; every axes of its figure then gets tick labels of size :data:`SMALL` and
        readable logarithmic axes (a single point gets about one decade around it; an axis spanning less than
        two decades gets plain labels such as "0.2").
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(RC):
            fig = fn(*args, **kwargs)
            for ax in fig.axes:
                ax.tick_params(labelsize=SMALL)
                _fix_log_axes(ax)
        return fig

    return wrapper


def _plain(v, _=None) -> str:
    return f"{v:g}"


def _plain_25(v, _=None) -> str:
    """Label the minor ticks 2 and 5 of each decade only."""
    lead = round(v / 10 ** np.floor(np.log10(v) + 1e-9), 6) if v > 0 else 0
    return f"{v:g}" if lead in (2.0, 5.0) else ""


def _fix_log_axes(ax) -> None:
    """Readable logarithmic axes: a single point gets about one decade around it, and an axis spanning less than
    two decades gets plain labels ("0.2") on its decades and on the minor ticks 2 and 5 (no crowded 2x10^-1), or
    on every minor tick where those would be fewer than two labels."""
    for axis, get, set_ in ((ax.xaxis, ax.get_xlim, ax.set_xlim), (ax.yaxis, ax.get_ylim, ax.set_ylim)):
        if axis.get_scale() != "log":
            continue
        lo, hi = sorted(get())
        if not (np.isfinite(lo) and np.isfinite(hi) and lo > 0):
            continue
        if hi / lo < 1.5:
            mid = np.sqrt(lo * hi)
            lo, hi = mid / 3.0, mid * 3.0
            set_(lo, hi)
        if hi / lo < 100 and not isinstance(axis.get_major_formatter(), FuncFormatter):
            axis.set_major_formatter(FuncFormatter(_plain))
            decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
            n_25 = sum(1 for k in decades for m in (1.0, 2.0, 5.0) if lo <= m * 10.0**k <= hi)
            # fewer than two labels at 1, 2 and 5: label every minor tick
            axis.set_minor_formatter(FuncFormatter(_plain_25 if n_25 >= 2 else _plain))


# ------------------------------------------------------------------------------------------------ figures


def figure(ncols: int = 1, nrows: int = 1, width: float = WIDTH, height: float = 2.8, **kw) -> tuple[Figure, list]:
    """A constrained-layout figure and its axes.

    Parameters
    ----------
    ncols, nrows : int
        The grid of axes.
    width, height : float
        The figure's total size (inches).
    **kw
        Passed to :meth:`~matplotlib.figure.Figure.subplots` (``sharex``, ``sharey``).

    Returns
    -------
    (Figure, list)
        The figure and its axes, row by row.
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, list(axes.ravel())


def message(text: str, width: float = 4.0, height: float = 1.6) -> Figure:
    """A figure that only says why there is nothing to draw.

    Parameters
    ----------
    text : str
        The reason, centred.
    width, height : float
        The figure's size (inches).
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    return fig


# ------------------------------------------------------------------------------------------------ selecting data


def coords(ds, dim: str) -> list:
    """The coordinate values of a dimension.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
    dim : str

    Returns
    -------
    list
        The values of ``dim``, or ``[None]`` when ``ds`` has no such dimension.
    """
    return list(ds[dim].values) if dim in ds.dims else [None]


def sel(obj, at: dict):
    """``obj.sel(at)`` restricted to the dimensions ``obj`` has (``None`` values ignored).

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
    at : dict
        Dimension -> value.
    """
    return obj.sel({k: v for k, v in at.items() if k in obj.dims and v is not None})


def one(obj, at: dict | None = None, keep: Iterable[str] = ()):
    """``obj`` at ``at`` (:func:`sel`) with every other dimension except ``keep`` at its first index.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
    at : dict, optional
        Dimension -> value.
    keep : iterable of str
        The dimensions kept whole.
    """
    obj = sel(obj, at or {})
    return obj.isel({d: 0 for d in obj.dims if d not in keep})


def cases(ds, dims: Iterable[str]) -> list[dict]:
    """Every combination of the coordinates of those of ``dims`` that ``ds`` has.

    Parameters
    ----------
    ds : xarray.Dataset
    dims : iterable of str

    Returns
    -------
    list of dict
        One ``.sel`` dict per combination (empty when ``ds`` has none of ``dims``).
    """
    dims = [d for d in dims if d in ds.dims]
    return [dict(zip(dims, vals, strict=True)) for vals in itertools.product(*[ds[d].values for d in dims])]


def scalar(da) -> float:
    """The first value of ``da`` as a float."""
    return float(np.asarray(da, dtype=float).ravel()[0])


def num(v) -> str:
    """A parameter value as text: ``3`` for 3.0, ``0.25`` for 0.25, strings as they are."""
    if isinstance(v, str | np.str_):
        return str(v)
    v = float(v)
    return f"{int(v)}" if v == int(v) and abs(v) < 1e6 else f"{v:g}"


_NAMES = {"kappa": r"\kappa", "beta": r"\beta"}


def case_label(case: dict) -> str:
    """The legend text of a case: ``{"N": 3, "kappa": 0.3, "field": "real"}`` -> ``$N=3$, $\\kappa=0.3$, real``.

    ``None`` values are left out.
    """
    parts = []
    for k, v in case.items():
        if v is None:
            continue
        if isinstance(v, str | np.str_):
            parts.append(str(v).replace("_", "-"))
        else:
            parts.append(f"${_NAMES.get(k, k)}={num(v)}$")
    return ", ".join(parts)


def pos(a) -> np.ndarray:
    """``a`` as floats with its non-positive and non-finite entries NaN (not drawn): for logarithmic axes."""
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def available(ds, name: str, like=None) -> np.ndarray:
    """Where a variable is defined: finite and, where the dataset has one, marked by its ``<name>_available`` mask.

    Parameters
    ----------
    ds : xarray.Dataset
    name : str
        The variable.
    like : xarray.DataArray, optional
        The values to test (default ``ds[name]``); the mask is broadcast to them.

    Returns
    -------
    numpy.ndarray of bool
    """
    da = ds[name] if like is None else like
    mask = ds.get(f"{name}_available")
    ok = np.isfinite(np.asarray(da, dtype=float))
    if mask is None:
        return ok
    m = mask.broadcast_like(da).transpose(*da.dims) if hasattr(da, "dims") else mask
    return ok & np.asarray(m).astype(bool)


def runs(da, keep: str = "t") -> np.ndarray:
    """``da`` as a 2-D float array: ``keep`` along the rows, one column per combination of its other dimensions."""
    other = [d for d in da.dims if d != keep]
    return np.asarray(da.transpose(keep, *other).values, dtype=float).reshape(da.sizes[keep], -1)


# ------------------------------------------------------------------------------------------------ colours


def colors(n: int) -> list:
    """``n`` distinct colours (for unordered cases): tab10 up to 10, tab20 up to 20, viridis beyond."""
    if n <= 10:
        return [f"C{i}" for i in range(n)]
    cmap = mpl.colormaps["tab20" if n <= 20 else "viridis"]
    return [cmap(i / max(n - 1, 1)) if n > 20 else cmap(i) for i in range(n)]


def seq_colors(n: int, cmap: str = "viridis") -> list:
    """``n`` colours of a sequential map (for an ordered key such as N or kappa), avoiding its pale end."""
    cm = mpl.colormaps[cmap]
    return [cm(0.85 * i / max(n - 1, 1)) for i in range(n)]


#: Up to this many values of a parameter that colour encodes get a legend entry each; beyond, a colour bar.
MAX_COLOR_ENTRIES = 7


def key_colorbar(parent, axes, values: Sequence, colors: Sequence, label: str, **kw):
    """A colour bar with one colour per value of an ordered parameter (for sweeps too long for a legend).

    Parameters
    ----------
    parent : Figure or SubFigure
        Where the colour bar is drawn.
    axes : Axes or list of Axes
        The axes it belongs to (it takes its room from them).
    values, colors : sequence
        The parameter's values and their colours.
    label : str
        The colour bar's label.
    **kw
        Passed to :meth:`~matplotlib.figure.Figure.colorbar`.
    """
    n = len(values)
    cmap = mpl.colors.ListedColormap(colors)
    norm = mpl.colors.BoundaryNorm(np.arange(n + 1) - 0.5, n)
    cb = parent.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, ticks=np.arange(n), **kw)
    cb.ax.set_yticklabels([num(v) for v in values])
    cb.ax.tick_params(labelsize=SMALL)
    cb.set_label(label)
    return cb


# ------------------------------------------------------------------------------------------------ legends


def _text_width(text: str, size: float = SMALL) -> float:
    """Width of ``text`` in points at font size ``size`` (mathtext where it has a ``$``)."""
    prop = mpl.font_manager.FontProperties(size=size)
    w, _, _ = _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath="$" in text)
    return float(w)


_TEXT_TO_PATH = mpl.textpath.TextToPath()


#: Height of one legend row (inches).
LEGEND_ROW = 1.45 * SMALL / 72


def legend_shape(handles: Sequence, width: float, ncols: int | None = None) -> tuple[int, int]:
    """The shape of a legend of ``handles`` in ``width`` inches: as many columns as fit, at most ``ncols``.

    Parameters
    ----------
    handles : sequence of Artist
        The legend entries (their labels set the column width).
    width : float
        The room for the legend (inches).
    ncols : int, optional
        The most columns (default 4).

    Returns
    -------
    (int, int)
        Columns and rows.
    """
    widest = max(_text_width(h.get_label()) for h in handles)
    column = widest + (2.4 + 0.8 + 1.4) * SMALL  # handle, its padding and the column spacing
    fit = max(1, int((width * 72 - 20) // column))
    n = max(1, min(ncols or 4, fit, len(handles)))
    return n, -(-len(handles) // n)


def legend_below(
    fig: Figure,
    handles: Sequence,
    ncols: int | None = None,
    *,
    where: str = "center",
    width: float | None = None,
    title: str | None = None,
    grow: bool = True,
    parent=None,
) -> int:
    """One legend below the axes (never over data), with as many columns as fit.

    Parameters
    ----------
    fig : Figure
        The figure (its width sets the room for the columns).
    handles : sequence of Artist
        The legend entries (``None`` entries are skipped).
    ncols : int, optional
        The most columns (default 4).
    where : {"center", "left", "right"}
        Under the middle of ``parent``, or under its left or right part (two legends side by side).
    width : float, optional
        The room for the legend in inches (default: the width of ``parent``).
    title : str, optional
        A title over the entries.
    grow : bool
        Beyond three rows, make the figure taller by the extra rows (the axes keep their height).
    parent : Figure or SubFigure, optional
        Where the legend is drawn (default ``fig``).

    Returns
    -------
    int
        The legend's number of rows (0 without entries).
    """
    handles = [h for h in handles if h is not None]
    if not handles:
        return 0
    parent = fig if parent is None else parent
    if width is None:
        width = fig.get_figwidth() * (parent.bbox_relative.width if parent is not fig else 1.0)
    n, rows = legend_shape(handles, width, ncols)
    if grow and rows > 3:
        fig.set_figheight(fig.get_figheight() + (rows - 3) * LEGEND_ROW)
    parent.legend(
        handles=handles,
        loc=f"outside lower {where}",
        ncols=n,
        frameon=False,
        columnspacing=1.4,
        title=title,
        alignment="left" if where == "left" else "center",
    )
    return rows


def line(label: str, **kw: Any) -> Line2D:
    """A legend entry: a line without data (black unless ``color`` is given), styled by ``kw``."""
    kw.setdefault("color", "k")
    return Line2D([], [], label=label, **kw)


# ------------------------------------------------------------------------------------------------ axes


def grid(ax) -> None:
    """The book's light grid on ``ax``."""
    ax.grid(alpha=0.3, lw=0.6)


def eps_axis(ax, label: str, signed: bool = True) -> None:
    """Symmetric-log y axis (linear within +-1) for a round-off quantity in units of machine epsilon.

    Call after plotting: the axis spans at least [-10, 10] (``signed``) or [0, 10] so that exact zeros and the
    decades around them are labelled.

    Parameters
    ----------
    ax : Axes
    label : str
        The y label.
    signed : bool
        Whether the quantity takes both signs.
    """
    ax.set_yscale("symlog", linthresh=1.0, linscale=0.6)
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, -10.0) if signed else -0.3, max(hi, 10.0))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel(label)
    ax.axhline(0.0, color="0.5", lw=0.6, zorder=0)


def jitter(values: Sequence, width: float) -> dict:
    """Symmetric offsets in [-width, width], one for each of ``values`` (0 for a single value)."""
    n = len(values)
    if n == 1:
        return {values[0]: 0.0}
    return {v: width * (2 * i / (n - 1) - 1) for i, v in enumerate(values)}


# ------------------------------------------------------------------------------------------------ Monte Carlo


def band(ax, x, m, se, color, k: float = 3.0, ls: str = "-", label: str | None = None) -> None:
    """A Monte Carlo mean ``m`` with its +-k standard error band: filled (alpha 0.25) with its edges drawn.

    Parameters
    ----------
    ax : Axes
    x, m, se : array_like
        Abscissae, means and their standard errors.
    color : color
    k : float
        Half-width of the band in standard errors.
    ls : str
        Line style of the mean and the edges.
    label : str, optional
        Legend label of the mean.
    """
    x, m, se = (np.asarray(v, dtype=float) for v in (x, m, se))
    lo, hi = m - k * se, m + k * se
    ax.fill_between(x, lo, hi, color=color, alpha=0.25, lw=0)
    ax.plot(x, lo, color=color, lw=0.6, ls=ls, alpha=0.9)
    ax.plot(x, hi, color=color, lw=0.6, ls=ls, alpha=0.9)
    ax.plot(x, m, color=color, lw=1.4, ls=ls, label=label)


def zscore(ax, x, m, se, ref, color, ls: str = "-") -> None:
    """The standardized residual (m - ref)/se of a Monte Carlo estimate, one marker per point, joined.

    Points whose standard error is zero or at the round-off level of the estimate (every path at its start,
    where the difference is round-off too) are left out.

    Parameters
    ----------
    ax : Axes
    x, m, se, ref : array_like
        Abscissae, estimates, their standard errors and the exact values.
    color : color
    ls : str
    """
    x, m, se, ref = (np.asarray(v, dtype=float) for v in (x, m, se, ref))
    ok = np.isfinite(x) & np.isfinite(m) & np.isfinite(se) & np.isfinite(ref)
    ok &= se > 64 * EPS * np.maximum(np.abs(m), np.abs(ref))
    if ok.any():
        ax.plot(x[ok], (m[ok] - ref[ok]) / se[ok], color=color, ls=ls, lw=1.2, marker="o", ms=2.8)


def zscore_axis(ax, ylabel: str, k: float = 3.0) -> None:
    """An axis of standardized residuals: the band |z| <= k shaded with its edges, 0 marked, symmetric limits of at
    least +-(k+1). Call after plotting.

    Parameters
    ----------
    ax : Axes
    ylabel : str
    k : float
        Half-width of the shaded band.
    """
    lo, hi = ax.get_ylim()
    lim = max(k + 1.0, abs(lo), abs(hi))
    ax.axhspan(-k, k, color="0.86", lw=0, zorder=0)
    for y in (-k, k):
        ax.axhline(y, color="0.45", lw=0.8, ls="-", zorder=1)
    ax.axhline(0.0, color="k", ls=":", lw=1.0, zorder=1)
    ax.set_ylim(-lim, lim)
    ax.set_ylabel(ylabel)


# ------------------------------------------------------------------------------------------------ flows


def config_styles(ds, keys: Iterable[str] = ("N", "d")) -> list[tuple[dict, Any]]:
    """(configuration, colour) for every combination of the coordinates of ``keys`` (:func:`cases`)."""
    configs = cases(ds, keys) or [{}]
    return list(zip(configs, colors(len(configs)), strict=True))


def flow_handles(ds, styles: Sequence[tuple[dict, Any]]) -> list[Line2D]:
    """Legend entries of flows drawn by :func:`config_styles` colour and :data:`FIELD_LS` line style."""
    handles = [line(case_label(c) or "runs", color=col, lw=1.2) for c, col in styles]
    handles += [
        line(str(f), color="k", ls=FIELD_LS.get(str(f), "-"), lw=1.2) for f in coords(ds, "field") if f is not None
    ]
    return handles


def log_runs(ax, t, da, color, ls: str, **kw: Any) -> None:
    """Every run of ``da`` (:func:`runs`) against ``t`` on a logarithmic y axis (thin lines; ``kw`` overrides)."""
    ax.semilogy(t, pos(runs(da)), color=color, ls=ls, **{"lw": 0.9, "alpha": 0.85, **kw})
