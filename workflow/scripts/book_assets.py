"""Render the book's figures and numbers from the workflow's datasets (Snakemake rule ``book_assets``).

Reads ``<results>/<family>.nc`` for every family the book shows and ``<results>/ledger.json``, and
writes into ``<out>`` (``book/_generated``):

- ``figures/<name>.png``: every figure of the book (Matplotlib, Agg), drawn by :mod:`dln.plotting`;
- ``numbers.json``: every number quoted in the prose, as MyST substitutions (``{{ name }}`` in a page),
  plus one provenance string per dataset (rule, file, commit from the dataset's ``source`` attribute);
- ``ledger_table.md``, ``errata_list.md``, ``ledger_summary.md``: Markdown included by the ledger and
  errata pages.

The book builder never runs a simulation: it only renders what this script wrote. Run by the Snakemake
rule ``book_assets``, or by hand::

    python workflow/scripts/book_assets.py --results results --out book/_generated
"""

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from dln import plotting  # noqa: E402
from dln.experiments._conventions import read_netcdf  # noqa: E402

#: Every dataset family the book reads (the Snakemake rule declares exactly these as inputs).
FAMILIES = [
    "regularizing_flow",
    "kirwan_ness",
    "learning_flow",
    "schatten",
    "fast_slow",
    "langevin",
    "posterior",
    "entropy",
    "free_energy",
]

#: Book pages (file stems under book/) and the ledger-ID prefixes they discuss.
PAGES = {
    "index": "Overview",
    "dln_fibers": "The DLN, fibers and moments",
    "regularizing_flow": "The regularizing flow",
    "kirwan_ness": "The Kirwan-Ness flow",
    "minimum_principles": "Minimum principles",
    "learning_flow": "The learning flow and g^N",
    "fast_slow": "Fast-slow training",
    "noise": "Noise",
    "posterior": "The posterior",
    "entropy": "Entropy",
    "entropic_regularization": "Entropic regularization",
    "ledger": "Theorem ledger",
    "errata": "Errata",
    "reproducibility": "Reproducibility",
}
PAGE_ALIASES = {"langevin": "noise", "free_energy": "entropic_regularization", "schatten": "minimum_principles"}
ID_TO_PAGE = {
    "LM-Thm2": "regularizing_flow",
    "LM-Rem9": "regularizing_flow",
    "LM-Thm10": "kirwan_ness",
    "LM-(2.31)": "kirwan_ness",
    "LM-Cor1": "kirwan_ness",
    "LM-Thm1": "minimum_principles",
    "LM-Thm20": "minimum_principles",
    "LM-p1": "minimum_principles",
    "LM-Rem5": "learning_flow",
    "MY-metric": "learning_flow",
    "LM-4.1": "fast_slow",
    "LM-4.2": "noise",
    "LM-4.3": "posterior",
    "NUM-EM-order": "noise",
}
PREFIX_TO_PAGE = {"MY": "entropy", "CKM": "entropic_regularization", "LM": "dln_fibers", "NUM": "dln_fibers"}


def page_of(row: dict) -> str:
    """The book page (file stem) that discusses a ledger row: its ``page`` field, else by ID."""
    page = str(row.get("page") or "").strip()
    if page:
        page = Path(page).name
        page = re.sub(r"\.(md|ipynb|html)$", "", page)
        page = PAGE_ALIASES.get(page, page)
        if page in PAGES:
            return page
    rid = str(row["id"])
    if rid in ID_TO_PAGE:
        return ID_TO_PAGE[rid]
    return PREFIX_TO_PAGE.get(rid.split("-")[0], "ledger")


def fmt(x, digits: int = 3) -> str:
    """A number as Markdown: ``$m \\times 10^{e}$`` for small or large magnitudes, plain otherwise."""
    if x is None:
        return "n/a"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        mant, exp = f"{x:.{digits - 1}e}".split("e")
        return f"${mant} \\times 10^{{{int(exp)}}}$"
    if abs(x) >= 10**digits:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def fmt_fixed(x, decimals: int = 4) -> str:
    return f"{float(x):.{decimals}f}"


