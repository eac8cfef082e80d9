"""Figures of the dln book, drawn from the workflow's datasets (Matplotlib, no pyplot state).

Every function takes the dataset(s) it plots (``xarray.Dataset`` as written by the experiment
families, read with :func:`dln.experiments._conventions.read_netcdf`, or built in memory with
:func:`dln.experiments.run_sweep`) and returns a :class:`matplotlib.figure.Figure`; nothing here runs a
simulation. The book's Snakemake rule ``book_assets`` calls them and saves PNGs at 120 dpi; in a session::

    fig = dln.plotting.fig_1_2(read_netcdf("results/lm_figures.nc"))
    fig.savefig("fig_1_2.png", dpi=120)

The figures are sized for the book's text column, about 850 CSS px wide: 6.5 in (780 px at 120 dpi) with
fonts of at least 8.5 pt, 14 px on screen. Legends sit below or beside the axes, never over data; a value
that colour encodes has a legend entry per value or a labelled colour bar. Every
function accepts the full sweep of its family and a dataset of a single job; dimensions a dataset lacks
are ignored. Values a dataset marks as undefined (an ``<name>_available`` mask, NaN from combining jobs
of different shapes) are never drawn, and exact zeros are left out of logarithmic axes.
"""

from __future__ import annotations

import functools
import itertools

import matplotlib as mpl
import matplotlib.font_manager
import matplotlib.textpath
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

