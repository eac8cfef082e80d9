"""Structure of the book's figures (each family's ``FIGURES``, drawn by :func:`dln.figures.draw` with the toolkit
:mod:`dln.plotting`), drawn from small sweeps simulated in memory.

Checks what a reader relies on: every series has a legend entry or a colour bar, legends sit outside the data,
values that colour encodes have a labelled colour bar, Monte Carlo estimates have a residual panel in
standard errors, and every text of a figure is legible when the image is shown at the book's column width
(about 850 CSS px): font size (pt) x 850 / (72 x figure width in inches) >= 10 px. The figures of every
family are also checked on ``results/<family>.nc`` when the workflow has written it.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from dln import plotting  # noqa: E402
from dln._errors import DLNError  # noqa: E402
from dln.experiments import NAMES, family_module, run_sweep  # noqa: E402
from dln.experiments import free_energy as free_energy_family  # noqa: E402
from dln.figures import DPI, FIGURES, draw  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Width of the book's text column (CSS px) and the smallest legible text at that width (CSS px).
COLUMN_PX, MIN_TEXT_PX = 850, 10.0


# ------------------------------------------------------------------------------------------------ datasets


@pytest.fixture(scope="module")
def fast_slow():
    return run_sweep(
        "fast_slow",
        {
            "sweep": {"kappa": [0.3, 1.1], "loss": ["quadratic", "completion"], "field": ["real", "complex"]},
            "fixed": {"N": 3, "d": 2, "seed": 0, "T": 1.0, "n_t": 11, "n_imbalance": 2, "rtol": 1e-6},
        },
    )


@pytest.fixture(scope="module")
def fast_slow_long():
    """A kappa sweep too long for one legend entry per value."""
    kappas = [0.1 * k for k in range(1, plotting.MAX_COLOR_ENTRIES + 2)]
    return run_sweep(
        "fast_slow",
        {
            "sweep": {"kappa": kappas},
            "fixed": {"N": 3, "d": 2, "seed": 0, "loss": "quadratic", "field": "real", "T": 1.0, "n_t": 6}
            | {"n_imbalance": 2, "rtol": 1e-6},
        },
    )


@pytest.fixture(scope="module")
def langevin():
    return run_sweep(
        "langevin",
        {
            "sweep": {"kappa": [1.0, 2.0], "loss": ["none", "quadratic"]},
            "fixed": {"N": 3, "d": 2, "beta": 4.0, "field": "real", "seed": 0, "dt": 0.01, "T": 1.0}
            | {"n_paths": 200, "n_save": 5},
        },
    )


@pytest.fixture(scope="module")
def entropy():
    return run_sweep(
        "entropy",
        {
            "sweep": {"d": [2, 3], "N": [2, 3], "field": ["real", "complex"]},
            "fixed": {"seed": 0, "n_samples": 2, "n_points": 10, "n_curve": 11},
        },
    )


@pytest.fixture(scope="module")
def free_energy():
    return run_sweep(
        "free_energy",
        {
            "sweep": {"field": ["real", "complex"], "beta": [1.0, 5.0]},
            "fixed": {"N": 4, "p": 2.0, "d": 2, "seed": 0, "n_grid": 7, "n_starts": 2, "T": 10.0, "n_t": 11}
            | {"n_exact": 5},
        },
    )


# ------------------------------------------------------------------------------------------------ helpers


def _draw(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _legends(f) -> list:
    """Every figure-level legend of ``f`` and of its subfigures."""
    return list(f.legends) + [leg for s in f.subfigs for leg in _legends(s)]


def _entries(fig) -> list[str]:
    return [t.get_text() for leg in _legends(fig) for t in leg.get_texts()]


def _colorbars(fig) -> list:
    return [ax._colorbar for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]


def _smallest_text_px(fig) -> tuple[float, str]:
    """The smallest visible text of ``fig`` in CSS px at the column width, and that text."""
    _draw(fig)
    scale = COLUMN_PX / (72.0 * fig.get_figwidth())
    sizes = [
        (t.get_fontsize() * scale, t.get_text())
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_window_extent().width > 0
    ]
    return min(sizes)


def _patch_y(patch) -> list[float]:
    """The y coordinates (data units for a horizontal span) of the corners of a patch."""
    xy = patch.get_patch_transform().transform(patch.get_path().vertices)
    return [round(float(y), 9) for y in xy[:, 1]]


def _check_legends_outside_data(fig) -> None:
    renderer = _draw(fig)
    # an axes may hold a legend only when it is a legend's place (no axis, no data)
    assert all(ax.get_legend() is None or not ax.axison for ax in fig.axes), "a legend is drawn inside an axes"
    for leg in _legends(fig):
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_visible() and ax.axison:
                assert not box.overlaps(ax.bbox), f"a legend ({leg.get_texts()[0].get_text()!r}) overlaps an axes"


def _check_labels(fig) -> None:
    """Every axes with tick labels has an axis label on that axis."""
    _draw(fig)
    for ax in fig.axes:
        if not (ax.get_visible() and ax.axison):
            continue
        for name, labels, label in (
            ("x", ax.get_xticklabels(), ax.get_xlabel()),
            ("y", ax.get_yticklabels(), ax.get_ylabel()),
        ):
            if any(t.get_visible() and t.get_text() for t in labels):
                assert label, f"axes {ax.get_title()!r} has {name} tick labels but no {name} label"


# ------------------------------------------------------------------------------------------------ the registry


def test_every_figure_is_drawn_by_a_function_of_its_family_module():
    """dln.figures.FIGURES gathers the families' FIGURES in book order; each figure's drawing function is defined in
    its family's module, and its source (the book's link to the code) is that module's file at the function."""
    assert list(FIGURES) == [name for family in NAMES for name in family_module(family).FIGURES]
    for name, fig in FIGURES.items():
        module = family_module(fig.family)
        assert module.FIGURES[name] is fig.function
        assert fig.module == module.__name__ and getattr(module, fig.qualname) is fig.function
        assert fig.dotted_name == f"{module.__name__}.{fig.qualname}"
        path, line = fig.source()
        assert path == f"src/dln/experiments/{fig.family}.py", (name, path)
        assert (ROOT / path).read_text().splitlines()[line - 1].startswith(f"def {fig.qualname}("), (name, line)