def math_md(text: str) -> str:
    """A one-line LaTeX statement as inline MyST math (left alone if it already has ``$``)."""
    text = str(text).strip()
    if not text:
        return ""
    if "$" in text:
        return text
    return f"${text}$"


def commit_of(ds) -> str:
    """The commit named in a dataset's ``source`` attribute (``dln X (git commit SHA)``)."""
    src = str(ds.attrs.get("source", ""))
    m = re.search(r"commit ([0-9a-fA-F]{7,40}(?:-dirty)?|unknown)", src)
    if m is None:
        return "unknown"
    sha = m.group(1)
    return sha[:12] + ("-dirty" if sha.endswith("-dirty") and len(sha) > 18 else "")


def ledger_rows(data) -> list[dict]:
    """The entries of ledger.json: a list of rows, or a dict holding one (e.g. under "entries")."""
    if isinstance(data, list):
        return data
    for key in ("entries", "checks", "rows", "ledger"):
        if isinstance(data.get(key), list):
            return data[key]
    for value in data.values():
        if isinstance(value, list) and value and isinstance(value[0], dict) and "id" in value[0]:
            return value
    raise ValueError("ledger.json: no list of entries found")


class Assets:
    """Collects numbers and figures; one instance per run."""

    def __init__(self, results: Path, out: Path):
        self.results = results
        self.out = out
        self.figdir = out / "figures"
        self.figdir.mkdir(parents=True, exist_ok=True)
        self.numbers: dict[str, str] = {}
        self.figures: list[str] = []

    def dataset(self, family: str):
        path = self.results / f"{family}.nc"
        ds = read_netcdf(path)
        self.numbers[f"prov_{family}"] = self.provenance(family, ds)
        self.numbers[f"commit_{family}"] = f"`{commit_of(ds)}`"
        return ds

    def provenance(self, *pairs) -> str:
        """``provenance(rule1, ds1, rule2, ds2, ...)``: the caption line naming rules, files and commits."""
        items = [
            f"rule `{rule}`, file `results/{rule}.nc`, commit `{commit_of(ds)}`"
            for rule, ds in zip(pairs[::2], pairs[1::2], strict=True)
        ]
        return "Data: " + "; ".join(items) + "; plotted by rule `book_assets` with `dln.plotting`."

    def num(self, name: str, value, digits: int = 3) -> None:
        self.numbers[name] = value if isinstance(value, str) else fmt(value, digits)

    def save(self, fig, name: str) -> None:
        path = self.figdir / f"{name}.png"
        fig.savefig(path, dpi=110)
        self.figures.append(name)
        import matplotlib.pyplot as plt

        plt.close(fig)


# --------------------------------------------------------------------------------------------
# Ledger and errata
# --------------------------------------------------------------------------------------------


def _error_note(row: dict) -> str:
    """For a failed entry, the first line of its error (escaped for Markdown), else nothing."""
    err = str(row.get("error") or "").strip()
    if row.get("status") != "fail" or not err:
        return ""
    line = err.splitlines()[0][:200]
    line = re.sub(r"([\\`*_{}\[\]<>|$#])", r"\\\1", line)
    return f" (error: {line})"