__all__ = [
    "fig_schatten",
    "fig_schatten_hessian",
    "fig_1_1",
    "fig_1_2",
    "fig_1_3",
    "fig_noise_mean_G",
    "fig_noise_stationary",
    "fig_posterior",
    "fig_fast_slow_scales",
    "fig_fast_slow_shadowing",
    "fig_entropy",
    "fig_ckm_1",
    "fig_free_energy_panels",
    "fig_regularizing_flow",
    "fig_kirwan_ness",
    "fig_learning_flow",
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
EPS = float(np.finfo(float).eps)

_RC = {
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


def _styled(fn):
    """Draw the figure with the book's font sizes (and fix the tick label size of every axes)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(_RC):
            fig = fn(*args, **kwargs)
            for ax in fig.axes:
                ax.tick_params(labelsize=SMALL)
                _fix_log_axes(ax)
        return fig

    return wrapper


# ------------------------------------------------------------------------------------------------ helpers


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


def _figure(ncols: int = 1, nrows: int = 1, width: float = WIDTH, height: float = 2.8, **kw) -> tuple[Figure, list]:
    """A constrained-layout figure of total size (width, height) inches and its axes, flattened."""
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, list(axes.ravel())


def _message(text: str, width: float = 4.0, height: float = 1.6) -> Figure:
    """A figure that only says why there is nothing to draw."""
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    return fig


def _coords(ds, dim: str) -> list:
    """The coordinate values of ``dim`` (``[None]`` when ``ds`` has no such dimension)."""
    return list(ds[dim].values) if dim in ds.dims else [None]


def _sel(obj, sel: dict):
    """``obj.sel`` restricted to the dimensions ``obj`` has (None values ignored)."""
    return obj.sel({k: v for k, v in sel.items() if k in obj.dims and v is not None})


def _one(obj, sel: dict | None = None, keep=()):
    """``obj`` at ``sel`` with every other dimension except ``keep`` at its first index."""
    obj = _sel(obj, sel or {})
    return obj.isel({d: 0 for d in obj.dims if d not in keep})


def _cases(ds, dims) -> list[dict]:
    """Every combination of the coordinates of ``dims`` present in ``ds`` (as .sel dicts)."""
    dims = [d for d in dims if d in ds.dims]
    return [dict(zip(dims, vals, strict=True)) for vals in itertools.product(*[ds[d].values for d in dims])]


def _scalar(da) -> float:
    return float(np.asarray(da, dtype=float).ravel()[0])


def _num(v) -> str:
    if isinstance(v, str | np.str_):
        return str(v)
    v = float(v)
    return f"{int(v)}" if v == int(v) and abs(v) < 1e6 else f"{v:g}"


_NAMES = {"kappa": r"\kappa", "beta": r"\beta"}


def _label(case: dict) -> str:
    """``{"N": 3, "kappa": 0.3, "field": "real"}`` -> ``$N=3$, $\\kappa=0.3$, real``."""
    parts = []
    for k, v in case.items():
        if v is None:
            continue
        if isinstance(v, str | np.str_):
            parts.append(str(v).replace("_", "-"))
        else:
            parts.append(f"${_NAMES.get(k, k)}={_num(v)}$")
    return ", ".join(parts)


def _colors(n: int) -> list:
    """``n`` distinct colours: tab10 up to 10, tab20 up to 20, viridis beyond."""
    if n <= 10:
        return [f"C{i}" for i in range(n)]
    cmap = mpl.colormaps["tab20" if n <= 20 else "viridis"]
    return [cmap(i / max(n - 1, 1)) if n > 20 else cmap(i) for i in range(n)]


def _seq_colors(n: int, cmap: str = "viridis") -> list:
    """``n`` colours of a sequential map (for an ordered key such as N or kappa), avoiding its pale end."""
    cm = mpl.colormaps[cmap]
    return [cm(0.85 * i / max(n - 1, 1)) for i in range(n)]


def _pos(a) -> np.ndarray:
    """``a`` as floats with non-positive and non-finite entries masked (NaN): for logarithmic axes."""
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def _available(ds, name: str, like=None):
    """The ``<name>_available`` mask as booleans (all True where the dataset has none), broadcast to ``like``."""
    da = ds[name] if like is None else like
    mask = ds.get(f"{name}_available")
    ok = np.isfinite(np.asarray(da, dtype=float))
    if mask is None:
        return ok
    m = mask.broadcast_like(da).transpose(*da.dims) if hasattr(da, "dims") else mask
    return ok & np.asarray(m).astype(bool)


def _runs(da, keep: str = "t") -> np.ndarray:
    """``da`` as a 2-D float array (keep, every other combination)."""
    other = [d for d in da.dims if d != keep]
    return np.asarray(da.transpose(keep, *other).values, dtype=float).reshape(da.sizes[keep], -1)


def _text_width(text: str, size: float = SMALL) -> float:
    """Width of ``text`` in points at font size ``size`` (mathtext where it has a ``$``)."""
    prop = mpl.font_manager.FontProperties(size=size)
    w, _, _ = _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath="$" in text)
    return float(w)


_TEXT_TO_PATH = mpl.textpath.TextToPath()


#: Height of one legend row (inches).
_LEGEND_ROW = 1.45 * SMALL / 72


def _legend_shape(handles, width: float, ncols: int | None = None) -> tuple[int, int]:
    """(columns, rows) of a legend of ``handles`` in ``width`` inches: as many columns as fit, at most ``ncols``."""
    widest = max(_text_width(h.get_label()) for h in handles)
    column = widest + (2.4 + 0.8 + 1.4) * SMALL  # handle, its padding and the column spacing
    fit = max(1, int((width * 72 - 20) // column))
    n = max(1, min(ncols or 4, fit, len(handles)))
    return n, -(-len(handles) // n)


def _legend_below(
    fig,
    handles,
    ncols: int | None = None,
    *,
    where: str = "center",
    width: float | None = None,
    title: str | None = None,
    grow: bool = True,
    parent=None,
) -> int:
    """One legend below the axes (never over data), with as many columns as fit; returns its number of rows.

    Parameters
    ----------
    fig : Figure
        The figure (its width sets the room for the columns).
    handles : list
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
    """
    handles = [h for h in handles if h is not None]
    if not handles:
        return 0
    parent = fig if parent is None else parent
    if width is None:
        width = fig.get_figwidth() * (parent.bbox_relative.width if parent is not fig else 1.0)
    n, rows = _legend_shape(handles, width, ncols)
    if grow and rows > 3:
        fig.set_figheight(fig.get_figheight() + (rows - 3) * _LEGEND_ROW)
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


#: Up to this many values of a parameter that colour encodes get a legend entry each; beyond, a colour bar.
_MAX_COLOR_ENTRIES = 7


def _key_colorbar(parent, axes, values: list, colors: list, label: str, **kw):
    """A colour bar with one colour per value of an ordered parameter (for sweeps too long for a legend)."""
    n = len(values)
    cmap = mpl.colors.ListedColormap(colors)
    norm = mpl.colors.BoundaryNorm(np.arange(n + 1) - 0.5, n)
    cb = parent.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, ticks=np.arange(n), **kw)
    cb.ax.set_yticklabels([_num(v) for v in values])
    cb.ax.tick_params(labelsize=SMALL)
    cb.set_label(label)
    return cb


def _line(label: str, **kw) -> Line2D:
    kw.setdefault("color", "k")
    return Line2D([], [], label=label, **kw)


def _grid(ax) -> None:
    ax.grid(alpha=0.3, lw=0.6)


def _eps_axis(ax, label: str, signed: bool = True) -> None:
    """Symmetric-log y axis (linear within +-1) for a round-off quantity in units of machine epsilon.

    Call after plotting: the axis spans at least [-10, 10] (signed) or [0, 10] so that exact zeros and the
    decades around them are labelled.
    """
    ax.set_yscale("symlog", linthresh=1.0, linscale=0.6)
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, -10.0) if signed else -0.3, max(hi, 10.0))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel(label)
    ax.axhline(0.0, color="0.5", lw=0.6, zorder=0)


def _band(ax, x, m, se, color, k: float = 3.0, ls="-", label=None) -> None:
    """Mean ``m`` with a +-k SE band: filled (alpha 0.25) with its edges drawn."""
    x, m, se = (np.asarray(v, dtype=float) for v in (x, m, se))
    lo, hi = m - k * se, m + k * se
    ax.fill_between(x, lo, hi, color=color, alpha=0.25, lw=0)
    ax.plot(x, lo, color=color, lw=0.6, ls=ls, alpha=0.9)
    ax.plot(x, hi, color=color, lw=0.6, ls=ls, alpha=0.9)
    ax.plot(x, m, color=color, lw=1.4, ls=ls, label=label)


def _zscore(ax, x, m, se, ref, color, ls="-") -> None:
    """The standardized residual (m - ref)/se (one marker per point, joined).

    Points whose standard error is zero or at the round-off level of the estimate (every path at its start,
    where the difference is round-off too) are left out.
    """
    x, m, se, ref = (np.asarray(v, dtype=float) for v in (x, m, se, ref))
    ok = np.isfinite(x) & np.isfinite(m) & np.isfinite(se) & np.isfinite(ref)
    ok &= se > 64 * EPS * np.maximum(np.abs(m), np.abs(ref))
    if ok.any():
        ax.plot(x[ok], (m[ok] - ref[ok]) / se[ok], color=color, ls=ls, lw=1.2, marker="o", ms=2.8)


def _zscore_axis(ax, ylabel: str, k: float = 3.0) -> None:
    """Axis of standardized residuals: the band |z| <= k shaded with its edges, 0 marked; symmetric, at least +-(k+1).

    Call after plotting.
    """
    lo, hi = ax.get_ylim()
    lim = max(k + 1.0, abs(lo), abs(hi))
    ax.axhspan(-k, k, color="0.86", lw=0, zorder=0)
    for y in (-k, k):
        ax.axhline(y, color="0.45", lw=0.8, ls="-", zorder=1)
    ax.axhline(0.0, color="k", ls=":", lw=1.0, zorder=1)
    ax.set_ylim(-lim, lim)
    ax.set_ylabel(ylabel)


def _jitter(values: list, width: float) -> dict:
    """Symmetric offsets in [-width, width] for each of ``values``."""
    n = len(values)
    if n == 1:
        return {values[0]: 0.0}
    return {v: width * (2 * i / (n - 1) - 1) for i, v in enumerate(values)}


# ------------------------------------------------------------------------------------------------ schatten


_OBJ_MARKER = {"norms": "o", "powers": "^"}


def _schatten_groups(ds) -> list[tuple]:
    """(objective, field) pairs of the dataset with their style: colour by field, marker by objective."""
    out = []
    for obj in _coords(ds, "objective"):
        for field in _coords(ds, "field"):
            f = str(field) if field is not None else "real"
            o = str(obj) if obj is not None else "norms"
            st = {
                "color": FIELD_STYLE.get(f, {}).get("color", "k"),
                "marker": _OBJ_MARKER.get(o, "D"),
                "mfc": FIELD_STYLE.get(f, {}).get("color", "k") if o == "norms" else "none",
            }
            out.append((obj, field, f"{o}, {f}", st))
    return out


def _p_axis(ax, ps) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sorted({float(p) for p in ps})))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("Schatten exponent $p$")


@_styled
def fig_schatten(ds) -> Figure:
    """LM Thm 1, Thm 20 and the open case p = 1: Schatten-p minima on fibers, for both objectives.

    ``ds`` is ``results/schatten.nc`` (dims p, objective, N, d, field, seed, restart). Left: the signed gap
    ``rel_gap`` = (minimum found - closed form) / closed form of every restart, in units of machine epsilon on a
    symmetric-log axis (exact zeros are shown at 0), against p; the closed form is N (sum_i sigma_i^{p/N})^{1/p}
    for the objective ``norms`` (sum_k |W_k|_{S_p}) and N sum_i sigma_i^{p/N} for ``powers`` (sum_k |W_k|_{S_p}^p).
    Right: balancedness ``G_rel`` = |G|/|W|^2 at those minimizers. Colour: field; marker: objective (filled:
    norms, open: powers); the groups are offset along p.
    """
    fig, (ax1, ax2) = _figure(2, height=2.9)
    groups = _schatten_groups(ds)
    offsets = _jitter(list(range(len(groups))), 0.06)
    ps = _coords(ds, "p")
    for j, (obj, field, _, st) in enumerate(groups):
        sub = _sel(ds, {"objective": obj, "field": field})
        for p in ps:
            one = _sel(sub, {"p": p})
            x = (float(p) if p is not None else 2.0) * np.exp(offsets[j])
            gap = np.asarray(one["rel_gap"].values, dtype=float).ravel() / EPS
            g = _pos(one["G_rel"].values).ravel()
            gap, g = gap[np.isfinite(gap)], g[np.isfinite(g)]
            kw = {"ls": "none", "ms": 4.5, "alpha": 0.75, "mew": 1.0, **st}
            ax1.plot(np.full(gap.size, x), gap, **kw)
            ax2.plot(np.full(g.size, x), g, **kw)
    p_vals = [p for p in ps if p is not None] or [2.0]
    _p_axis(ax1, p_vals)
    _p_axis(ax2, p_vals)
    _eps_axis(ax1, r"relative gap  [units of $\varepsilon$]")
    ax1.set_title("(a) (minimum $-$ closed form) / closed form")
    ax2.set(yscale="log", ylabel=r"$\Vert\mathbf{G}\Vert / \Vert\mathbf{W}\Vert^2$ at the minimizer")
    ax2.set_title("(b) balancedness of the minimizers")
    for ax in (ax1, ax2):
        if any(abs(float(p) - 1.0) < 1e-12 for p in p_vals):
            ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
        _grid(ax)
    handles = [_line(lab, ls="none", ms=5, **st) for *_, lab, st in groups]
    if any(abs(float(p) - 1.0) < 1e-12 for p in p_vals):
        handles.append(_line("$p = 1$ (open in LM)", color="0.6", lw=0.8, ls=":"))
    handles.append(_line(r"$\varepsilon = 2.2\times10^{-16}$ (machine epsilon)", ls="none"))
    _legend_below(fig, handles, ncols=3)
    return fig


@_styled
def fig_schatten_hessian(ds) -> Figure:
    """LM Thm 14(2): Hessian nullity against the dimension of the unitary orbit O_X, for both objectives.

    ``ds`` is ``results/schatten.nc``: ``orbit_dimension`` (one per job: (N-1)d(d-1)/2 real, (N-1)d^2 complex),
    ``hessian_nullity_best`` (per seed, at the best minimizer found) and ``hessian_nullity_rep`` (per seed, at
    a balanced point of a matrix with a repeated singular value). One point per seed and (p, N, d); colour:
    field, marker: objective (filled: norms, open: powers), groups offset horizontally; dashed: nullity = dim O_X.
    """
    panels = [
        (name, title)
        for name, title in (
            ("hessian_nullity_best", "(a) at the best minimizer"),
            ("hessian_nullity_rep", r"(b) at a balanced point, repeated $\sigma_i$"),
        )
        if name in ds
    ]
    if not panels or "orbit_dimension" not in ds:
        return _message("no Hessian nullity in this dataset")
    fig, axes = _figure(len(panels), width=WIDTH if len(panels) == 2 else 3.6, height=3.0)
    groups = _schatten_groups(ds)
    top = float(
        np.nanmax([np.nanmax(np.asarray(ds[v], dtype=float)) for v in ["orbit_dimension"] + [n for n, _ in panels]])
    )
    top = top if np.isfinite(top) else 1.0
    offsets = _jitter(list(range(len(groups))), max(0.2, 0.025 * top))
    for ax, (name, title) in zip(axes, panels, strict=True):
        for j, (obj, field, _, st) in enumerate(groups):
            sub = _sel(ds, {"objective": obj, "field": field})
            null = sub[name]
            dim = sub["orbit_dimension"].broadcast_like(null)
            x, y = np.asarray(dim, dtype=float).ravel(), np.asarray(null, dtype=float).ravel()
            ok = np.isfinite(x) & np.isfinite(y)
            ax.plot(x[ok] + offsets[j], y[ok], ls="none", ms=5, alpha=0.6, mew=1.0, **st)
        ax.set_title(title)
        ax.set(xlabel=r"real dimension of the orbit $\mathcal{O}_X$", ylabel="zero eigenvalues of the Hessian")
        _grid(ax)
    lim = [-0.5, top + max(1.0, 0.05 * top)]
    for ax in axes:
        ax.plot(lim, lim, color="0.4", lw=0.9, ls="--", zorder=0)
        ax.set(xlim=lim, ylim=lim)
    handles = [_line(lab, ls="none", ms=5, **st) for *_, lab, st in groups]
    handles.append(_line(r"nullity $=\dim\mathcal{O}_X$", color="0.4", lw=0.9, ls="--"))
    _legend_below(fig, handles, ncols=3)
    return fig


# ------------------------------------------------------------------------------------------------ LM figures


def _foliation(ax, lim: float = 2.6, fibers=(0.25, 0.5, 1.0, 2.0, 3.0), moments=(0.5, 1.0, 2.0, 3.5), fiber_kw=None):
    """Level sets of w2 w1 (fibers) and w1^2 - w2^2 (moments), the balanced variety and the minimizers."""
    w = np.linspace(-lim, lim, 401)
    W1, W2 = np.meshgrid(w, w)
    x_levels = sorted({-x for x in fibers} | set(fibers))
    g_levels = sorted({-g for g in moments} | set(moments))
    ax.contour(
        W1, W2, W1 * W2, levels=x_levels, colors="0.55", linewidths=0.9, negative_linestyles="solid", **(fiber_kw or {})
    )
    if g_levels:
        ax.contour(
            W1, W2, W1**2 - W2**2, levels=g_levels, colors="#9ecae1", linewidths=0.9, negative_linestyles="solid"
        )
    ax.plot([-lim, lim], [-lim, lim], color="k", ls="--", lw=1.0)
    ax.plot([-lim, lim], [lim, -lim], color="k", ls="--", lw=1.0)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="$w_1$", ylabel="$w_2$", aspect="equal")


def _minimizers(ax, xs) -> None:
    """The minimizers (+-sqrt|x|, +-sign(x) sqrt|x|) of |w|^2 on the fibers w2 w1 = x."""
    for x in xs:
        r, sg = np.sqrt(abs(x)), np.sign(x)
        ax.plot([r, -r], [sg * r, -sg * r], "o", color="k", ms=4, zorder=5)


def _trajectories(ax, w1, w2, color, label) -> None:
    """Plot trajectories given as (t, traj) arrays, with an arrow head at the end."""
    w1, w2 = np.asarray(w1, dtype=float), np.asarray(w2, dtype=float)
    back = min(3, w1.shape[0] - 1)
    for j in range(w1.shape[1]):
        ax.plot(w1[:, j], w2[:, j], color=color, lw=1.6, label=label if j == 0 else None)
        ax.plot(w1[0, j], w2[0, j], "o", color=color, ms=3.5, mfc="white")
        if back > 0:
            ax.annotate(
                "",
                xy=(w1[-1, j], w2[-1, j]),
                xytext=(w1[-1 - back, j], w2[-1 - back, j]),
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2},
            )


_FOLIATION_HANDLES = (
    ("fibers $w_2w_1 = x$", {"color": "0.55", "lw": 0.9}),
    ("level sets $w_1^2 - w_2^2 = G$", {"color": "#9ecae1", "lw": 0.9}),
    (r"$\mathcal{M}_0$: $w_2 = \pm w_1$", {"color": "k", "ls": "--", "lw": 1.0}),
    ("minimizers of $|w|^2$ on the fibers", {"color": "k", "ls": "none", "marker": "o", "ms": 4}),
)


@_styled
def fig_1_1(lm) -> Figure:
    """LM Figure 1.1 (d = 1, N = 2, real): fibers, moment level sets, M_0, minimizers and computed flows.

    ``lm`` is ``results/lm_figures.nc`` (variables ``reg_w1, reg_w2`` on ``(t_reg, reg_traj)`` with the fiber
    ``reg_x`` of each trajectory, ``learn_w1, learn_w2`` on ``(t_learn, learn_traj)``); the regularizing
    trajectories on fibers x > 0 are drawn.
    """
    fig, (ax,) = _figure(1, width=4.8, height=5.6)
    _foliation(ax)
    sel = np.asarray(lm["reg_x"].values) > 0
    _trajectories(ax, lm["reg_w1"].values[:, sel], lm["reg_w2"].values[:, sel], "C1", "regularizing flow")
    _trajectories(ax, lm["learn_w1"].values, lm["learn_w2"].values, "C2", "learning flow")
    _minimizers(ax, (0.25, 0.5, 1.0, 2.0, 3.0))
    handles = [_line("regularizing flow", color="C1", lw=1.6), _line("learning flow", color="C2", lw=1.6)]
    handles += [_line(lab, **kw) for lab, kw in _FOLIATION_HANDLES]
    _legend_below(fig, handles, ncols=2)
    return fig


@_styled
def fig_1_2(lm) -> Figure:
    """LM Figure 1.2: the regularizing flow on fibers.

    Left: d = 1, N = 2 trajectories in the (w1, w2) plane, on their fibers, into the balanced variety.
    Right: |G(t)|/|G_0| for d = 3, N = 4 (``G_norm`` on ``(t_reg, field, run)``: real and complex Gaussian
    starts) against e^{-2t} (LM Thm 2); the curves coincide.
    ``lm`` is ``results/lm_figures.nc``.
    """
    fig, (ax1, ax2) = _figure(2, height=3.6)
    _foliation(ax1, moments=())
    _trajectories(ax1, lm["reg_w1"].values, lm["reg_w2"].values, "C1", "regularizing flow")
    _minimizers(ax1, sorted({float(x) for x in lm["reg_x"].values}))
    t = np.asarray(lm["t_reg"].values, dtype=float)
    Gn = lm["G_norm"]
    style = {"real": {"lw": 3.0, "alpha": 0.45}, "complex": {"lw": 1.3, "ls": "--"}}
    handles = [_line("regularizing flow", color="C1", lw=1.6)]
    handles += [_line(lab, **kw) for lab, kw in _FOLIATION_HANDLES if "level sets" not in lab]
    for field in _coords(Gn, "field"):
        g = _runs(_sel(Gn, {"field": field}), "t_reg")
        st = {"color": FIELD_STYLE.get(str(field), {}).get("color", "C0"), **style.get(str(field), {})}
        ax2.semilogy(t, _pos(g / g[:1]), **st)
        handles.append(_line(f"{field} Gaussian starts ($d=3$, $N=4$)", **st))
    ax2.semilogy(t, np.exp(-2 * t), color="k", ls=":", lw=1.2)
    handles.append(_line("$e^{-2t}$ (LM Thm 2)", ls=":", lw=1.2))
    ax2.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert / \Vert\mathbf{G}_0\Vert$")
    ax1.set_title("(a) $d = 1$, $N = 2$: trajectories on fibers")
    ax2.set_title(r"(b) $d = 3$, $N = 4$: $\Vert\mathbf{G}(t)\Vert$")
    _grid(ax2)
    _legend_below(fig, handles, ncols=3)
    return fig


@_styled
def fig_1_3(lm) -> Figure:
    """LM Figure 1.3: learning flows for d = 1, N = 2 and the reduced end-to-end flow.

    ``lm`` is ``results/lm_figures.nc``; learning trajectory 0 starts balanced. Left: the learning flows for
    E = (x - x_target)^2/2 on the level sets of G and the minimizers w2 w1 = x_target (both branches). Right:
    x = w2 w1 along the balanced trajectory against the reduced flow ``x_reduced``.
    """
    fig, (ax1, ax2) = _figure(2, height=3.6)
    _foliation(ax1)
    _trajectories(ax1, lm["learn_w1"].values, lm["learn_w2"].values, "C2", "learning flow")
    xt = float(lm["x_target"])
    for sign in (1.0, -1.0):
        w = sign * np.linspace(abs(xt) / 2.6, 2.6, 200)
        ax1.plot(w, xt / w, color="C3", lw=1.3, ls=":")
    t = np.asarray(lm["t_learn"].values, dtype=float)
    x_full = lm["learn_w1"].values[:, 0] * lm["learn_w2"].values[:, 0]
    every = max(1, t.size // 20)
    ax2.plot(t, lm["x_reduced"].values, color="k", lw=1.4)
    ax2.plot(t[::every], x_full[::every], "o", color="C2", ms=4)
    ax2.axhline(xt, color="C3", ls=":", lw=1.3)
    ax2.set(xlabel="$t$", ylabel="$x(t)$")
    ax1.set_title("(a) learning flows, $d = 1$, $N = 2$")
    ax2.set_title(r"(b) $x = w_2w_1$ vs the reduced flow")
    _grid(ax2)
    handles = [
        _line("learning flow", color="C2", lw=1.6),
        _line(f"minimizers $w_2w_1 = {xt:g}$", color="C3", ls=":", lw=1.3),
        _line(r"reduced flow $\dot x = -N|x|^{2-2/N}E'(x)$", lw=1.4),
        _line("$x = w_2w_1$ along the balanced learning flow", color="C2", ls="none", marker="o", ms=4),
    ]
    handles += [_line(lab, **kw) for lab, kw in _FOLIATION_HANDLES[:3]]
    _legend_below(fig, handles, ncols=2)
    return fig


# ------------------------------------------------------------------------------------------------ Langevin


def _noise_cases(ds) -> list[dict]:
    """(kappa, beta) cases: the key of the colours of the Langevin figures."""
    return _cases(ds, ["kappa", "beta"]) or [{}]


@_styled
def fig_noise_mean_G(ds) -> Figure:
    """LM §4.2: the projection <E[G(t)], G_0>/|G_0|^2 with +-3 standard errors against exp(-2 kappa t).

    ``ds`` is ``results/langevin.nc`` (dims kappa, beta, loss, field, N, d, seed, dt, t; variables ``G_proj``,
    ``G_proj_se``, ``G_proj_predicted``). One column per loss; top: the ensemble mean with its +-3 SE band
    (filled, edges drawn) and exp(-2 kappa t) (dotted); bottom: the standardized residual (mean -
    exp(-2 kappa t)) / SE, with the band |residual| <= 3 shaded, which shows the uncertainty at any ensemble
    size (t = 0, where every path starts at G_0 and SE = 0, is left out). Colour: (kappa, beta); line style:
    field. The first value of N, d, seed and dt is used.
    """
    losses = _coords(ds, "loss")
    fig, axes = _figure(len(losses), nrows=2, width=WIDTH if len(losses) > 1 else 3.8, height=4.9, sharex="col")
    cases = _noise_cases(ds)
    colors = _colors(len(cases))
    fields = _coords(ds, "field")
    for col, loss in enumerate(losses):
        top, bot = axes[col], axes[len(losses) + col]
        for case, color in zip(cases, colors, strict=True):
            for field in fields:
                one = _one(ds, {**case, "loss": loss, "field": field}, keep=("t",))
                ok = _available(one, "G_proj")
                if not ok.any():
                    continue
                t = np.asarray(one["t"].values, dtype=float)[ok]
                m = np.asarray(one["G_proj"].values, dtype=float)[ok]
                se = np.asarray(one["G_proj_se"].values, dtype=float)[ok]
                pred = np.asarray(one["G_proj_predicted"].values, dtype=float)[ok]
                ls = FIELD_LS.get(str(field), "-")
                _band(top, t, m, se, color, ls=ls)
                top.plot(t, pred, color="k", ls=":", lw=1.0)
                _zscore(bot, t, m, se, pred, color, ls=ls)
        title = f"loss = {loss}" if loss is not None else ""
        top.set_title(f"({chr(97 + col)}) {title}")
        bot.set_title(f"({chr(97 + len(losses) + col)}) residual, {title}" if title else "residual")
        top.set(ylabel=r"$\langle \mathbb{E}[\mathbf{G}(t)], \mathbf{G}_0\rangle / \Vert\mathbf{G}_0\Vert^2$")
        bot.set(xlabel="$t$")
        _zscore_axis(bot, r"(mean $-\ e^{-2\kappa t}$) / SE")
        for ax in (top, bot):
            _grid(ax)
    handles = [_line(_label(c) or "ensemble", color=col, lw=1.4) for c, col in zip(cases, colors, strict=True)]
    if len(fields) > 1 or fields[0] is not None:
        handles += [_line(str(f), color="k", ls=FIELD_LS.get(str(f), "-"), lw=1.4) for f in fields if f is not None]
    handles += _se_handles()
    handles.append(_line(r"$e^{-2\kappa t}$ (top), 0 (bottom)", ls=":", lw=1.0))
    _legend_below(fig, handles, ncols=3)
    return fig


def _se_handles() -> list:
    """Legend entries of the +-3 SE band (top panels) and of the band of the standardized residuals (bottom)."""
    return [
        Patch(facecolor="0.5", alpha=0.35, edgecolor="k", lw=0.6, label=r"top: mean $\pm 3$ standard errors (SE)"),
        Patch(facecolor="0.86", edgecolor="0.45", lw=0.8, label=r"bottom: $|$residual$|/$SE $\leq 3$"),
    ]


@_styled
def fig_noise_stationary(ds) -> Figure:
    """LM §4.2: variance per coordinate and E|G(t)|^2 of the OU ensembles (loss = none) against the exact values.

    ``ds`` is ``results/langevin.nc``; ``coord_var_exact``, ``coord_var_em`` and ``G2_exact`` are defined for
    loss = none only (``<name>_available`` masks in a sweep with both losses). Top left: the variance per real
    coordinate (``coord_var``, log scale; 0 at t = 0, left out) with its +-3 SE band against the exact OU variance
    (dashed); for kappa > 0 the corrected stationary value 1/(beta kappa) (thin solid) and the printed (4.3)
    value 1/(2 beta kappa) (dotted); no stationary line for kappa = 0. Top right: ``G2_mean`` = E|G(t)|^2 with
    its band against ``G2_exact``, the exact value for the Euler-Maruyama chain. Bottom: the standardized
    residuals from the exact values of the Euler-Maruyama chain, (estimate - ``coord_var_em``) /
    ``coord_var_se`` and (estimate - ``G2_exact``) / ``G2_se``, with the band |residual| <= 3 shaded (t = 0,
    where the SE is zero or round-off, left out). Colour: (kappa, beta); line style: field; first N, d, seed
    and dt.
    """
    if "loss" in ds.dims:
        if "none" not in [str(v) for v in ds["loss"].values]:
            return _message("no OU ensembles (loss = none) in this dataset")
        ou = ds.sel(loss="none")
    else:
        ou = ds
    cases = _noise_cases(ou)
    colors = _colors(len(cases))
    fields = _coords(ou, "field")
    fig, axes = _figure(2, nrows=2, height=4.9, sharex="col")
    (a_var, a_g2, d_var, d_g2) = axes
    for case, color in zip(cases, colors, strict=True):
        for field in fields:
            one = _one(ou, {**case, "field": field}, keep=("t",))
            ls = FIELD_LS.get(str(field), "-")
            t_all = np.asarray(one["t"].values, dtype=float)
            kappa = _scalar(one["kappa"]) if "kappa" in one.coords else 0.0
            beta = _scalar(one["beta"]) if "beta" in one.coords else np.nan
            ok = _available(one, "coord_var") & (np.asarray(one["coord_var"].values, dtype=float) > 0)
            ok &= t_all > t_all[0]  # every path starts at W_0: no variance at t = 0
            if ok.any():
                t, v, vse = t_all[ok], one["coord_var"].values[ok], one["coord_var_se"].values[ok]
                _band(a_var, t, v, vse, color, ls=ls)
                if "coord_var_exact" in one:
                    okx = ok & _available(one, "coord_var_exact")
                    a_var.plot(t_all[okx], one["coord_var_exact"].values[okx], color="k", ls="--", lw=0.9)
                if "coord_var_em" in one:
                    oke = ok & _available(one, "coord_var_em")
                    _zscore(
                        d_var,
                        t_all[oke],
                        one["coord_var"].values[oke],
                        one["coord_var_se"].values[oke],
                        one["coord_var_em"].values[oke],
                        color,
                        ls,
                    )
                if kappa > 0 and np.isfinite(beta):
                    a_var.axhline(1 / (beta * kappa), color=color, ls="-", lw=0.7, alpha=0.8)
                    a_var.axhline(1 / (2 * beta * kappa), color=color, ls=":", lw=1.2)
            if "G2_exact" in one:
                ok = _available(one, "G2_mean") & _available(one, "G2_exact")
                if ok.any():
                    t, g2, g2se = t_all[ok], one["G2_mean"].values[ok], one["G2_se"].values[ok]
                    _band(a_g2, t, g2, g2se, color, ls=ls)
                    a_g2.plot(t, one["G2_exact"].values[ok], color="k", ls="--", lw=0.9)
                    _zscore(d_g2, t, g2, g2se, one["G2_exact"].values[ok], color, ls)
    a_var.set(ylabel="variance per real coordinate", yscale="log")
    a_var.set_title(r"(a) coordinates of $\mathbf{W}(t)$")
    a_g2.set(ylabel=r"$\mathbb{E}\Vert\mathbf{G}(t)\Vert^2$", yscale="log")
    a_g2.set_title(r"(b) moments $\mathbf{G}(t)$")
    d_var.set(xlabel="$t$")
    d_g2.set(xlabel="$t$")
    _zscore_axis(d_var, "(variance $-$ exact EM) / SE")
    _zscore_axis(d_g2, r"($\mathbb{E}\Vert\mathbf{G}\Vert^2$ $-$ exact EM) / SE")
    d_var.set_title("(c) residual from the exact EM chain")
    d_g2.set_title("(d) residual from the exact EM chain")
    for ax in axes:
        _grid(ax)
    handles = [_line(_label(c) or "ensemble", color=col, lw=1.4) for c, col in zip(cases, colors, strict=True)]
    handles += [_line(str(f), color="k", ls=FIELD_LS.get(str(f), "-"), lw=1.4) for f in fields if f is not None]
    handles += _se_handles()
    handles.append(_line("exact OU / EM chain", ls="--", lw=0.9))
    handles.append(_line(r"stationary $1/(\beta\kappa)$", color="k", lw=0.7))
    handles.append(_line(r"printed (4.3): $1/(2\beta\kappa)$", color="k", ls=":", lw=1.2))
    _legend_below(fig, handles, ncols=4)
    return fig


# ------------------------------------------------------------------------------------------------ posterior


@_styled
def fig_posterior(ds) -> Figure:
    """LM §4.3: posterior mean E|G|^2 on the fiber against beta, with the Laplace prediction c/(beta kappa).

    ``ds`` is ``results/posterior.nc`` (dims beta, kappa, field, N, d, seed; ``quad_field``, ``beta_q`` for
    ``quadrature_ratio``). Left: ``EG2`` with +-2 standard errors (integrated autocorrelation time), the Laplace
    prediction ``EG2_laplace`` = c/(beta kappa) (dashed) and, where defined (d = 1, N = 2; mask
    ``EG2_quadrature_available``), the quadrature value (crosses). Middle: beta kappa E|G|^2 -> c (dashed
    ``laplace_c``). Right: the quadrature part, |beta kappa E[G^2]/|x| - 4| against beta (d = 1, N = 2) with a
    1/beta guide. Colour: (d, N); marker and line style: field.
    """
    has_q = "quadrature_ratio" in ds
    fig, axes = _figure(3 if has_q else 2, height=3.0)
    ax1, ax2 = axes[:2]
    configs = _cases(ds, ["d", "N"]) or [{}]
    colors = _colors(len(configs))
    fields = _coords(ds, "field")
    offsets = _jitter(fields, 0.03)
    quad_drawn = False
    for config, color in zip(configs, colors, strict=True):
        for field in fields:
            for case in _cases(ds, ["kappa", "seed"]) or [{}]:
                one = _one(ds, {**config, **case, "field": field}, keep=("beta",))
                beta = np.atleast_1d(np.asarray(one["beta"].values, dtype=float))
                kappa = _scalar(one["kappa"]) if "kappa" in one.coords else 1.0
                eg2 = np.atleast_1d(np.asarray(one["EG2"].values, dtype=float))
                se = np.atleast_1d(np.asarray(one["EG2_se"].values, dtype=float))
                ok = np.atleast_1d(_available(one, "EG2"))
                if not ok.any():
                    continue
                st = {"color": color, "marker": FIELD_MARKER.get(str(field), "o"), "ms": 4.5}
                if str(field) == "complex":
                    st["mfc"] = "none"
                xb = beta * np.exp(offsets[field])
                ax1.errorbar(xb[ok], eg2[ok], yerr=2 * se[ok], ls="none", capsize=2, elinewidth=1.0, **st)
                ls = FIELD_LS.get(str(field), "-")
                ax1.plot(
                    beta[ok],
                    np.atleast_1d(one["EG2_laplace"].values)[ok],
                    color=color,
                    ls=ls,
                    lw=0.9,
                    alpha=0.8,
                    marker="_",
                    ms=9,
                )
                if "EG2_quadrature" in one:
                    okq = ok & np.atleast_1d(_available(one, "EG2_quadrature"))
                    if okq.any():
                        ax1.plot(beta[okq], np.atleast_1d(one["EG2_quadrature"].values)[okq], "x", color="k", ms=6)
                        quad_drawn = True
                ax2.errorbar(
                    xb[ok],
                    beta[ok] * kappa * eg2[ok],
                    yerr=2 * beta[ok] * kappa * se[ok],
                    ls="none",
                    capsize=2,
                    elinewidth=1.0,
                    **st,
                )
                ax2.plot(beta[ok], beta[ok] * kappa * eg2[ok], color=color, lw=0.6, alpha=0.6, ls=ls)
                ax2.axhline(_scalar(one["laplace_c"]), color=color, ls=ls, lw=0.9, alpha=0.8)
    ax1.set(
        xscale="log",
        yscale="log",
        xlabel=r"inverse temperature $\beta$",
        ylabel=r"posterior $\mathbb{E}\Vert\mathbf{G}\Vert^2$",
    )
    ax1.set_title(r"(a) $\mathbb{E}\Vert\mathbf{G}\Vert^2 \to 0$ like $c/(\beta\kappa)$")
    ax2.set(
        xscale="log", xlabel=r"inverse temperature $\beta$", ylabel=r"$\beta\kappa\,\mathbb{E}\Vert\mathbf{G}\Vert^2$"
    )
    ax2.set_title(r"(b) limit $c$ (Laplace)")
    handles = [_line(_label(c) or "posterior", color=col, lw=1.2) for c, col in zip(configs, colors, strict=True)]
    handles += [
        _line(
            str(f),
            color="k",
            ls=FIELD_LS.get(str(f), "-"),
            lw=0.9,
            marker=FIELD_MARKER.get(str(f), "o"),
            mfc="none" if str(f) == "complex" else "k",
        )
        for f in fields
        if f is not None
    ]
    handles.append(_line(r"MCMC $\pm 2$ SE", ls="none", marker="|", ms=8))
    handles.append(_line(r"Laplace $c/(\beta\kappa)$, $c$", color="k", ls="--", lw=0.9, marker="_", ms=9))
    if quad_drawn:
        handles.append(_line("quadrature ($d = 1$, $N = 2$)", ls="none", marker="x", ms=6))
    if has_q:
        ax3 = axes[2]
        q = ds["quadrature_ratio"]
        keep = ("quad_field", "beta_q")
        kappas = _coords(ds, "kappa")
        for j, kappa in enumerate(kappas):
            one = _one(q, {"kappa": kappa}, keep=keep)
            bq = np.asarray(one["beta_q"].values, dtype=float)
            for qf in _coords(one, "quad_field"):
                r = np.asarray(_sel(one, {"quad_field": qf}).values, dtype=float)
                st = FIELD_STYLE.get(str(qf), {"color": f"C{j}", "marker": "o"})
                ax3.loglog(bq, _pos(np.abs(r - 4.0)), "-", lw=1.0, ms=5, **st)
        b = np.asarray(q["beta_q"].values, dtype=float)
        r_all = _pos(np.abs(np.asarray(_one(q, {}, keep=keep).values, dtype=float) - 4.0))
        if np.isfinite(r_all).any():
            a = np.nanmax(r_all * b[None, :] if r_all.ndim == 2 else r_all * b)
            ax3.loglog(b, 1.5 * a / b, color="k", ls=":", lw=1.0)
        ax3.set(xlabel=r"inverse temperature $\beta$", ylabel=r"$|\beta\kappa\,\mathbb{E}[G^2]/|x| - 4|$")
        ax3.set_title("(c) quadrature, $d = 1$, $N = 2$")
        ax3.xaxis.set_minor_formatter(NullFormatter())
        handles += [
            _line(f"quadrature, {f}", lw=1.0, **FIELD_STYLE.get(str(f), {}))
            for f in _coords(q, "quad_field")
            if f is not None
        ]
        handles.append(_line(r"$\propto 1/\beta$", ls=":", lw=1.0))
    for ax in axes:
        _grid(ax)
    ax1.xaxis.set_minor_formatter(NullFormatter())
    ax2.xaxis.set_minor_formatter(NullFormatter())
    _legend_below(fig, handles, ncols=4)
    return fig


# ------------------------------------------------------------------------------------------------ fast-slow


def _representative(ds, prefer: dict | None = None) -> dict:
    """One configuration of the fast-slow sweep: real field, largest N, quadratic loss where present."""
    sel = {}
    prefer = {"field": "real", "loss": "quadratic", **(prefer or {})}
    for dim, val in prefer.items():
        if dim in ds.dims:
            vals = [str(v) for v in ds[dim].values]
            sel[dim] = val if val in vals else ds[dim].values[0]
    if "N" in ds.dims:
        sel["N"] = ds["N"].values.max()
    return sel


def _rate_curve(phi: float, N: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Learning rate of the scalar reduced flow against kappa, parametrized by its stable equilibrium s.

    s in (sigma_f, phi), sigma_f = phi (N-2)/(2N-2): kappa(s) = s^{1-2/N} (phi - s) and the rate
    N s^{2-2/N} - (N-2) kappa(s) (the formulas behind ``scalar_rate_pred``; 0 at the fold kappa_c).
    """
    s_f = phi * (N - 2) / (2 * N - 2)
    s = np.linspace(s_f, phi, n)
    kappa = s ** (1.0 - 2.0 / N) * (phi - s)
    rate = N * s ** (2.0 - 2.0 / N) - (N - 2) * kappa
    return kappa[::-1], rate[::-1]


def _rates_panel(ax, ds) -> list:
    """Balancing rate 2 kappa and learning rate of the scalar reduced flow against kappa, per depth N."""
    handles = []
    kap = np.asarray(ds["kappa"].values, dtype=float) if "kappa" in ds.dims else np.atleast_1d(_scalar(ds["kappa"]))
    Ns = _coords(ds, "N")
    colors = ["C3", "C1", "C6", "C5", "C9", "C4", "C2", "C0", "C7", "C8"][: len(Ns)]  # apart from viridis (kappa)
    kmax = float(np.nanmax(kap)) if kap.size else 1.0
    for N, color in zip(Ns, colors, strict=True):
        one = _one(ds, {"N": N}, keep=("kappa",))
        n = int(N) if N is not None else int(_scalar(ds.get("N", 3)))
        k_fold, k_win = _scalar(one["kappa_fold"]), _scalar(one["kappa_window"])
        kmax = max(kmax, k_fold)
        if "phi_min" in one:
            kc, rc = _rate_curve(_scalar(one["phi_min"]), n)
            ax.plot(kc, rc, color=color, lw=1.5)
        k = np.atleast_1d(np.asarray(one["kappa"].values, dtype=float))
        r = np.atleast_1d(np.asarray(one["scalar_rate_pred"].values, dtype=float))
        below = k < k_fold  # the rate is 0 (no equilibrium) beyond the fold
        ax.plot(k[below], r[below], "o", color=color, ms=5, mec="k", mew=0.6, zorder=5)
        ax.axvline(k_win, color=color, ls=":", lw=1.2)
        ax.axvline(k_fold, color=color, ls="-.", lw=1.2)
        ax.axvspan(k_win, k_fold, color=color, alpha=0.08, lw=0)
        handles.append(_line(f"learning rate, $N = {n}$", color=color, lw=1.5))
    kk = np.linspace(0.0, 1.1 * kmax, 50)
    ax.plot(kk, 2 * kk, color="k", ls="--", lw=1.2)
    ax.set(xlim=(0, 1.1 * kmax), ylim=(0, None), xlabel=r"regularization $\kappa$", ylabel="rate")
    ax.set_title(r"balancing $2\kappa$ vs learning (scalar flow)")
    handles += [
        _line(r"balancing rate $2\kappa$", ls="--", lw=1.2),
        _line(r"$\kappa$ of the sweep (scalar_rate_pred)", color="0.5", ls="none", marker="o", ms=5, mec="k"),
        _line(r"$\kappa_w$: window starts", color="k", ls=":", lw=1.2),
        _line(r"$\kappa_c$: fold", color="k", ls="-.", lw=1.2),
    ]
    return handles


@_styled
def fig_fast_slow_scales(ds) -> Figure:
    """LM §4.1: the fast scale (balancing at rate 2 kappa), the slow scale (the loss) and their rates.

    ``ds`` is ``results/fast_slow.nc`` (dims kappa, loss, field, N, d, seed, t, imbalance). Shown for one
    configuration (real field and the largest N where present; first d and seed), every kappa (colour):
    (a) |G(t)| from every unbalanced start against |G_0| e^{-2 kappa t} (dashed), quadratic loss;
    (b, c, ...) the loss along the full flow from every start (thin) and along the reduced flow on the balanced
    manifold (thick), one panel per loss; last panel: the balancing rate 2 kappa and the learning rate of the
    scalar reduced flow (``scalar_rate_pred`` at the swept kappa, and its closed-form curve from ``phi_min``)
    against kappa for each N, with kappa_window (dotted), kappa_fold (dash-dotted) and the window between shaded.
    """
    rep = _representative(ds)
    losses = _coords(ds, "loss")
    n_panels = 2 + len(losses)
    nrows = int(np.ceil(n_panels / 2))
    fig, axes = _figure(2, nrows=nrows, height=2.55 * nrows + 0.7)
    kappas = _coords(ds, "kappa")
    kcolors = _seq_colors(len(kappas)) if len(kappas) > 1 else ["C0"]
    sub = _sel(ds, {k: v for k, v in rep.items() if k not in ("kappa", "loss")})
    ax = axes[0]
    for kappa, color in zip(kappas, kcolors, strict=True):
        one = _one(sub, {"kappa": kappa, "loss": rep.get("loss")}, keep=("t", "imbalance"))
        t = np.asarray(one["t"].values, dtype=float)
        ax.semilogy(t, _pos(_runs(one["G_norm"])), color=color, lw=1.3)
        ax.semilogy(t, _pos(_runs(one["G_predicted"])), color="k", ls="--", lw=0.7)
    ax.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert$")
    ax.set_title(r"(a) fast: $\Vert\mathbf{G}\Vert$ (every start)")
    for j, loss in enumerate(losses):
        ax = axes[1 + j]
        for kappa, color in zip(kappas, kcolors, strict=True):
            one = _one(sub, {"kappa": kappa, "loss": loss}, keep=("t", "imbalance"))
            t = np.asarray(one["t"].values, dtype=float)
            ax.semilogy(t, _pos(_runs(one["loss_full"])), color=color, lw=0.8, alpha=0.8)
            ax.semilogy(t, _pos(one["loss_reduced"].values), color=color, lw=2.6, alpha=0.55)
        ax.set(xlabel="$t$", ylabel=r"loss $E(X(t))$")
        ax.set_title(f"({chr(98 + j)}) slow: {loss} loss" if loss is not None else "(b) slow: the loss")
    ax = axes[1 + len(losses)]
    rate_handles = _rates_panel(ax, ds)
    ax.set_title(f"({chr(98 + len(losses))}) " + ax.get_title())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    for ax in axes[:n_panels]:
        _grid(ax)
    conf = _label({k: v for k, v in rep.items() if k in ("N", "field")})
    fig.suptitle(f"(a)-({chr(97 + len(losses))}): {conf}" if conf else "", fontsize=MEDIUM)
    handles = [_line(rf"$\kappa = {_num(k)}$", color=c, lw=1.3) for k, c in zip(kappas, kcolors, strict=True)]
    handles += [
        _line(r"$\Vert\mathbf{G}_0\Vert e^{-2\kappa t}$", ls="--", lw=0.7),
        _line("full flow (thin)", color="k", lw=0.8),
        _line(r"reduced flow on $\mathcal{M}$ (thick)", color="k", lw=2.6, alpha=0.55),
    ]
    _legend_below(fig, handles + rate_handles, ncols=3)
    return fig


#: Markers of the depths N, where colour and line style encode other parameters.
_N_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


#: The parameters naming the configuration of the shadowing error over time.
_SHADOW_CONF = ("kappa", "loss", "field", "N")


def _field_style(field, color) -> dict:
    """Line style and marker fill of a field: real solid and filled, complex dashed and open."""
    return {"color": color, "ls": FIELD_LS.get(str(field), "-"), "mfc": "none" if str(field) == "complex" else color}


@_styled
def fig_fast_slow_shadowing(ds) -> Figure:
    """LM §4.1: shadowing error against the initial imbalance |G_0|, and over time.

    ``ds`` is ``results/fast_slow.nc``. Top, one panel per loss: ``shadow_max`` = sup_t |X_full - X_red| /
    max |X_red| against ``G0_norm`` for every (kappa, field, N) case: colour kappa (a legend, or a colour bar
    for a long sweep), solid line and filled marker real, dashed line and open marker complex, marker shape N
    where several; a guide proportional to |G_0| (dotted, the same in every panel). Bottom: ``shadow_err``
    over time for one configuration (quadratic loss, real field, largest N, smallest kappa), one curve per
    imbalance level, with ``shadow_err_balanced`` from the balanced start and the time the start balances
    (``t_balance``, dots). Each row has its legend beside or below it.
    """
    kappas = _coords(ds, "kappa")
    kcolors = _seq_colors(len(kappas)) if len(kappas) > 1 else ["C0"]
    losses, fields, Ns = _coords(ds, "loss"), _coords(ds, "field"), _coords(ds, "N")
    n_marker = dict(zip(Ns, itertools.cycle(_N_MARKERS), strict=False))
    kappa_bar = len(kappas) > _MAX_COLOR_ENTRIES
    handles1 = []
    if not kappa_bar:
        handles1 += [
            _line(rf"$\kappa = {_num(k)}$", color=c, lw=1.4)
            for k, c in zip(kappas, kcolors, strict=True)
            if k is not None
        ]
    handles1 += [
        _line(f"{f}: {'dashed, open' if str(f) == 'complex' else 'solid, filled'}", marker="o", ms=4.5, lw=0.9, **st)
        for f in fields
        if f is not None
        for st in [_field_style(f, "k")]
    ]
    if len(Ns) > 1:
        handles1 += [_line(f"$N = {_num(N)}$", ls="none", marker=n_marker[N], ms=4.5) for N in Ns]
    handles1.append(_line(r"$\propto \Vert\mathbf{G}_0\Vert$", ls=":", lw=1.3))
    _, rows1 = _legend_shape(handles1, WIDTH, 4)
    h_top, h_bot = 2.45 + rows1 * _LEGEND_ROW, 2.35
    fig = Figure(figsize=(WIDTH, 0.3 + h_top + h_bot), layout="constrained")
    sub1, sub2 = fig.subfigures(2, 1, height_ratios=[h_top, h_bot])
    axes1 = list(sub1.subplots(1, len(losses), squeeze=False, sharey=True).ravel())
    ax2 = sub2.subplots()
    xs, ys = [], []
    for j, (ax, loss) in enumerate(zip(axes1, losses, strict=True)):
        for kappa, color in zip(kappas, kcolors, strict=True):
            for field in fields:
                for N in Ns:
                    one = _one(ds, {"kappa": kappa, "loss": loss, "field": field, "N": N}, keep=("imbalance",))
                    x = np.atleast_1d(_pos(one["G0_norm"].values))
                    y = np.atleast_1d(_pos(one["shadow_max"].values))
                    ok = np.isfinite(x) & np.isfinite(y)
                    if not ok.any():
                        continue
                    order = np.argsort(x[ok])
                    ax.plot(
                        x[ok][order],
                        y[ok][order],
                        lw=0.9,
                        marker=n_marker[N],
                        ms=4.5,
                        mew=1.0,
                        **_field_style(field, color),
                    )
                    xs.append(x[ok])
                    ys.append(y[ok])
        ax.set(xscale="log", yscale="log", xlabel=r"initial imbalance $\Vert\mathbf{G}_0\Vert$")
        ax.set_title(f"({chr(97 + j)}) {loss} loss" if loss is not None else "(a) every case")
    if xs:
        x_all, y_all = np.concatenate(xs), np.concatenate(ys)
        g = np.geomspace(x_all.min(), x_all.max(), 20)
        for ax in axes1:
            ax.plot(g, np.nanmedian(y_all / x_all) * g, color="k", ls=":", lw=1.3)
    axes1[0].set_ylabel(r"shadowing error, $\mathrm{sup}$ over $t$")
    if kappa_bar:
        _key_colorbar(sub1, axes1, kappas, kcolors, r"regularization $\kappa$", pad=0.02)
    _legend_below(fig, handles1, ncols=4, parent=sub1, grow=False)
    rep = _representative(ds)
    if "kappa" in ds.dims:
        rep["kappa"] = ds["kappa"].values.min()
    one = _one(ds, rep, keep=("t", "imbalance"))
    t = np.asarray(one["t"].values, dtype=float)
    levels = _coords(one, "imbalance")
    icolors = _seq_colors(len(levels), "plasma") if len(levels) > 1 else ["C1"]
    handles2 = []
    for s, color in zip(levels, icolors, strict=True):
        o = _sel(one, {"imbalance": s})
        ax2.semilogy(t, _pos(o["shadow_err"].values), color=color, lw=1.3)
        if "t_balance" in o and "balanced_within_T" in o and _scalar(o["balanced_within_T"]) > 0:
            tb = _scalar(o["t_balance"])
            ax2.semilogy(
                [tb],
                [np.interp(tb, t, np.asarray(o["shadow_err"].values, dtype=float))],
                "o",
                color=color,
                ms=5,
                mec="k",
                mew=0.6,
                zorder=5,
            )
        handles2.append(_line(rf"$\Vert\mathbf{{G}}_0\Vert = {_scalar(o['G0_norm']):.2g}$", color=color, lw=1.3))
    ax2.semilogy(t, _pos(one["shadow_err_balanced"].values), color="k", lw=1.3)
    ax2.set(xlabel="$t$", ylabel="shadowing error")
    conf = {k: rep.get(k, one[k].item() if k in one.coords and one[k].size == 1 else None) for k in _SHADOW_CONF}
    ax2.set_title(f"({chr(97 + len(losses))}) " + _label(conf))
    fig.suptitle(
        r"shadowing error $\Vert X_\mathrm{full}(t) - X_\mathrm{red}(t)\Vert\,/\,"
        r"\mathrm{max}_t\Vert X_\mathrm{red}(t)\Vert$ (full flow vs reduced flow on $\mathcal{M}$)",
        fontsize=MEDIUM,
    )
    for ax in [*axes1, ax2]:
        _grid(ax)
    handles2.append(_line("balanced start", lw=1.3))
    handles2.append(
        _line(
            r"balanced: $\Vert\mathbf{G}\Vert/\Vert\mathbf{W}\Vert^2 \leq$ tol",
            color="0.5",
            ls="none",
            marker="o",
            ms=5,
            mec="k",
        )
    )
    sub2.legend(
        handles=handles2,
        loc="outside right center",
        frameon=False,
        ncols=1 if len(handles2) <= 12 else 2,
        title="initial imbalance",
    )
    return fig


# ------------------------------------------------------------------------------------------------ entropy


@_styled
def fig_entropy(ds) -> Figure:
    """MY Theorem 4: closed-form log-volume of O_X against the Gram determinant, and S_N along a curve.

    ``ds`` is ``results/entropy.nc`` (dims d, N, field, seed, sample, point, s). (a) ``S_gram`` (numerical,
    1/2 log det Gram) against ``S_closed`` (closed form), both without the constant (N-1) log c_d, one marker per
    sample. (b) ``gram_err`` = |S_gram - S_closed| per sample in units of machine epsilon (symmetric-log axis:
    exact zeros at 0) against N. Colour: d; marker: field (filled real, open complex). (c) ``S_curve_rescaled``
    = S_N - k_d log N along sigma = (s, 1, ..., 1) for every N (colour) at the largest d (real where present),
    and the infinite-depth limit ``S_curve_inf`` (dashed).
    """
    fig, (ax1, ax2, ax3) = _figure(3, height=2.9)
    ds_ = _coords(ds, "d")
    dcolors = _colors(len(ds_))
    Ns = _coords(ds, "N")
    fields = _coords(ds, "field")
    n_pos = {N: i for i, N in enumerate(Ns)}
    groups = [(d, f) for d in ds_ for f in fields]
    offsets = _jitter(groups, 0.3)
    lo, hi = np.inf, -np.inf
    for d, field in groups:
        color = dcolors[ds_.index(d)]
        st = {
            "color": color,
            "marker": FIELD_MARKER.get(str(field), "o"),
            "ls": "none",
            "ms": 4.5,
            "alpha": 0.8,
            "mfc": color if str(field) != "complex" else "none",
        }
        for N in Ns:
            one = _one(ds, {"d": d, "field": field, "N": N}, keep=("sample",))
            sc = np.atleast_1d(np.asarray(one["S_closed"].values, dtype=float))
            sg = np.atleast_1d(np.asarray(one["S_gram"].values, dtype=float))
            err = np.atleast_1d(np.asarray(one["gram_err"].values, dtype=float)) / EPS
            ok = np.isfinite(sc) & np.isfinite(sg)
            ax1.plot(sc[ok], sg[ok], **st)
            if ok.any():
                lo, hi = min(lo, sc[ok].min(), sg[ok].min()), max(hi, sc[ok].max(), sg[ok].max())
            oke = np.isfinite(err)
            ax2.plot(np.full(oke.sum(), n_pos[N] + offsets[(d, field)]), err[oke], **st)
    if np.isfinite(lo):
        pad = max(0.05 * (hi - lo), 0.5)
        ax1.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8, zorder=0)
    ax1.set(xlabel="closed form (MY Thm 4)", ylabel=r"$\frac{1}{2}\log\det$ Gram (numerical)")
    ax1.set_title("(a) log-volume of $\\mathcal{O}_X$")
    ax2.set_xticks(range(len(Ns)))
    ax2.set_xticklabels([_num(N) if N is not None else "" for N in Ns])
    ax2.set_xlim(-0.6, len(Ns) - 0.4)
    ax2.set_xlabel("depth $N$")
    _eps_axis(ax2, r"|numerical $-$ closed| / $\varepsilon$", signed=False)
    ax2.set_title("(b) difference per sample")
    # the curve: largest d, real if present
    dmax = max(d for d in ds_) if ds_ != [None] else None
    fsel = "real" if "real" in [str(f) for f in fields] else fields[0]
    ncolors = _seq_colors(len(Ns)) if len(Ns) > 1 else ["C0"]
    n_bar = len(Ns) > _MAX_COLOR_ENTRIES
    handles3 = []
    one = None
    for N, color in zip(Ns, ncolors, strict=True):
        one = _one(ds, {"d": dmax, "field": fsel, "N": N}, keep=("s",))
        ok = np.isfinite(np.asarray(one["S_curve_rescaled"].values, dtype=float))
        ax3.plot(one["s"].values[ok], one["S_curve_rescaled"].values[ok], color=color, lw=1.3)
        if not n_bar:
            handles3.append(_line(f"$N = {_num(N)}$" if N is not None else "$S_N$", color=color, lw=1.3))
    if one is not None and "S_curve_inf" in one:
        ax3.plot(one["s"].values, one["S_curve_inf"].values, "k--", lw=1.1)
        handles3.append(_line(r"$N \to \infty$", ls="--", lw=1.1))
    if n_bar:
        _key_colorbar(fig, ax3, Ns, ncolors, "depth $N$", pad=0.02)
    ax3.set(xscale="log", xlabel=r"$s$ in $\sigma = (s, 1, \dots, 1)$", ylabel=r"$S_N - k_d\log N$")
    ax3.set_title("(c) curve, " + _label({"d": dmax, "field": fsel}))
    for ax in (ax1, ax2, ax3):
        _grid(ax)
    handles = [
        _line(f"$d = {_num(d)}$", color=c, ls="none", marker="o", ms=4.5)
        for d, c in zip(ds_, dcolors, strict=True)
        if d is not None
    ]
    handles += [
        _line(
            str(f),
            color="k",
            ls="none",
            marker=FIELD_MARKER.get(str(f), "o"),
            ms=4.5,
            mfc="k" if str(f) != "complex" else "none",
        )
        for f in fields
        if f is not None
    ]
    handles.append(_line("identity", ls="--", lw=0.8))
    width = fig.get_figwidth()
    title = "(a), (b): colour $d$, marker field"
    rows = max(
        _legend_below(fig, handles, ncols=3, where="left", width=0.62 * width, title=title, grow=False),
        _legend_below(fig, handles3, ncols=2, where="right", width=0.36 * width, title="(c): colour $N$", grow=False),
    )
    if rows > 3:
        fig.set_figheight(fig.get_figheight() + (rows - 3) * _LEGEND_ROW)
    return fig


# ------------------------------------------------------------------------------------------------ free energy


_PORTRAIT_DIMS = ("sigma1", "sigma2", "start", "t", "sv")


def _portraits(ds) -> list[dict]:
    """The (N, p, beta, field) panels with d = 2 (the only ones with a planar phase portrait)."""
    if "d" in ds.dims:
        if 2 not in [int(v) for v in ds["d"].values]:
            return []
        ds = ds.sel(d=2)
    elif "d" in ds and _scalar(ds["d"]) != 2:
        return []
    out = []
    for case in _cases(ds, ["N", "p", "beta", "field"]) or [{}]:
        one = _one(ds, case)
        if np.isfinite(np.asarray(one["u1"].values, dtype=float)).any():
            out.append({**case, "d": 2} if "d" in ds.coords else case)
    return out


def _speed_range(ds, cases) -> tuple[float, float, bool]:
    """Colour range of log10 speed over the panels ``cases``: (low, high, whether lower values are clipped).

    The range runs from the 1st percentile of the grid values of all panels to their maximum: the speed
    vanishes at an equilibrium, and a grid point next to one would otherwise stretch the scale over many
    decades and leave every streamline the same colour. Lower values get the lowest colour.
    """
    values = []
    for case in cases:
        sp = np.log10(_pos(_one(ds, case, keep=("sigma1", "sigma2"))["speed"].values)).ravel()
        values.append(sp[np.isfinite(sp)])
    v = np.concatenate(values) if values else np.array([])
    if not v.size:
        return -1.0, 1.0, False
    lo, hi = float(np.percentile(v, 1.0)), float(v.max())
    if hi <= lo:
        lo, hi = float(v.min()), float(v.min()) + 1.0
    return lo, hi, bool(v.min() < lo)


def _speed_colorbar(fig, mappable, axes, clipped: bool, note: str = "", **kw):
    """The labelled colour bar of the streamline colour (log10 of the Euclidean speed of the flow)."""
    cb = fig.colorbar(mappable, ax=axes, extend="min" if clipped else "neither", **kw)
    speed = r"$\log_{10}\Vert(\dot\sigma_1, \dot\sigma_2)\Vert$"
    cb.set_label(f"streamline colour: {speed}\n(speed per unit time $t${note})")
    return cb


def _phase_portrait(ax, one, norm, density: float = 1.1, title: str | None = None):
    """Streamlines of (u1, u2) coloured by log10 speed, the trajectories, the diagonal and the equilibrium."""
    s1, s2 = np.asarray(one["sigma1"].values, dtype=float), np.asarray(one["sigma2"].values, dtype=float)
    u1 = one["u1"].transpose("sigma2", "sigma1").values
    u2 = one["u2"].transpose("sigma2", "sigma1").values
    speed = one["speed"].transpose("sigma2", "sigma1").values
    sp = ax.streamplot(
        s1,
        s2,
        u1,
        u2,
        color=np.log10(_pos(speed)),
        cmap="viridis",
        norm=norm,
        density=density,
        linewidth=0.8,
        arrowsize=0.7,
    )
    traj = one["trajectory"].transpose("start", "t", "sv").values  # columns: sigma_1, sigma_2 (d = 2)
    for k in range(traj.shape[0]):
        ok = np.isfinite(traj[k]).all(axis=1)
        ax.plot(traj[k, ok, 0], traj[k, ok, 1], color="C3", lw=1.4)
        ax.plot(traj[k, 0, 0], traj[k, 0, 1], "o", color="C3", ms=3.5, mfc="white")
    top = float(max(s1.max(), s2.max()))
    ax.plot([0, top], [0, top], "k--", lw=0.9)
    ss = _scalar(one["sigma_star"])
    ax.plot([ss], [ss], "*", color="gold", mec="k", ms=11, zorder=6, clip_on=True)
    if ss > top:
        ax.annotate(
            rf"$\sigma_\star = {ss:.2g}$ $\nearrow$",
            xy=(0.97, 0.97),
            xycoords="axes fraction",
            ha="right",
            va="top",
            fontsize=SMALL,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.9},
        )
    ax.set(xlim=(0, top), ylim=(0, top), aspect="equal")
    if title:
        ax.set_title(title)
    return sp


