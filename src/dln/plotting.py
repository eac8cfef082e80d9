"""Figures of the dln book, drawn from the workflow's datasets (Matplotlib, no pyplot state).

Every function takes the dataset(s) it plots (``xarray.Dataset`` as written by the experiment
families, read with :func:`dln.experiments._conventions.read_netcdf`) and returns a
:class:`matplotlib.figure.Figure`; nothing here runs a simulation. The book's Snakemake rule
``book_assets`` calls them and saves PNGs; in a session::

    fig = dln.plotting.fig_1_2(read_netcdf("results/regularizing_flow.nc"))
    fig.savefig("fig_1_2.png")
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

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

FIELD_STYLE = {"real": {"color": "C0", "marker": "o"}, "complex": {"color": "C3", "marker": "s"}}


def _figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.6, **kw) -> tuple[Figure, list]:
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, list(axes.ravel())


def _fields(ds) -> list[str]:
    return [str(f) for f in ds["field"].values] if "field" in ds.coords else ["real"]


def _values(da, dim_first: str) -> tuple[np.ndarray, np.ndarray]:
    """Flatten ``da`` to (coordinate of ``dim_first`` repeated, values) over all its other dims."""
    other = [d for d in da.dims if d != dim_first]
    arr = da.transpose(dim_first, *other).values.reshape(da.sizes[dim_first], -1)
    x = np.repeat(da[dim_first].values[:, None], arr.shape[1], axis=1)
    return x.ravel(), arr.ravel()


def fig_schatten(ds) -> Figure:
    """LM Thm 1, Thm 20 and the open case p = 1: Schatten-p minima on fibers.

    Left: relative gap between the minimum found from every restart and the closed form
    N (sum_i sigma_i^{p/N})^{1/p}, against p. Right: balancedness |G|/|W|^2 at those minimizers.
    ``ds`` is ``results/schatten.nc`` (dims p, N, d, field, seed, restart).
    """
    fig, (ax1, ax2) = _figure(2)
    for field in _fields(ds):
        sub = ds.sel(field=field) if "field" in ds.dims else ds
        st = FIELD_STYLE.get(field, {})
        jitter = 0.03 if field == "complex" else -0.03
        x, gap = _values(np.abs(sub["rel_gap"]), "p")
        ax1.scatter(x + jitter, np.maximum(gap, 1e-17), s=14, alpha=0.7, label=field, **st)
        x, g = _values(sub["G_rel"], "p")
        ax2.scatter(x + jitter, np.maximum(g, 1e-17), s=14, alpha=0.7, label=field, **st)
    ax1.set(yscale="log", xlabel="Schatten exponent $p$", ylabel="|minimum - closed form| / closed form")
    ax1.set_title("minimum found vs $N(\\sum_i \\sigma_i^{p/N})^{1/p}$", fontsize=10)
    ax2.set(
        yscale="log",
        xlabel="Schatten exponent $p$",
        ylabel=r"$\Vert\mathbf{G}\Vert / \Vert\mathbf{W}\Vert^2$ at the minimizer",
    )
    ax2.set_title("balancedness of the minimizers", fontsize=10)
    for ax in (ax1, ax2):
        ax.axvline(1.0, color="0.7", lw=0.8, ls=":")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return fig


def fig_schatten_hessian(ds) -> Figure:
    """Hessian nullity at the best minimizer against the dimension of the unitary orbit O_X."""
    fig, (ax,) = _figure(1, width=4.6)
    for field in _fields(ds):
        sub = ds.sel(field=field) if "field" in ds.dims else ds
        st = FIELD_STYLE.get(field, {})
        x, dim = _values(sub["orbit_dimension"], "p")
        _, null = _values(sub["hessian_nullity"], "p")
        ax.scatter(dim, null, s=30, alpha=0.6, label=field, **st)
    lim = [0, float(max(ds["orbit_dimension"].max(), ds["hessian_nullity"].max())) + 1]
    ax.plot(lim, lim, color="0.5", lw=0.8, ls="--", label="nullity = dim $O_X$")
    ax.set(xlabel="dimension of the orbit $O_X$", ylabel="zero eigenvalues of the Hessian", xlim=lim, ylim=lim)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _foliation(ax, lim: float = 2.6, fibers=(0.25, 0.5, 1.0, 2.0, 3.0), moments=(0.5, 1.0, 2.0, 3.5), fiber_kw=None):
    """Level sets of w2 w1 (fibers) and w1^2 - w2^2 (moments), the balanced variety and the minimizers."""
    w = np.linspace(-lim, lim, 401)
    W1, W2 = np.meshgrid(w, w)
    x_levels = sorted({-x for x in fibers} | set(fibers))
    g_levels = sorted({-g for g in moments} | set(moments))
    ax.contour(
        W1, W2, W1 * W2, levels=x_levels, colors="0.55", linewidths=0.9, negative_linestyles="solid", **(fiber_kw or {})
    )
    ax.contour(W1, W2, W1**2 - W2**2, levels=g_levels, colors="#9ecae1", linewidths=0.9, negative_linestyles="solid")
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
    for j in range(w1.shape[1]):
        ax.plot(w1[:, j], w2[:, j], color=color, lw=1.6, label=label if j == 0 else None)
        ax.plot(w1[0, j], w2[0, j], "o", color=color, ms=3.5, mfc="white")
        ax.annotate(
            "",
            xy=(w1[-1, j], w2[-1, j]),
            xytext=(w1[-4, j], w2[-4, j]),
            arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.2},
        )


def fig_1_1(lm) -> Figure:
    """LM Figure 1.1 (d = 1, N = 2, real): fibers, moment level sets, M_0, minimizers and computed flows.

    ``lm`` is ``results/lm_figures.nc`` (variables ``reg_w1, reg_w2`` on ``(t_reg, reg_traj)``,
    ``learn_w1, learn_w2`` on ``(t_learn, learn_traj)``).
    """
    fig, (ax,) = _figure(1, width=5.4, height=5.2)
    _foliation(ax)
    sel = lm["reg_x"].values > 0
    _trajectories(ax, lm["reg_w1"].values[:, sel], lm["reg_w2"].values[:, sel], "C1", "regularizing flow")
    _trajectories(ax, lm["learn_w1"].values, lm["learn_w2"].values, "C2", "learning flow")
    _minimizers(ax, (0.25, 0.5, 1.0, 2.0, 3.0))
    ax.plot([], [], color="0.55", lw=0.9, label="fibers $w_2w_1 = x$")
    ax.plot([], [], color="#9ecae1", lw=0.9, label="$w_1^2 - w_2^2 = G$")
    ax.plot([], [], color="k", ls="--", lw=1.0, label=r"$\mathcal{M}_0$: $w_2 = \pm w_1$")
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    return fig


def _moment_decay_panel(ax, t, Gn, rate: float = 2.0, label: str = "runs") -> None:
    """|G(t)|/|G_0| for runs given as (t, runs), against exp(-rate t)."""
    Gn = np.asarray(Gn)
    rel = Gn / Gn[:1]
    ax.semilogy(t, rel, color="C0", lw=0.8, alpha=0.5)
    ax.semilogy(t, np.exp(-rate * np.asarray(t)), "k--", lw=1.4, label=f"$e^{{-{rate:g}t}}$")
    ax.plot([], [], color="C0", lw=0.8, label=label)
    ax.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert / \Vert\mathbf{G}_0\Vert$")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def fig_1_2(lm) -> Figure:
    """LM Figure 1.2: the regularizing flow on fibers.

    Left: d = 1, N = 2 trajectories in the (w1, w2) plane, on their fibers, into the balanced variety.
    Right: |G(t)|/|G_0| for d = 3, N = 4 (real and complex Gaussian starts) against e^{-2t} (Thm 2).
    ``lm`` is ``results/lm_figures.nc``.
    """
    fig, (ax1, ax2) = _figure(2, width=4.8, height=4.4)
    _foliation(ax1, moments=())
    _trajectories(ax1, lm["reg_w1"].values, lm["reg_w2"].values, "C1", "regularizing flow")
    _minimizers(ax1, sorted({float(x) for x in lm["reg_x"].values}))
    ax1.legend(fontsize=7, loc="lower right", framealpha=0.9)
    t = lm["t_reg"].values
    Gn = lm["G_norm"]
    for j, field in enumerate(Gn["field"].values):
        g = Gn.sel(field=field).values
        ax2.semilogy(t, g / g[:1], color=f"C{j}", lw=1.2, alpha=0.8)
        ax2.plot([], [], color=f"C{j}", lw=1.2, label=f"{field} Gaussian starts, $d=3$, $N=4$")
    ax2.semilogy(t, np.exp(-2 * t), "k--", lw=1.2, label="$e^{-2t}$")
    ax2.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert / \Vert\mathbf{G}_0\Vert$")
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    return fig


def fig_1_3(lm) -> Figure:
    """LM Figure 1.3: learning flows for d = 1, N = 2 and the reduced end-to-end flow.

    ``lm`` is ``results/lm_figures.nc``; learning trajectory 0 starts balanced.
    """
    fig, (ax1, ax2) = _figure(2, width=4.8, height=4.4)
    _foliation(ax1)
    _trajectories(ax1, lm["learn_w1"].values, lm["learn_w2"].values, "C2", "learning flow")
    xt = float(lm["x_target"])
    w = np.linspace(0.05, 2.6, 200)
    ax1.plot(w, xt / w, color="C3", lw=1.2, ls=":", label=f"minimizers $w_2w_1 = {xt:g}$")
    ax1.legend(fontsize=7, loc="lower right", framealpha=0.9)
    t = lm["t_learn"].values
    x_full = lm["learn_w1"].values[:, 0] * lm["learn_w2"].values[:, 0]
    ax2.plot(t, lm["x_reduced"].values, color="k", lw=1.4, label=r"reduced: $\dot x = -N|x|^{2-2/N}E'(x)$")
    ax2.plot(t[::5], x_full[::5], "o", color="C2", ms=4, label="$x = w_2w_1$ along the learning flow")
    ax2.axhline(xt, color="C3", ls=":", lw=1.0)
    ax2.set(xlabel="$t$", ylabel="$x(t)$")
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    return fig


def _cases(ds, dims) -> list[dict]:
    """Every combination of the coordinates of ``dims`` present in ``ds`` (as .sel dicts)."""
    import itertools

    dims = [d for d in dims if d in ds.dims]
    return [dict(zip(dims, vals, strict=True)) for vals in itertools.product(*[ds[d].values for d in dims])]


def _label(case: dict) -> str:
    names = {"kappa": "\\kappa", "beta": "\\beta"}
    parts = []
    for k, v in case.items():
        if isinstance(v, str | np.str_):
            parts.append(str(v))
        else:
            parts.append(f"${names.get(k, k)}={float(v):g}$")
    return ", ".join(parts)


def _first(ds, keep) -> object:
    """Select the first index of every dimension except ``keep`` and ``t``."""
    return ds.isel({d: 0 for d in ds.dims if d not in keep and d != "t"})


def fig_noise_mean_G(ds) -> Figure:
    """LM §4.2: the projection <E[G(t)], G_0>/|G_0|^2 with +-3 standard errors against exp(-2 kappa t).

    ``ds`` is ``results/langevin.nc`` (dims kappa, beta, loss, field, N, d, seed, dt, t).
    """
    panels = _cases(ds, ["loss", "field"])
    fig, axes = _figure(len(panels), width=3.6, height=3.3)
    for ax, panel in zip(axes, panels, strict=True):
        sub = ds.sel(panel)
        for j, case in enumerate(_cases(sub, ["kappa", "beta"])):
            one = _first(sub.sel(case), ["t"])
            t = one["t"].values
            m, se = one["G_proj"].values, one["G_proj_se"].values
            color = f"C{j}"
            ax.fill_between(t, m - 3 * se, m + 3 * se, color=color, alpha=0.25, lw=0)
            ax.plot(t, m, color=color, lw=1.3, label=_label(case))
            ax.plot(t, one["G_proj_predicted"].values, color="k", ls="--", lw=0.9)
        ax.plot([], [], color="k", ls="--", lw=0.9, label=r"$e^{-2\kappa t}$")
        ax.set(
            xlabel="$t$", ylabel=r"$\langle \mathbb{E}[\mathbf{G}(t)], \mathbf{G}_0\rangle / \Vert\mathbf{G}_0\Vert^2$"
        )
        ax.set_title(", ".join(f"{k} = {v}" for k, v in panel.items()), fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def fig_noise_stationary(ds) -> Figure:
    """LM §4.2: variance per coordinate and E|G(t)|^2 of the OU ensembles against the exact values.

    The variance tends to 1/(beta kappa) (the corrected density exp(-beta kappa |W|^2 / 2)); the printed
    density exp(-beta kappa |W|^2) would give 1/(2 beta kappa), drawn dotted.
    """
    ou = ds.sel(loss="none") if "loss" in ds.dims and "none" in ds["loss"].values else ds
    fields = _fields(ou)
    fig, axes = _figure(2, width=4.6, height=3.6)
    ax1, ax2 = axes
    j = 0
    for field in fields:
        sub = ou.sel(field=field) if "field" in ou.dims else ou
        for case in _cases(sub, ["kappa", "beta"]):
            one = _first(sub.sel(case), ["t"])
            kappa, beta = float(one["kappa"]), float(one["beta"])
            if kappa <= 0:
                continue
            t = one["t"].values
            color = f"C{j}"
            j += 1
            lab = f"{field}, " + _label(case)
            v, vse = one["coord_var"].values, one["coord_var_se"].values
            ax1.fill_between(t, v - 3 * vse, v + 3 * vse, color=color, alpha=0.25, lw=0)
            ax1.plot(t, v, color=color, lw=1.3, label=lab)
            if "coord_var_exact" in one:
                ax1.plot(t, one["coord_var_exact"].values, color="k", ls="--", lw=0.9)
            ax1.axhline(1 / (beta * kappa), color=color, ls="-", lw=0.6, alpha=0.6)
            ax1.axhline(1 / (2 * beta * kappa), color=color, ls=":", lw=1.0)
            if "G2_exact" in one:
                g2, g2se = one["G2_mean"].values, one["G2_se"].values
                ax2.fill_between(t, g2 - 3 * g2se, g2 + 3 * g2se, color=color, alpha=0.25, lw=0)
                ax2.plot(t, g2, color=color, lw=1.3, label=lab)
                ax2.plot(t, one["G2_exact"].values, color="k", ls="--", lw=0.9)
    ax1.plot([], [], color="k", ls="--", lw=0.9, label="exact OU")
    ax1.plot([], [], color="0.3", ls=":", lw=1.0, label=r"printed (4.3): $1/(2\beta\kappa)$")
    ax1.set(xlabel="$t$", ylabel="variance per real coordinate")
    ax2.plot([], [], color="k", ls="--", lw=0.9, label="exact OU")
    ax2.set(xlabel="$t$", ylabel=r"$\mathbb{E}\Vert\mathbf{G}(t)\Vert^2$")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def fig_posterior(ds) -> Figure:
    """LM §4.3: posterior mean E|G|^2 on the fiber against beta, with the Laplace prediction c/(beta kappa).

    ``ds`` is ``results/posterior.nc`` (dims beta, kappa, field, N, d, seed). Error bars are 2 standard
    errors (from the integrated autocorrelation time); crosses mark the quadrature reference (d = 1, N = 2).
    """
    fig, (ax1, ax2) = _figure(2, width=4.6, height=3.8)
    beta = ds["beta"].values
    for j, case in enumerate(_cases(ds, ["field", "N", "d", "kappa", "seed"])):
        one = ds.sel(case)
        color = f"C{j % 10}"
        lab = ", ".join(f"{k}={v}" if k in ("N", "d") else str(v) for k, v in case.items() if k in ("field", "N", "d"))
        eg2, se = one["EG2"].values, one["EG2_se"].values
        ax1.errorbar(beta, eg2, yerr=2 * se, fmt="o", ms=3.5, color=color, capsize=2, label=lab)
        ax1.plot(beta, one["EG2_laplace"].values, color=color, ls="--", lw=0.9)
        if "EG2_quadrature" in one and np.all(one["EG2_quadrature"].values > 0):
            ax1.plot(beta, one["EG2_quadrature"].values, "x", color="k", ms=6)
        kappa = float(one["kappa"])
        ax2.plot(beta, beta * kappa * eg2, "o-", ms=3.5, lw=1.0, color=color, label=lab)
        ax2.axhline(float(one["laplace_c"].values.ravel()[0]), color=color, ls="--", lw=0.9)
    ax1.plot([], [], color="0.3", ls="--", lw=0.9, label=r"Laplace $c/(\beta\kappa)$")
    ax1.set(xscale="log", yscale="log", xlabel=r"$\beta$", ylabel=r"posterior $\mathbb{E}\Vert\mathbf{G}\Vert^2$")
    ax2.set(
        xscale="log", xlabel=r"$\beta$", ylabel=r"$\beta\kappa\,\mathbb{E}\Vert\mathbf{G}\Vert^2$ (limit $c$, dashed)"
    )
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def fig_fast_slow_scales(ds) -> Figure:
    """LM §4.1: the fast scale (|G(t)| against |G_0| e^{-2 kappa t}) and the slow scale (the loss).

    ``ds`` is ``results/fast_slow.nc`` (dims kappa, loss, field, N, d, seed, t, imbalance); one panel
    pair for the first configuration of every dimension except ``imbalance`` and ``t``, the loss's own
    panel per loss.
    """
    losses = [str(v) for v in ds["loss"].values] if "loss" in ds.dims else [None]
    fig, axes = _figure(2, nrows=len(losses), width=4.6, height=3.4)
    for row, loss in enumerate(losses):
        sub = ds.sel(loss=loss) if loss is not None else ds
        one = _first(sub, ["t", "imbalance"])
        t = one["t"].values
        ax1, ax2 = axes[2 * row], axes[2 * row + 1]
        kappa = float(one["kappa"]) if "kappa" in one.coords else float("nan")
        for j, s in enumerate(one["imbalance"].values):
            color = f"C{j}"
            g0 = float(one["G0_norm"].sel(imbalance=s))
            ax1.semilogy(
                t, one["G_norm"].sel(imbalance=s).values, color=color, lw=1.4, label=rf"$\Vert G_0\Vert = {g0:.3g}$"
            )
            ax1.semilogy(t, one["G_predicted"].sel(imbalance=s).values, color="k", ls="--", lw=0.8)
            ax2.semilogy(t, one["loss_full"].sel(imbalance=s).values, color=color, lw=1.2)
        ax2.semilogy(t, one["loss_reduced"].values, color="k", lw=1.6, label="reduced flow on $\\mathcal{M}$")
        ax1.plot([], [], color="k", ls="--", lw=0.8, label=r"$\Vert G_0\Vert e^{-2\kappa t}$")
        ax1.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert$")
        ax1.set_title(f"fast: balancing ({loss} loss, $\\kappa = {kappa:g}$)", fontsize=9)
        ax2.set(xlabel="$t$", ylabel="loss $E(X(t))$")
        ax2.set_title(f"slow: learning ({loss} loss)", fontsize=9)
        for ax in (ax1, ax2):
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
    return fig


def fig_fast_slow_shadowing(ds) -> Figure:
    """LM §4.1: shadowing error against the initial imbalance |G_0|, and over time.

    Left: sup_t |X_full - X_red| / max |X_red| against |G_0| for every (kappa, loss, field) case.
    Right: the error over time for the first case, one curve per imbalance level.
    """
    fig, (ax1, ax2) = _figure(2, width=4.6, height=3.6)
    for j, case in enumerate(_cases(ds, ["kappa", "loss", "field"])):
        one = _first(ds.sel(case), ["t", "imbalance"])
        ax1.loglog(
            one["G0_norm"].values, one["shadow_max"].values, "o-", ms=4, lw=1.0, color=f"C{j}", label=_label(case)
        )
    ax1.set(xlabel=r"initial imbalance $\Vert\mathbf{G}_0\Vert$", ylabel="shadowing error")
    ax1.xaxis.set_minor_formatter(NullFormatter())
    one = _first(ds, ["t", "imbalance"])
    t = one["t"].values
    for j, s in enumerate(one["imbalance"].values):
        ax2.semilogy(t, np.maximum(one["shadow_err"].sel(imbalance=s).values, 1e-17), color=f"C{j}", lw=1.2)
    ax2.semilogy(t, np.maximum(one["shadow_err_balanced"].values, 1e-17), color="k", lw=1.2, label="balanced start")
    ax2.set(xlabel="$t$", ylabel=r"$\Vert X_{full}(t) - X_{red}(t)\Vert / \max\Vert X_{red}\Vert$")
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def fig_entropy(ds) -> Figure:
    """MY Theorem 4: closed-form log-volume of O_X against the Gram determinant, and S_N along a curve.

    ``ds`` is ``results/entropy.nc`` (dims d, N, field, seed, sample, s). Left: numerical against closed
    form (both without the constant (N-1) log c_d), one marker per sample. Middle: the absolute difference.
    Right: S_N - k_d log N along sigma = (s, 1, ..., 1) for each depth, and the infinite-depth limit.
    """
    fig, (ax1, ax2, ax3) = _figure(3, width=3.9, height=3.6)
    markers = "osD^v<>"
    for j, case in enumerate(_cases(ds, ["d", "N", "field"])):
        one = _first(ds.sel(case), ["sample", "s"])
        st = FIELD_STYLE.get(str(case.get("field", "real")), {})
        lab = f"d={case.get('d')}, N={case.get('N')}, {case.get('field')}"
        ax1.plot(one["S_closed"].values, one["S_gram"].values, markers[j % 7], ms=4, color=f"C{j % 10}", label=lab)
        ax2.semilogy(
            np.full(one.sizes["sample"], j), np.maximum(one["abs_err"].values, 1e-17), "o", ms=4, color=st.get("color")
        )
    lo = float(min(ds["S_closed"].min(), ds["S_gram"].min()))
    hi = float(max(ds["S_closed"].max(), ds["S_gram"].max()))
    ax1.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax1.set(xlabel="closed form (MY Thm 4)", ylabel=r"$\frac{1}{2}\log\det$ Gram (numerical)")
    ax1.legend(fontsize=6)
    cases = _cases(ds, ["d", "N", "field"])
    ax2.set_xticks(range(len(cases)))
    ax2.set_xticklabels([f"{c.get('d')},{c.get('N')},{str(c.get('field'))[0]}" for c in cases], fontsize=7, rotation=60)
    ax2.set(xlabel="case (d, N, field)", ylabel="|numerical - closed form|")
    # the curve: largest d, real if present
    sub = ds.sel(d=ds["d"].max()) if "d" in ds.dims else ds
    if "field" in sub.dims:
        sub = sub.sel(field="real" if "real" in sub["field"].values else sub["field"].values[0])
    for j, N in enumerate(sub["N"].values if "N" in sub.dims else [None]):
        one = _first(sub.sel(N=N) if N is not None else sub, ["s"])
        ax3.plot(one["s"].values, one["S_curve_rescaled"].values, color=f"C{j}", lw=1.2, label=f"$N = {N}$")
        if j == len(sub["N"].values) - 1:
            ax3.plot(one["s"].values, one["S_curve_inf"].values, "k--", lw=1.0, label=r"$N \to \infty$")
    ax3.set(
        xscale="log",
        xlabel=r"$s$ in $\sigma = (s, 1, \dots, 1)$",
        ylabel=r"$S_N - (N-1)\log c_d - k_d\log N$",
    )
    ax3.legend(fontsize=7)
    for ax in (ax1, ax2, ax3):
        ax.grid(alpha=0.3)
    return fig


def _phase_portrait(ax, one, title: str | None = None) -> None:
    s1, s2 = one["sigma1"].values, one["sigma2"].values
    speed = one["speed"].values
    ax.streamplot(
        s1, s2, one["u1"].values, one["u2"].values, color=np.log10(np.maximum(speed, 1e-12)), cmap="viridis",
        density=1.1, linewidth=0.8, arrowsize=0.8,
    )  # fmt: skip
    traj = one["trajectory"].values  # (start, t, i)
    for k in range(traj.shape[0]):
        ax.plot(traj[k, :, 0], traj[k, :, 1], color="C3", lw=1.4)
        ax.plot(traj[k, 0, 0], traj[k, 0, 1], "o", color="C3", ms=3.5, mfc="white")
    top = float(max(s1.max(), s2.max()))
    ax.plot([0, top], [0, top], "k--", lw=0.9)
    ss = float(one["sigma_star"])
    ax.plot([ss], [ss], "*", color="gold", mec="k", ms=13, zorder=6)
    ax.set(xlim=(0, top), ylim=(0, top), aspect="equal", xlabel=r"$\sigma_1$", ylabel=r"$\sigma_2$")
    if title:
        ax.set_title(title, fontsize=9)


def _panel_title(one) -> str:
    return f"$N={int(one['N'])}$, $p={float(one['p']):g}$, $\\beta={float(one['beta']):g}$"


def fig_ckm_1(ds, N: int = 10, p: float = 2.0, beta: float = 5.0) -> Figure:
    """CKM Figure 1: phase portrait of sigma' = -grad_{g^N} F_beta for d = 2, E = (1/p) sum sigma_i^p.

    ``ds`` is ``results/free_energy.nc``. The panel (N, p, beta) = (10, 2, 5) of CKM is used when present,
    else the first panel. Left: streamlines (colour: log10 speed), computed trajectories (red), the diagonal
    (dashed) and the equilibrium (star). Right: sigma_i(t) along the trajectories, with sigma_star.
    """
    sel = {}
    for key, val in (("N", N), ("p", p), ("beta", beta)):
        if key in ds.dims:
            sel[key] = val if val in ds[key].values else ds[key].values[0]
    one = _first(ds.sel(sel), ["sigma1", "sigma2", "start", "t", "i", "mode", "t_exact"])
    fig, (ax1, ax2) = _figure(2, width=4.6, height=4.3)
    _phase_portrait(ax1, one, _panel_title(one))
    t = one["t"].values
    traj = one["trajectory"].values
    for k in range(traj.shape[0]):
        for i in range(traj.shape[2]):
            ax2.plot(t, traj[k, :, i], color=f"C{i}", lw=1.0, alpha=0.8)
    for i in range(traj.shape[2]):
        ax2.plot([], [], color=f"C{i}", label=f"$\\sigma_{i + 1}(t)$")
    ax2.axhline(float(one["sigma_star"]), color="k", ls="--", lw=1.0, label=r"$\sigma_\star$")
    ax2.set(xlabel="$t$", ylabel="singular values")
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    return fig


def fig_free_energy_panels(ds) -> Figure:
    """Phase portraits of the free-energy flow for every (N, p, beta) panel of ``results/free_energy.nc``."""
    cases = _cases(ds, ["N", "p", "beta"])
    ncols = min(3, len(cases))
    nrows = int(np.ceil(len(cases) / ncols))
    fig, axes = _figure(ncols, nrows=nrows, width=3.4, height=3.4)
    for ax, case in zip(axes, cases, strict=False):
        one = _first(ds.sel(case), ["sigma1", "sigma2", "start", "t", "i", "mode", "t_exact"])
        _phase_portrait(ax, one, _panel_title(one))
    for ax in axes[len(cases) :]:
        ax.set_visible(False)
    return fig


def _runs(da, keep: str = "t") -> np.ndarray:
    """``da`` as a 2-D array (keep, every other combination)."""
    other = [d for d in da.dims if d != keep]
    return da.transpose(keep, *other).values.reshape(da.sizes[keep], -1)


def fig_regularizing_flow(ds) -> Figure:
    """LM Theorem 2 over the sweep: errors of G(t) = G_0 e^{-2t}, drift of X, and |W(t)|^2 -> N sum sigma^{2/N}.

    ``ds`` is ``results/regularizing_flow.nc`` (dims N, d, field, seed, (start), t).
    """
    fig, (ax1, ax2, ax3) = _figure(3, width=3.9, height=3.5)
    t = ds["t"].values
    floor = 1e-17
    for field in _fields(ds):
        sub = ds.sel(field=field) if "field" in ds.dims else ds
        st = FIELD_STYLE.get(field, {})
        color = st.get("color")
        ax1.semilogy(t, np.maximum(_runs(sub["G_rel_err"]), floor), color=color, lw=0.8, alpha=0.6)
        ax2.semilogy(t, np.maximum(_runs(sub["X_drift"]), floor), color=color, lw=0.8, alpha=0.6)
        excess = (sub["W_sqnorm"] - sub["W_sqnorm_limit"]) / sub["W_sqnorm_limit"]
        ex = _runs(excess)
        ax3.semilogy(t, np.maximum(ex / ex[:1], floor), color=color, lw=0.8, alpha=0.6)
        for ax in (ax1, ax2, ax3):
            ax.plot([], [], color=color, label=field)
    ax3.semilogy(t, np.exp(-4 * t), "k--", lw=1.0, label="$e^{-4t}$")
    ax1.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t) - \mathbf{G}_0e^{-2t}\Vert / \Vert\mathbf{G}_0e^{-2t}\Vert$")
    ax2.set(xlabel="$t$", ylabel=r"$\Vert X(t) - X_0\Vert / \Vert X_0\Vert$")
    ax3.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{W}(t)\Vert^2 - N\sum_i\sigma_i^{2/N}$ (normalized)")
    for ax in (ax1, ax2, ax3):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def fig_kirwan_ness(ds) -> Figure:
    """LM Theorem 10, eq. (2.31), Corollary 1: the Kirwan-Ness flow over the sweep.

    Left: |G(t)| (log scale), dashed for rank-deficient starts. Right: the ratio
    (d/dt |G|^2/2) / |w_G|^2 where it is accurate, against -4 (corrected) and -2 (printed).
    ``ds`` is ``results/kirwan_ness.nc`` (dims N, d, field, seed, start, t).
    """
    fig, (ax1, ax2) = _figure(2, width=4.6, height=3.6)
    t = ds["t"].values
    starts = [str(s) for s in ds["start"].values] if "start" in ds.dims else ["gaussian"]
    for start in starts:
        sub = ds.sel(start=start) if "start" in ds.dims else ds
        ls = "--" if start != "gaussian" else "-"
        for field in _fields(sub):
            one = sub.sel(field=field) if "field" in sub.dims else sub
            color = FIELD_STYLE.get(field, {}).get("color")
            ax1.semilogy(t, np.maximum(_runs(one["G_norm"]), 1e-17), color=color, ls=ls, lw=0.9, alpha=0.7)
            ratio = _runs(one["energy_ratio"])
            valid = _runs(one["energy_ratio_valid"]).astype(bool)
            ax2.plot(np.broadcast_to(t[:, None], ratio.shape)[valid], ratio[valid], ".", ms=2.5, color=color)
            ax1.plot([], [], color=color, ls=ls, label=f"{field}, {start.replace('_', '-')}")
    ax2.axhline(-4.0, color="k", lw=1.0, label="corrected: $-4$")
    ax2.axhline(-2.0, color="C3", lw=1.0, ls=":", label="printed (2.31): $-2$")
    ax1.set(xlabel="$t$", ylabel=r"$\Vert\mathbf{G}(t)\Vert$")
    ax2.set(
        xlabel="$t$",
        ylabel=r"$\frac{d}{dt}\frac{1}{2}\Vert\mathbf{G}\Vert^2 \,/\, \Vert\mathbf{w}_{\mathbf{G}}\Vert^2$",
        ylim=(-5, -1),
    )
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def fig_learning_flow(ds) -> Figure:
    """LM eq. 1.2, LM-Cons, LM-Inv and Remark 5 over the sweep of ``results/learning_flow.nc``.

    Left: |G(t)| from balanced starts and |G(t) - G_0|/|G_0| from Gaussian starts (both ~ round-off).
    Middle: |X_learning(t) - X_end_to_end(t)| / |X_end_to_end(t)| (Remark 5). Right: singular values of
    the end-to-end flow for E = sum sigma^2/2 (lines) against the closed form (dots), first run.
    """
    fig, (ax1, ax2, ax3) = _figure(3, width=3.9, height=3.5)
    t = ds["t"].values
    floor = 1e-17
    for field in _fields(ds):
        sub = ds.sel(field=field) if "field" in ds.dims else ds
        color = FIELD_STYLE.get(field, {}).get("color")
        ax1.semilogy(t, np.maximum(_runs(sub["G_balanced"]), floor), color=color, lw=0.9, alpha=0.7)
        ax1.semilogy(t, np.maximum(_runs(sub["G_drift"]), floor), color=color, lw=0.9, ls=":", alpha=0.9)
        ax2.semilogy(t, np.maximum(_runs(sub["X_rem5_err"]), floor), color=color, lw=0.9, alpha=0.7)
        ax1.plot([], [], color=color, label=f"{field}: $\\Vert\\mathbf{{G}}(t)\\Vert$, balanced start")
        ax1.plot([], [], color=color, ls=":", label=f"{field}: drift of $\\mathbf{{G}}$, Gaussian start")
        ax2.plot([], [], color=color, label=field)
    one = _first(ds, ["t", "i"])
    for i in range(one.sizes["i"]):
        ax3.plot(t, one["sv_flow"].isel(i=i).values, color=f"C{i}", lw=1.2)
        ax3.plot(t[::3], one["sv_pred"].isel(i=i).values[::3], "o", color=f"C{i}", ms=3.5)
    ax3.plot([], [], color="k", lw=1.2, label="end-to-end flow")
    ax3.plot([], [], "o", color="k", ms=3.5, label=r"$\dot\sigma_i = -N\sigma_i^{2-2/N}\sigma_i$ (closed form)")
    ax1.set(xlabel="$t$", ylabel="moments (absolute / relative)")
    ax2.set(xlabel="$t$", ylabel=r"$\Vert X_{learn}(t) - X_{e2e}(t)\Vert / \Vert X_{e2e}(t)\Vert$")
    ax3.set(xlabel="$t$", ylabel=r"singular values $\sigma_i(t)$")
    for ax in (ax1, ax2, ax3):
        ax.legend(fontsize=6.5)
        ax.grid(alpha=0.3)
    return fig