def ledger_assets(a: Assets, rows: list[dict]) -> None:
    status_counts = {s: sum(r["status"] == s for r in rows) for s in ("pass", "erratum", "fail")}
    a.num("ledger_n", len(rows))
    for s, n in status_counts.items():
        a.num(f"ledger_n_{s}", n)
    badge = {"pass": "pass", "erratum": "erratum", "fail": "**FAIL**"}
    lines = [
        "::::{list-table} Every entry of the ledger; pass when the measured value is at most the tolerance.",
        ":header-rows: 1",
        ":name: ledger-table",
        ":class: dln-ledger",
        ":widths: 12 9 10 10 59",
        "",
        "* - ID",
        "  - Status",
        "  - Measured",
        "  - Tolerance",
        "  - Statement",
    ]
    for r in rows:
        page = page_of(r)
        lines += [
            f"* - {{doc}}`{r['id']} <{page}>`",
            f"  - {badge.get(r['status'], r['status'])}",
            f"  - {fmt(r['measured'])}",
            f"  - {fmt(r['tolerance'])}",
            f"  - {math_md(r['statement'])}{_error_note(r)}",
        ]
    lines.append("::::")
    (a.out / "ledger_table.md").write_text("\n".join(lines) + "\n")

    # Per-page ledger excerpts: each page lists the entries it discusses.
    by_page: dict[str, list[dict]] = {}
    for r in rows:
        by_page.setdefault(page_of(r), []).append(r)
    for page in PAGES:
        prs = by_page.get(page, [])
        if not prs:
            text = "No ledger entry is attached to this page.\n"
        else:
            lines = [
                "::::{list-table}",
                ":header-rows: 1",
                ":class: dln-ledger",
                ":widths: 12 9 10 10 59",
                "",
                "* - ID",
                "  - Status",
                "  - Measured",
                "  - Tolerance",
                "  - Statement (source)",
            ]
            for r in prs:
                lines += [
                    f"* - {{doc}}`{r['id']} <ledger>`",
                    f"  - {badge.get(r['status'], r['status'])}",
                    f"  - {fmt(r['measured'])}",
                    f"  - {fmt(r['tolerance'])}",
                    f"  - {math_md(r['statement'])} ({r['source']}){_error_note(r)}",
                ]
            lines.append("::::")
            text = "\n".join(lines)
        (a.out / f"ledger_{page}.md").write_text(text + "\n")

    errata = [r for r in rows if r["status"] == "erratum"]
    a.num("errata_n", len(errata))
    out = []
    for r in errata:
        out += [
            f"## {r['id']}",
            "",
            f"*Source:* {r['source']}. *Discussed on:* {{doc}}`{page_of(r)}`.",
            "",
            ":::{list-table}",
            ":header-rows: 1",
            ":class: dln-erratum",
            ":widths: 14 56 15 15",
            "",
            "* - ",
            "  - Statement",
            "  - Residual",
            "  - Tolerance",
            "* - Printed",
            f"  - {math_md(r.get('printed_statement') or '(not recorded)')}",
            f"  - {fmt(r.get('printed'))}",
            f"  - {fmt(r['tolerance'])}",
            "* - Corrected",
            f"  - {math_md(r['statement'])}",
            f"  - {fmt(r['measured'])}",
            f"  - {fmt(r['tolerance'])}",
            ":::",
            "",
            f"*Measured:* {r['measures']}",
            "",
        ]
    if not errata:
        out = ["The ledger records no erratum."]
    (a.out / "errata_list.md").write_text("\n".join(out) + "\n")


# --------------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------------


def provenance_assets(a: Assets, datasets: dict) -> None:
    lines = [
        "::::{list-table} The datasets read by this build (global attributes of each file).",
        ":header-rows: 1",
        ":name: provenance-table",
        ":widths: 16 30 14 18 22",
        "",
        "* - File",
        "  - Title",
        "  - Commit",
        "  - Created",
        "  - Dimensions",
    ]
    for family, ds in datasets.items():
        dims = ", ".join(f"{k} = {v}" for k, v in ds.sizes.items())
        lines += [
            f"* - `results/{family}.nc`",
            f"  - {ds.attrs.get('title', '')}",
            f"  - {a.numbers[f'commit_{family}']}",
            f"  - {ds.attrs.get('date_created', '')}",
            f"  - {dims}",
        ]
    lines.append("::::")
    (a.out / "provenance_table.md").write_text("\n".join(lines) + "\n")


def _list(values) -> str:
    return ", ".join(fmt(v) for v in values)