def _portrait_handles() -> list:
    return [
        _line("trajectories (start: open circle)", color="C3", lw=1.4),
        _line(r"diagonal $\sigma_1 = \sigma_2$", ls="--", lw=0.9),
        _line(r"equilibrium $\sigma_\star$", ls="none", marker="*", color="gold", mec="k", ms=11),
    ]


@_styled
def fig_ckm_1(ds, N: int = 10, p: float = 2.0, beta: float = 5.0) -> Figure:
    """CKM Figure 1: phase portrait of sigma' = -grad_{g^N} F_beta for d = 2, E = (1/p) sum sigma_i^p.

    ``ds`` is ``results/free_energy.nc`` (dims N, p, beta, d, field, seed, sigma2, sigma1, start, t, sv). The
    panel d = 2, real, (N, p, beta) = (10, 2, 5) of CKM is used when present, else the first d = 2 panel
    (real where present). Left: streamlines coloured by log10 speed (colour bar), the computed trajectories
    (red), the diagonal (dashed) and the equilibrium sigma_star (star). Right: the two singular values along
    the trajectories (``trajectory`` on ``sv``), with sigma_star.
    """
    panels = _portraits(ds)
    if not panels:
        return _message("no d = 2 panel (phase portrait) in this dataset")
    want = {"N": N, "p": p, "beta": beta, "field": "real"}

    def score(case):
        return sum(
            1
            for k, v in want.items()
            if k in case and (str(case[k]) == str(v) or (not isinstance(v, str) and float(case[k]) == float(v)))
        )

    case = max(panels, key=score)
    one = _one(ds, case, keep=_PORTRAIT_DIMS)
    fig, (ax1, ax2) = _figure(2, height=3.7)
    lo, hi, clipped = _speed_range(ds, [case])
    sp = _phase_portrait(ax1, one, mpl.colors.Normalize(lo, hi))
    ax1.set(xlabel=r"$\sigma_1$", ylabel=r"$\sigma_2$")
    ax1.set_title("(a) phase portrait")
    _speed_colorbar(fig, sp.lines, ax1, clipped, shrink=0.9, pad=0.02)
    t = np.asarray(one["t"].values, dtype=float)
    traj = one["trajectory"].transpose("start", "t", "sv").values
    ss = _scalar(one["sigma_star"])
    for k in range(traj.shape[0]):
        for i in range(traj.shape[2]):
            ax2.plot(t, traj[k, :, i], color=f"C{i}", lw=1.0, alpha=0.85, marker="o", ms=2.2)
    ax2.axhline(ss, color="k", ls="--", lw=1.0)
    # the relaxation: up to 1.5 x the time all trajectories are within 1% of their initial distance to sigma_star
    dist = np.nanmax(np.abs(traj - ss), axis=(0, 2))
    near = np.nonzero(dist <= 0.01 * dist[0])[0] if dist.size and dist[0] > 0 else np.array([], dtype=int)
    t_end = min(t[-1], max(1.5 * t[near[0]], t[min(5, t.size - 1)])) if near.size else t[-1]
    ax2.set(xlabel="$t$", ylabel="singular values", xlim=(t[0], t_end))
    ax2.set_title(r"(b) relaxation to $\sigma_\star$")
    _grid(ax2)
    fig.suptitle(_label({k: case.get(k) for k in ("N", "p", "beta", "d", "field")}), fontsize=MEDIUM)
    handles = _portrait_handles()
    handles += [_line(rf"$\sigma_{i + 1}(t)$", color=f"C{i}", lw=1.0) for i in range(traj.shape[2])]
    handles.append(_line(r"$\sigma_\star = c^{1/p}$", ls="--", lw=1.0))
    _legend_below(fig, handles, ncols=3)
    return fig


