"""Snakemake script of the ``overview_figures`` rule: a generic overview plot of every aggregated dataset.

One process draws them all (one figure per family, ``results/figures/<family>_overview.png``).

Each panel shows one real data variable against its leading coordinate (``t`` if present,
else the first numeric dimension), as the median over every other dimension with the
10-90% band; a log scale where the values are positive and span decades.
"""

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dln.experiments._conventions import read_netcdf  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

PREFERRED = ("t", "p", "beta", "kappa", "dt", "N", "d", "i")
MAX_PANELS = 6


def leading_dim(var, ds):
    dims = [d for d in var.dims if ds[d].dtype.kind in "fiu"] if var.dims else []
    for name in PREFERRED:
        if name in dims:
            return name
    return dims[0] if dims else None


def draw(family: str, data: str, output: str) -> None:
    ds = read_netcdf(data)
    names = [n for n in ds.data_vars if ds[n].dtype.kind in "fiu" and ds[n].ndim >= 1]
    names = [n for n in names if ds[n].size > 1][:MAX_PANELS]
    ncols = min(3, max(1, len(names)))
    nrows = max(1, -(-len(names) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        var = ds[name].astype(float)
        dim = leading_dim(var, ds)
        if dim is None:
            ax.set_visible(False)
            continue
        other = [d for d in var.dims if d != dim]
        x = np.asarray(ds[dim].values, dtype=float) if dim in ds.coords else np.arange(var.sizes[dim])
        flat = var.transpose(dim, *other).values.reshape(var.sizes[dim], -1)
        med = np.median(flat, axis=1)
        ax.plot(x, med, marker="." if len(x) < 30 else None, label="median")
        if flat.shape[1] > 1:
            lo, hi = np.quantile(flat, [0.1, 0.9], axis=1)
            ax.fill_between(x, lo, hi, alpha=0.3, label="10-90%")
            ax.legend(fontsize=7)
        pos = flat[np.isfinite(flat)]
        if pos.size and np.all(pos > 0) and pos.max() / pos.min() > 100:
            ax.set_yscale("log")
        xl = ds[dim].attrs.get("long_name", dim) if dim in ds.coords else dim
        ax.set_xlabel(f"{xl} [{ds[dim].attrs.get('units', '1')}]" if dim in ds.coords else dim, fontsize=8)
        ax.set_title(var.attrs.get("long_name", name)[:60], fontsize=8)
        ax.tick_params(labelsize=7)
    if not names:
        axes.flat[0].set_visible(True)
        axes.flat[0].text(0.5, 0.5, "no plottable variable", ha="center", va="center")
    fig.suptitle(f"{family}: {ds.attrs.get('title', '')}"[:100], fontsize=10)
    fig.tight_layout()
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(output).with_name(f".{Path(output).name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    tmp.replace(output)  # never a half-written figure
    plt.close(fig)
    logging.info("plotted %s of %s -> %s", names, family, output)


def main() -> None:
    for family, data, output in zip(snakemake.params.families, snakemake.input, snakemake.output, strict=True):
        draw(family, data, output)


main()