def family_schatten(a: Assets, ds) -> None:
    a.save(plotting.fig_schatten(ds), "schatten_gap")
    a.save(plotting.fig_schatten_hessian(ds), "schatten_hessian")
    gap = np.abs(ds["best_rel_gap"])
    a.num("schatten_p_values", _list(ds["p"].values))
    a.num("schatten_fields", " and ".join(str(f) for f in ds["field"].values))
    a.num("schatten_N_values", _list(ds["N"].values))
    a.num("schatten_d_values", _list(ds["d"].values))
    a.num("schatten_n_cases", int(gap.size))
    a.num("schatten_n_restarts", int(ds.sizes["restart"]))
    a.num("schatten_max_gap", float(gap.max()))
    a.num("schatten_max_gap_all", float(np.abs(ds["rel_gap"]).max()))
    a.num("schatten_max_G", float(ds["best_G_rel"].max()))
    a.num("schatten_max_spread", float(ds["spread"].max()))
    a.num("schatten_max_Xerr", float(ds["X_err"].max()))
    match = ds["hessian_nullity"] == ds["orbit_dimension"]
    a.num("schatten_nullity_match", int(match.sum()))
    if 1.0 in ds["p"].values:
        p1 = ds.sel(p=1.0)
        a.num("schatten_p1_max_gap", float(np.abs(p1["best_rel_gap"]).max()))
        a.num("schatten_p1_max_G", float(p1["best_G_rel"].max()))
        a.num("schatten_p1_nullity_match", int((p1["hessian_nullity"] == p1["orbit_dimension"]).sum()))
        a.num("schatten_p1_n_cases", int(p1["best_rel_gap"].size))
    a.numbers["prov_schatten_figs"] = a.numbers["prov_schatten"]


def _rng(da) -> str:
    lo, hi = float(np.min(da)), float(np.max(da))
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)} to {fmt(hi)}"


def family_fast_slow(a: Assets, ds) -> None:
    a.save(plotting.fig_fast_slow_scales(ds), "fast_slow_scales")
    a.save(plotting.fig_fast_slow_shadowing(ds), "fast_slow_shadowing")
    a.num("fs_kappa_values", _list(ds["kappa"].values))
    a.num("fs_losses", " and ".join(str(v) for v in ds["loss"].values))
    a.num("fs_n_imbalance", int(ds.sizes["imbalance"]))
    a.num("fs_G0_range", _rng(ds["G0_norm"]))
    a.num("fs_G_rel_err_max", float(ds["G_rel_err_max"].max()))
    rel_rate = np.abs(ds["G_decay_rate"] / ds["rate_balancing"] - 1)
    a.num("fs_rate_rel_err_max", float(rel_rate.max()))
    a.num("fs_shadow_balanced_max", float(ds["shadow_max_balanced"].max()))
    a.num("fs_shadow_range", _rng(ds["shadow_max"]))
    a.num("fs_t_balance_range", _rng(ds["t_balance"]))
    a.num("fs_rate_learning_range", _rng(ds["rate_learning"]))
    a.num("fs_rate_balancing_range", _rng(ds["rate_balancing"]))