@_styled
def fig_free_energy_panels(ds) -> Figure:
    """Phase portraits of the free-energy flow for every d = 2 panel (N, p, beta, field) of ``results/free_energy.nc``.

    Panels with d != 2 are skipped (their streamlines would be a slice with the other singular values frozen).
    One colour scale of log10 speed for all panels (colour bar); trajectories red, diagonal dashed, equilibrium
    star; first seed.
    """
    cases = _portraits(ds)
    if not cases:
        return _message("no d = 2 panel (phase portrait) in this dataset")
    ncols = min(4, len(cases))
    nrows = int(np.ceil(len(cases) / ncols))
    width = WIDTH if ncols > 1 else 4.2
    size = (width - 0.9) / ncols if ncols > 1 else width - 1.6  # one panel: room for the colour bar's labels
    fig, axes = _figure(
        ncols,
        nrows=nrows,
        width=width,
        height=(size + 0.5) * nrows + 0.75,
        sharex=True,
        sharey=True,
    )
    lo, hi, clipped = _speed_range(ds, cases)
    norm = mpl.colors.Normalize(lo, hi)
    vary = [k for k in ("N", "p", "beta", "field") if k in ds.dims and ds.sizes[k] > 1] or ["N", "p", "beta"]
    sp = None
    for ax, case in zip(axes, cases, strict=False):
        one = _one(ds, case, keep=_PORTRAIT_DIMS)
        parts = {k: case.get(k, one[k].values if k in one.coords else None) for k in vary}
        first = _label({k: v for k, v in parts.items() if k in ("N", "p")})
        second = _label({k: v for k, v in parts.items() if k in ("beta", "field")})
        sp = _phase_portrait(
            ax, one, norm, density=0.7 if ncols > 2 else 1.0, title="\n".join(s for s in (first, second) if s)
        )
    for ax in axes[len(cases) :]:
        ax.set_visible(False)
    for ax in axes[: len(cases)]:
        ax.label_outer()
    for ax in axes[::ncols]:
        ax.set_ylabel(r"$\sigma_2$")
    for ax in axes[(nrows - 1) * ncols : len(cases)]:
        ax.set_xlabel(r"$\sigma_1$")
    note = "; one scale for all panels" if len(cases) > 1 else ""
    _speed_colorbar(fig, sp.lines, axes, clipped, note, shrink=0.6 if nrows > 1 else 0.9, pad=0.02)
    fixed = {k: ds[k].values[0] for k in ("N", "p", "beta", "field") if k in ds.dims and ds.sizes[k] == 1}
    fig.suptitle(_label({**fixed, "d": 2}) + r": $\dot\sigma = -\mathrm{grad}_{g^N} F_\beta$", fontsize=MEDIUM)
    _legend_below(fig, _portrait_handles(), ncols=3)
    return fig