def test_a_figure_listed_twice_or_figures_not_a_dict_is_an_error(monkeypatch):
    from dln import figures

    entropy = family_module("entropy")
    monkeypatch.setattr(entropy, "FIGURES", {**entropy.FIGURES, "posterior": entropy.fig_entropy})
    with pytest.raises(DLNError, match="figure 'posterior' is listed by the families 'posterior' and 'entropy'"):
        figures._figures()
    monkeypatch.setattr(entropy, "FIGURES", ("entropy",))
    with pytest.raises(DLNError, match="FIGURES of family 'entropy' must map each figure's name"):
        figures._figures()


def test_importing_the_family_modules_loads_no_matplotlib():
    """The simulation jobs import the family modules: importing every one in a fresh interpreter, FIGURES included,
    leaves Matplotlib and dln.plotting out of sys.modules (the drawing functions import them when they run)."""
    code = "\n".join(
        [
            "import importlib, sys",
            "from dln.experiments import NAMES",
            "assert NAMES",
            "for name in NAMES:",
            "    assert importlib.import_module(f'dln.experiments.{name}').FIGURES is not None",
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib' or m == 'dln.plotting'))",
        ]
    )
    env = {k: v for k, v in os.environ.items() if k != "DLN_EXPERIMENTS_PACKAGE"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout


# ------------------------------------------------------------------------------------------------ tests


def test_shadowing_every_series_has_a_legend_entry_outside_the_data(fast_slow):
    fig = draw("fast_slow_shadowing", fast_slow)
    entries = _entries(fig)
    for k in fast_slow["kappa"].values:
        assert any(plotting.num(k) in e and "kappa" in e for e in entries), (k, entries)
    for f in ("real", "complex"):
        assert any(e.startswith(f) for e in entries), (f, entries)
    n_levels = fast_slow.sizes["imbalance"]
    assert sum("mathbf{G}_0" in e and "=" in e for e in entries) >= n_levels
    # one panel per loss and one over time
    assert len([ax for ax in fig.axes if ax.get_visible()]) == fast_slow.sizes["loss"] + 1
    _check_legends_outside_data(fig)
    _check_labels(fig)


def test_shadowing_series_differ_in_colour_or_style(fast_slow):
    fig = draw("fast_slow_shadowing", fast_slow)
    for ax in fig.axes[: fast_slow.sizes["loss"]]:
        styles = [
            (matplotlib.colors.to_hex(ln.get_color()), ln.get_linestyle(), ln.get_marker(), str(ln.get_mfc()))
            for ln in ax.get_lines()
            if ln.get_marker() not in ("None", None, "")
        ]
        n_series = fast_slow.sizes["kappa"] * fast_slow.sizes["field"] * fast_slow.sizes["N"]
        assert len(styles) == n_series and len(set(styles)) == n_series, styles


def test_shadowing_long_sweep_gets_a_colour_bar(fast_slow_long):
    fig = draw("fast_slow_shadowing", fast_slow_long)
    bars = _colorbars(fig)
    assert len(bars) == 1 and "kappa" in bars[0].ax.get_ylabel()
    assert len(bars[0].get_ticks()) == fast_slow_long.sizes["kappa"]
    _check_legends_outside_data(fig)


def test_shadowing_is_deterministic(fast_slow):
    def png() -> bytes:
        buf = io.BytesIO()
        draw("fast_slow_shadowing", fast_slow).savefig(buf, dpi=DPI, format="png", metadata={"Software": None})
        return buf.getvalue()

    assert png() == png()


def test_entropy_legends_name_every_series(entropy):
    fig = draw("entropy", entropy)
    entries = _entries(fig)
    for d in entropy["d"].values:
        assert f"$d = {int(d)}$" in entries
    for N in entropy["N"].values:
        assert f"$N = {int(N)}$" in entries
    assert {"real", "complex"} <= set(entries)
    assert len(_legends(fig)) == 2
    _check_legends_outside_data(fig)
    _check_labels(fig)


@pytest.mark.parametrize("name", ["ckm_fig_1", "free_energy_panels"])
def test_phase_portraits_have_a_labelled_colour_bar(free_energy, name):
    fig = draw(name, free_energy)
    bars = _colorbars(fig)
    assert len(bars) == 1
    label = bars[0].ax.get_ylabel()
    assert "log_{10}" in label and "speed" in label and "per unit time" in label
    lo, hi = bars[0].norm.vmin, bars[0].norm.vmax
    assert np.isfinite(lo) and np.isfinite(hi) and lo < hi
    _check_legends_outside_data(fig)
    _check_labels(fig)


def test_speed_range_ignores_the_vanishing_speed_at_an_equilibrium(free_energy):
    cases = free_energy_family._portraits(free_energy)
    lo, hi, _ = free_energy_family._speed_range(free_energy, cases)
    sp = np.log10(plotting.pos(free_energy["speed"].values))
    sp = sp[np.isfinite(sp)]
    assert np.percentile(sp, 0.5) <= lo <= np.percentile(sp, 2.0) and hi == pytest.approx(sp.max())


@pytest.mark.parametrize("name", ["noise_mean_G", "noise_stationary"])
def test_noise_figures_have_residual_panels_in_standard_errors(langevin, name):
    fig = draw(name, langevin)
    resid = [ax for ax in fig.axes if ax.get_ylabel().endswith("/ SE")]
    n_top = langevin.sizes["loss"] if name == "noise_mean_G" else 2
    assert len(resid) == n_top
    for ax in resid:
        lo, hi = ax.get_ylim()
        assert lo <= -4 and hi >= 4 and lo == -hi
        shaded = [p for p in ax.patches if np.allclose(sorted(set(_patch_y(p))), [-3.0, 3.0])]
        assert shaded, "no shaded band |residual| <= 3"
        data = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
        assert data and all(np.isfinite(np.asarray(ln.get_ydata(), dtype=float)).all() for ln in data)
        ys = np.concatenate([np.asarray(ln.get_ydata(), dtype=float) for ln in data])
        assert np.all(np.abs(ys) <= hi)
    assert any("standard errors" in e for e in _entries(fig))
    _check_legends_outside_data(fig)
    _check_labels(fig)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("fast_slow_shadowing", "fast_slow"),
        ("fast_slow_shadowing", "fast_slow_long"),
        ("entropy", "entropy"),
        ("ckm_fig_1", "free_energy"),
        ("free_energy_panels", "free_energy"),
        ("noise_mean_G", "langevin"),
        ("noise_stationary", "langevin"),
    ],
)
def test_text_is_legible_at_the_column_width(name, data, request):
    fig = draw(name, request.getfixturevalue(data))
    px, text = _smallest_text_px(fig)
    assert px >= MIN_TEXT_PX, f"{name}: {text!r} is {px:.1f} px at {COLUMN_PX} px"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FIGURES))
def test_book_figure_text_and_labels_on_the_workflow_data(name, book_build):
    """Every book figure, drawn from the workflow's ``results/<family>.nc`` (the book's build: the repository's
    when current, else the CI configuration's run)."""
    path = book_build["results"] / f"{FIGURES[name].family}.nc"
    assert path.exists(), path
    from dln.experiments._conventions import read_netcdf
    from dln.figures import draw

    fig = draw(name, read_netcdf(path))
    px, text = _smallest_text_px(fig)
    assert px >= MIN_TEXT_PX, f"{name}: {text!r} is {px:.1f} px at {COLUMN_PX} px"
    _check_labels(fig)
    _check_legends_outside_data(fig)