def family_langevin(a: Assets, ds) -> None:
    a.save(plotting.fig_noise_mean_G(ds), "noise_mean_G")
    a.save(plotting.fig_noise_stationary(ds), "noise_stationary")
    n_ens = int(np.prod([ds.sizes[d] for d in ds["G_proj"].dims if d != "t"]))
    a.num("noise_n_ensembles", n_ens)
    a.num("noise_kappa_values", _list(ds["kappa"].values))
    a.num("noise_beta_values", _list(ds["beta"].values))
    a.num("noise_losses", " and ".join(str(v) for v in ds["loss"].values))
    a.num("noise_z_proj_max", float(ds["z_max_proj"].max()), 2)
    a.num("noise_z_mean_G_max", float(ds["z_max_mean_G"].max()), 2)
    if "coord_var_em" in ds and "none" in ds["loss"].values:
        ou = ds.sel(loss="none")
        ou = ou.where(ou["kappa"] > 0, drop=True)
        v_T = ou["coord_var"].isel(t=-1)
        se_T = ou["coord_var_se"].isel(t=-1)
        em_T = ou["coord_var_em"].isel(t=-1)
        a.num("noise_var_z_max", float((np.abs(v_T - em_T) / se_T).max()), 2)
        beta_kappa = ou["beta"] * ou["kappa"]
        # at the final time T, the exact OU variance is (1 - e^{-2 kappa T}) / (beta kappa)
        ratio = v_T / ou["coord_var_exact"].isel(t=-1)
        a.num("noise_var_ratio_range", _rng(ratio))
        printed = v_T * 2 * beta_kappa / (1 - np.exp(-2 * ou["kappa"] * float(ou["t"][-1])))
        a.num("noise_var_printed_ratio_range", _rng(printed))
        a.num("noise_T", float(ou["t"][-1]))
        z2 = ou["G2_z"].isel(t=slice(1, None)).max("t")
        a.num("noise_G2_z_max", float(z2.max()), 2)


def family_posterior(a: Assets, ds) -> None:
    a.save(plotting.fig_posterior(ds), "posterior")
    a.num("post_beta_values", _list(ds["beta"].values))
    a.num("post_fields", " and ".join(str(v) for v in ds["field"].values))
    a.num("post_N_values", _list(ds["N"].values))
    a.num("post_d_values", _list(ds["d"].values))
    a.num("post_ess_min", float(ds["EG2_ess"].min()), 3)
    a.num("post_accept_range", _rng(ds["accept"]))
    if "EG2_slope" in ds:
        a.num("post_slope_range", _rng(ds["EG2_slope"]))
    bmax = ds.sel(beta=ds["beta"].max())
    a.num("post_beta_max", float(bmax["beta"]))
    a.num("post_laplace_ratio_range", _rng(bmax["EG2"] / bmax["EG2_laplace"]))
    if "EG2_quadrature" in ds:
        q = ds["EG2_quadrature"]
        ok = q > 0
        if bool(ok.any()):
            z = (np.abs(ds["EG2"] - q) / ds["EG2_se"]).where(ok)
            a.num("post_quad_z_max", float(z.max()), 2)


def lm_figure_assets(a: Assets, lm) -> None:
    """LM Figures 1.1-1.3 from results/lm_figures.nc (and results/regularizing_flow.nc for Fig. 1.2)."""
    a.save(plotting.fig_1_1(lm), "lm_fig_1_1")
    a.save(plotting.fig_1_3(lm), "lm_fig_1_3")
    a.numbers["prov_fig_1_1"] = a.provenance("lm_figures", lm)
    a.numbers["prov_fig_1_3"] = a.provenance("lm_figures", lm)
    w1, w2 = lm["reg_w1"], lm["reg_w2"]
    a.num("lm_reg_fiber_drift", float(np.abs(w1 * w2 - lm["reg_x"]).max()))
    g = np.abs(w1**2 - w2**2)
    a.num("lm_reg_G_ratio", float((g.isel(t_reg=-1) / g.isel(t_reg=0)).max()))
    a.num("lm_reg_T", float(lm["t_reg"][-1]))
    a.num("lm_reg_exp", float(np.exp(-2 * float(lm["t_reg"][-1]))))
    l1, l2 = lm["learn_w1"], lm["learn_w2"]
    a.num("lm_learn_G_drift", float(np.abs(l1**2 - l2**2 - lm["learn_G0"]).max()))
    x_bal = l1.isel(learn_traj=0) * l2.isel(learn_traj=0)
    a.num("lm_learn_x_err", float(np.abs(x_bal - lm["x_reduced"]).max()))
    a.num("lm_x_target", float(lm["x_target"]))
    a.save(plotting.fig_1_2(lm), "lm_fig_1_2")
    a.numbers["prov_fig_1_2"] = a.provenance("lm_figures", lm)
    Gn = lm["G_norm"]
    t = lm["t_reg"]
    rel = np.abs(Gn / Gn.isel(t_reg=0) * np.exp(2 * t) - 1)
    a.num("lm_G_rel_err", float(rel.max()))
    slope = np.polyfit(t.values, np.log(Gn.values.reshape(t.size, -1)), 1)[0]
    a.num("lm_G_slope_dev", float(np.max(np.abs(slope + 2))))