# ------------------------------------------------------------------------------------------------ flows


def _config_styles(ds, keys=("N", "d")) -> list[tuple[dict, str]]:
    """(configuration, colour) for every combination of ``keys``."""
    configs = _cases(ds, keys) or [{}]
    return list(zip(configs, _colors(len(configs)), strict=True))


def _flow_handles(ds, styles) -> list:
    handles = [_line(_label(c) or "runs", color=col, lw=1.2) for c, col in styles]
    handles += [
        _line(str(f), color="k", ls=FIELD_LS.get(str(f), "-"), lw=1.2) for f in _coords(ds, "field") if f is not None
    ]
    return handles


def _log_runs(ax, t, da, color, ls, **kw) -> None:
    ax.semilogy(t, _pos(_runs(da)), color=color, ls=ls, **{"lw": 0.9, "alpha": 0.85, **kw})


@_styled
def fig_regularizing_flow(ds) -> Figure:
    """LM Theorem 2 over the sweep: errors of G(t) = G_0 e^{-2t}, drift of X, and |W(t)|^2 -> N sum sigma^{2/N}.

    ``ds`` is ``results/regularizing_flow.nc`` (dims N, d, field, seed, t). (a) ``G_rel_err``
    = |G(t) - G_0 e^{-2t}| / |G_0 e^{-2t}|; (b) ``X_drift`` = |X(t) - X_0| / |X_0|; (c) ``W_excess`` =
    (|W(t)|^2 - m)/m, m = N sum_i sigma_i^{2/N}, with a guide proportional to e^{-4t} through the final values.
    Every seed is drawn; colour: (N, d); line style: field. Exact zeros (t = 0) are left out of the log axes.
    """
    fig, (ax1, ax2, ax3) = _figure(3, height=2.7)
    t = np.asarray(ds["t"].values, dtype=float)
    styles = _config_styles(ds)
    finals = []
    for config, color in styles:
        for field in _coords(ds, "field"):
            sub = _sel(ds, {**config, "field": field})
            ls = FIELD_LS.get(str(field), "-")
            _log_runs(ax1, t, sub["G_rel_err"], color, ls)
            _log_runs(ax2, t, sub["X_drift"], color, ls)
            ex = _runs(sub["W_excess"])
            _log_runs(ax3, t, sub["W_excess"], color, ls)
            finals.append(_pos(ex[-1]))
    f = np.concatenate(finals) if finals else np.array([])
    if np.isfinite(f).any():
        c = np.exp(np.nanmean(np.log(f))) * np.exp(4 * t[-1])
        tt = t[t >= t[0] + 0.3 * (t[-1] - t[0])]
        ax3.semilogy(tt, c * np.exp(-4 * tt), "k:", lw=1.6)
    ax1.set(xlabel="$t$", ylabel="relative error")
    ax1.set_title(r"(a) $\mathbf{G}(t) = \mathbf{G}_0e^{-2t}$")
    ax2.set(xlabel="$t$", ylabel=r"$\Vert X(t) - X_0\Vert / \Vert X_0\Vert$")
    ax2.set_title("(b) drift of $X$")
    ax3.set(xlabel="$t$", ylabel=r"$(\Vert\mathbf{W}(t)\Vert^2 - m)/m$")
    ax3.set_title(r"(c) excess, $m = N{\sum}_i\sigma_i^{2/N}$")
    for ax in (ax1, ax2, ax3):
        ax.set_xlim(t[0], t[-1])
        _grid(ax)
    handles = _flow_handles(ds, styles) + [_line(r"$\propto e^{-4t}$", ls=":", lw=1.6)]
    _legend_below(fig, handles, ncols=4)
    return fig