def family_entropy(a: Assets, ds) -> None:
    a.save(plotting.fig_entropy(ds), "entropy")
    a.num("ent_d_values", _list(ds["d"].values))
    a.num("ent_N_values", _list(ds["N"].values))
    a.num("ent_fields", " and ".join(str(v) for v in ds["field"].values))
    a.num("ent_n_samples", int(ds["abs_err"].size))
    a.num("ent_max_err", float(ds["abs_err"].max()))
    a.num("ent_inf_dev_max", float(np.abs(ds["inf_depth_dev"]).max()))
    a.num("ent_N_max", int(ds["N"].max()))


def family_free_energy(a: Assets, ds) -> None:
    a.save(plotting.fig_ckm_1(ds), "ckm_fig_1")
    a.save(plotting.fig_free_energy_panels(ds), "free_energy_panels")
    want = {"N": 10, "p": 2.0, "beta": 5.0}
    sel = {k: (v if v in ds[k].values else ds[k].values[0]) for k, v in want.items()}
    one = ds.sel(sel)
    a.num("ckm_fig1_params", f"({int(sel['N'])}, {float(sel['p']):g}, {float(sel['beta']):g})")
    a.num("ckm_fig1_sigma_star", float(one["sigma_star"].values.ravel()[0]), 6)
    a.num("ckm_fig1_final_err", float(one["trajectory_final_err"].max()))
    a.num("ckm_fig1_r1", float(one["r1"].values.ravel()[0]), 9)
    a.num("ckm_fig1_rperp", float(one["rperp"].values.ravel()[0]), 9)
    panels = [
        f"({int(n)}, {float(p):g}, {float(b):g})"
        for n in ds["N"].values
        for p in ds["p"].values
        for b in ds["beta"].values
    ]
    a.num("fe_panels", "; ".join(panels))
    a.num("fe_n_panels", len(panels))
    a.num("fe_d_values", _list(ds["d"].values))
    a.num("fe_final_err_max", float(ds["trajectory_final_err"].max()))
    a.num("fe_F_increase_max", float(ds["free_energy_max_increase"].max()))
    a.num("fe_diag_err_max", float(ds["diagonal_err"].max()))
    a.num("fe_rate_err_max", float(ds["rate_rel_err"].max()))


def _sweep(ds, keys) -> str:
    parts = []
    for k in keys:
        if k in ds.dims:
            vals = ds[k].values
            txt = ", ".join(str(v) for v in vals) if vals.dtype.kind in "OUS" else _list(vals)
            parts.append(f"{k} = {txt}")
    return "; ".join(parts)


def family_regularizing_flow(a: Assets, ds) -> None:
    a.save(plotting.fig_regularizing_flow(ds), "regularizing_flow_errors")
    a.num("reg_sweep", _sweep(ds, ["N", "d", "field", "seed", "start"]))
    a.num("reg_n_runs", int(ds["decay_rate"].size))
    a.num("reg_T", float(ds["t"][-1]))
    a.num("reg_rate_range", _rng(ds["decay_rate"]), 8)
    rate = ds["decay_rate"]
    a.num("reg_rate_dev_max", float(np.abs(rate - 2).max()))
    a.num("reg_rate_se_max", float(ds["decay_rate_se"].max()))
    a.num("reg_G_rel_err_max", float(ds["G_rel_err_max"].max()))
    a.num("reg_X_drift_max", float(ds["X_drift_max"].max()))
    excess = (ds["W_sqnorm"].isel(t=-1) - ds["W_sqnorm_limit"]) / ds["W_sqnorm_limit"]
    a.num("reg_W_excess_max", float(np.abs(excess).max()))


def family_kirwan_ness(a: Assets, ds) -> None:
    a.save(plotting.fig_kirwan_ness(ds), "kirwan_ness")
    a.num("kn_sweep", _sweep(ds, ["N", "d", "field", "seed", "start"]))
    a.num("kn_T", float(ds["t"][-1]))
    a.num("kn_X_drift_max", float(ds["X_drift_max"].max()))
    a.num("kn_ratio_err_max", float(ds["energy_ratio_err_max"].max()))
    starts = [str(v) for v in ds["start"].values] if "start" in ds.dims else ["gaussian"]
    g = ds.sel(start="gaussian") if "start" in ds.dims else ds
    a.num("kn_G_final_gauss", float(g["G_final"].max()))
    a.num("kn_sv_err_gauss", float(g["sv_error_max"].max()))
    a.num("kn_rate_gauss", _rng(g["late_decay_rate"]))
    if "rank_deficient" in starts:
        r = ds.sel(start="rank_deficient")
        a.num("kn_G_final_rd", _rng(r["G_final"]))
        a.num("kn_rate_rd", _rng(r["late_decay_rate"]))
    else:
        a.num("kn_G_final_rd", "n/a (no rank-deficient start in this configuration)")
        a.num("kn_rate_rd", "n/a")


def family_learning_flow(a: Assets, ds) -> None:
    a.save(plotting.fig_learning_flow(ds), "learning_flow")
    a.num("lf_sweep", _sweep(ds, ["N", "d", "field", "seed"]))
    a.num("lf_T", float(ds["t"][-1]))
    a.num("lf_G_balanced_max", float(ds["G_balanced_max"].max()))
    a.num("lf_G_drift_max", float(ds["G_drift_max"].max()))
    a.num("lf_rem5_max", float(ds["X_rem5_err_max"].max()))
    a.num("lf_sv_err_max", float(ds["sv_err_max"].max()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Render the book's figures and numbers from the workflow's datasets.")
    ap.add_argument("--results", default=os.environ.get("DLN_RESULTS", "results"), help="results directory")
    ap.add_argument("--out", default="book/_generated", help="output directory")
    ap.add_argument(
        "--allow-missing",
        action="store_true",
        help="development only: skip families whose dataset is missing (the book build then fails under -W)",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    a = Assets(Path(args.results), Path(args.out))
    rows = ledger_rows(json.loads((a.results / "ledger.json").read_text()))
    ledger_assets(a, rows)
    datasets = {}
    for family in FAMILIES:
        if args.allow_missing and not (a.results / f"{family}.nc").exists():
            print(f"book_assets: skipping {family} (no dataset)", file=sys.stderr)
            continue
        datasets[family] = ds = a.dataset(family)
        globals()[f"family_{family}"](a, ds)
    lm = read_netcdf(a.results / "lm_figures.nc")
    lm_figure_assets(a, lm)
    a.numbers["commit_lm_figures"] = f"`{commit_of(lm)}`"
    provenance_assets(a, {**datasets, "lm_figures": lm})
    (a.out / "numbers.json").write_text(json.dumps(a.numbers, indent=1, sort_keys=True) + "\n")
    print(
        f"book_assets: {len(a.figures)} figures, {len(a.numbers)} numbers in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    return 0


if "snakemake" in globals():  # run by the Snakemake rule `book_assets` (script: directive)
    with open(snakemake.log[0], "w") as _log:
        sys.stderr = _log
        main(
            ["--results", str(Path(snakemake.input.ledger).parent), "--out", str(Path(snakemake.output.numbers).parent)]
        )
elif __name__ == "__main__":
    sys.exit(main())