_START_LS = {"gaussian": "-", "rank_deficient": "--"}


@_styled
def fig_kirwan_ness(ds) -> Figure:
    """LM Theorem 10, eq. (2.31), Corollary 1: the Kirwan-Ness flow over the sweep.

    ``ds`` is ``results/kirwan_ness.nc`` (dims N, d, field, start, seed, step; the times ``t(..., seed, step)``
    differ between jobs). Only states with ``energy_ratio_valid`` (|G| above the round-off floor) are drawn.
    (a) |G(t)|/|G_0| (log scale), solid for Gaussian (full-rank) starts, dashed for rank-deficient ones; for
    full-rank runs a dotted segment of slope e^{-r* t} (``r_star``, the predicted slowest rate) over the fit
    window (``fit_window``), shifted up by a factor 3. (b) 1/|G(t)| for rank-deficient starts (straight
    lines), with the fitted slope ``inverse_slope`` over the fit window (dotted). (c) The ratio
    (d/dt |G|^2/2) / |w_G|^2 (``energy_ratio``) against -4 (corrected) and -2 (printed (2.31)).
    Colour: (N, d, field).
    """
    starts = [str(s) for s in _coords(ds, "start")] if "start" in ds.dims else [None]
    has_rd = "rank_deficient" in starts
    fig, axes = _figure(3 if has_rd else 2, width=WIDTH, height=2.9)
    ax1, ax3 = axes[0], axes[-1]
    ax2 = axes[1] if has_rd else None
    styles = _config_styles(ds, ("N", "d", "field"))
    seeds = _coords(ds, "seed")
    ratios = []
    slope_drawn = line_drawn = False
    for config, color in styles:
        for start in starts:
            ls = _START_LS.get(str(start), "-")
            for seed in seeds:
                one = _one(ds, {**config, "start": start, "seed": seed}, keep=("step", "bound"))
                t = np.asarray(one["t"].values, dtype=float)
                G = np.asarray(one["G_norm"].values, dtype=float)
                G0 = _scalar(one["G_norm_initial"]) if "G_norm_initial" in one else G[0]
                valid = np.isfinite(t) & np.isfinite(G) & (G > 0)
                if "energy_ratio_valid" in one:
                    valid &= np.asarray(one["energy_ratio_valid"].values, dtype=float) > 0
                if not valid.any():
                    continue
                ax1.semilogy(t[valid], G[valid] / G0, color=color, ls=ls, lw=1.0, alpha=0.85)
                full_rank = str(start) != "rank_deficient"
                win = np.asarray(one["fit_window"].values, dtype=float) if "fit_window" in one else None
                if win is None or not np.isfinite(win).all() or win[1] <= win[0]:
                    win = None
                r_star = _scalar(one["r_star"]) if "r_star" in one else 0.0
                if full_rank and r_star > 0 and win is not None:
                    tw = np.linspace(win[0], win[1], 20)
                    t_end = t[valid][-1]
                    y_end = G[valid][-1] / G0
                    ax1.semilogy(tw, 3.0 * y_end * np.exp(-r_star * (tw - t_end)), color="k", ls=":", lw=1.3)
                    slope_drawn = True
                if not full_rank and ax2 is not None:
                    ax2.plot(t[valid], 1.0 / G[valid], color=color, ls=ls, lw=1.0)
                    a = _scalar(one["inverse_slope"]) if "inverse_slope" in one else 0.0
                    if a > 0 and win is not None:
                        tw = np.linspace(win[0], win[1], 20)
                        ax2.plot(tw, 1.0 / G[valid][-1] + a * (tw - t[valid][-1]), color="k", ls=":", lw=1.3)
                        line_drawn = True
                ratio = np.asarray(one["energy_ratio"].values, dtype=float)
                okr = valid & np.isfinite(ratio)
                mk = "o" if full_rank else "^"
                ax3.plot(t[okr], ratio[okr], mk, ms=2.5, color=color, alpha=0.7, mfc=color if full_rank else "none")
                ratios.append(ratio[okr])
    ax3.axhline(-4.0, color="k", lw=1.1, zorder=1)
    ax3.axhline(-2.0, color="C3", lw=1.1, ls="--", zorder=1)
    r = np.concatenate(ratios) if ratios else np.array([])
    lo = min(-4.6, float(r.min()) - 0.3) if r.size else -4.6
    hi = max(-1.4, float(r.max()) + 0.3) if r.size else -1.4
    ax1.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert / \Vert\mathbf{G}_0\Vert$")
    ax1.set_title(r"(a) decay of $\Vert\mathbf{G}\Vert$")
    if ax2 is not None:
        ax2.set(xlabel="$t$", ylabel=r"$1/\Vert\mathbf{G}(t)\Vert$")
        ax2.set_title("(b) rank-deficient: $\\sim 1/t$")
    ax3.set(
        xlabel="$t$",
        ylabel=r"$\partial_t(\Vert\mathbf{G}\Vert^2/2)\,/\,\Vert\mathbf{w}_{\mathbf{G}}\Vert^2$",
        ylim=(lo, hi),
    )
    ax3.set_title(f"({'c' if has_rd else 'b'}) energy identity (2.31)")
    for ax in axes:
        _grid(ax)
    handles = [_line(_label(c) or "runs", color=col, lw=1.0) for c, col in styles]
    handles += [
        _line(str(s).replace("_", "-") + " starts", color="k", ls=_START_LS.get(str(s), "-"), lw=1.0)
        for s in starts
        if s is not None
    ]
    if slope_drawn:
        handles.append(_line(r"predicted slope $e^{-r_\star t}$ (shifted $\times 3$)", ls=":", lw=1.3))
    if line_drawn:
        handles.append(_line(r"fitted line $1/\Vert\mathbf{G}\Vert = at + b$", ls=":", lw=1.3))
    handles.append(_line("corrected: $-4$", lw=1.1))
    handles.append(_line("printed (2.31): $-2$", color="C3", ls="--", lw=1.1))
    _legend_below(fig, handles, ncols=4)
    return fig


@_styled
def fig_learning_flow(ds) -> Figure:
    """LM eq. 1.2, LM-Cons, LM-Inv and Remark 5 over the sweep of ``results/learning_flow.nc``.

    ``ds`` has dims N, d, field, seed, t. (a) ``loss`` = |X - Y|^2/2 along the learning flow from a balanced
    start; (b) ``G_balanced`` = |G(t)|/|W(t)|^2 from that start (M is invariant: round-off); (c) ``G_drift``
    = |G(t) - G_0|/|G_0| from a Gaussian start (G is conserved); (d) ``X_rem5_err`` = |X(t) - X_e(t)|/|X_e(t)|
    against the end-to-end flow X' = -A_{N,X}(grad E) (Remark 5); (e) ``sv_err`` = max_i |sigma_i(t) - closed
    form| / closed form for the end-to-end flow with E = sum sigma^2/2. Every seed is drawn; colour: (N, d);
    line style: field. Exact zeros (t = 0) are left out of the log axes.
    """
    fig, axes = _figure(3, nrows=2, height=4.9)
    t = np.asarray(ds["t"].values, dtype=float)
    styles = _config_styles(ds)
    panels = [
        ("loss", "loss $E = \\Vert X - Y\\Vert^2/2$", "(a) loss, balanced start"),
        ("G_balanced", r"$\Vert\mathbf{G}\Vert / \Vert\mathbf{W}\Vert^2$", r"(b) $\mathcal{M}$ invariant"),
        (
            "G_drift",
            r"$\Vert\mathbf{G}(t) - \mathbf{G}_0\Vert / \Vert\mathbf{G}_0\Vert$",
            r"(c) $\mathbf{G}$ conserved",
        ),
        ("X_rem5_err", r"$\Vert X - X_e\Vert / \Vert X_e\Vert$", "(d) end-to-end flow (Rmk 5)"),
        ("sv_err", r"max$_i$ rel. error of $\sigma_i(t)$", "(e) singular values vs closed form"),
    ]
    for ax, (name, ylabel, title) in zip(axes, panels, strict=False):
        if name not in ds:
            ax.set_visible(False)
            continue
        for config, color in styles:
            for field in _coords(ds, "field"):
                _log_runs(ax, t, _sel(ds, {**config, "field": field})[name], color, FIELD_LS.get(str(field), "-"))
        ax.set(xlabel="$t$", ylabel=ylabel, xlim=(t[0], t[-1]))
        ax.set_title(title)
        _grid(ax)
    leg_ax = axes[5]
    leg_ax.set_axis_off()
    leg_ax.legend(handles=_flow_handles(ds, styles), loc="center", frameon=False, ncols=1 if len(styles) < 7 else 2)
    return fig
