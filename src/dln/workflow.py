"""Helpers shared by the Snakemake rules and scripts of the dln workflow (and by the tests).

Kept free of Snakemake imports so that ``tests/`` can import it directly:
config validation with clear messages, the expansion of a family's sweep into
jobs, and the two job bodies (``run_simulate``, ``run_aggregate``) that the thin
scripts ``simulate.py`` and ``aggregate.py`` call.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import itertools
import json
import logging
import math
import os
import time
from pathlib import Path

#: Every family with a dataset (dln.experiments.FAMILIES), in the order of the book.
ALL_FAMILIES = (
    "fibers",
    "lm_figures",
    "regularizing_flow",
    "kirwan_ness",
    "schatten",
    "learning_flow",
    "fast_slow",
    "langevin",
    "posterior",
    "entropy",
    "free_energy",
)

#: The families configured by sweeps in config/*.yaml: every family but lm_figures (one fixed job, its own rule).
#: ``dln.experiments.<family>`` exposes ``simulate(params) -> Dataset``, ``aggregate(list) -> Dataset`` and
#: ``DEFAULT_PARAMS``.
FAMILIES = tuple(f for f in ALL_FAMILIES if f != "lm_figures")

#: The package holding the experiment modules. Tests point it at toy modules with
#: the environment variable ``DLN_EXPERIMENTS_PACKAGE``; nothing else should.
EXPERIMENTS_PACKAGE = os.environ.get("DLN_EXPERIMENTS_PACKAGE", "dln.experiments")

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """An invalid workflow configuration; the message names the key and the allowed values."""


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
def load_schema(path: str | os.PathLike = SCHEMA_PATH) -> dict:
    import yaml

    with open(path) as fh:
        return yaml.safe_load(fh)


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _resolve(schema: dict, root: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        node = root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _allowed(schema: dict, root: dict) -> str:
    """A short human description of what a schema node allows."""
    s = _resolve(schema, root)
    if not isinstance(s, dict):
        return "anything"
    if "enum" in s:
        return "one of " + ", ".join(json.dumps(v) for v in s["enum"])
    if "const" in s:
        return json.dumps(s["const"])
    typ = s.get("type", "")
    if typ == "array":
        inner = _allowed(s.get("items", {}), root)
        bits = [f"a list of {inner}"]
        if "minItems" in s:
            bits.append(f"at least {s['minItems']} item(s)")
        if s.get("uniqueItems"):
            bits.append("no duplicates")
        return ", ".join(bits)
    if typ == "object":
        props = sorted(s.get("properties", {}))
        return "a mapping with keys " + ", ".join(props) if props else "a mapping"
    bits = [typ if isinstance(typ, str) else " or ".join(typ)]
    for key, word in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in s:
            bits.append(f"{word} {s[key]}")
    if "pattern" in s:
        bits.append(f"matching {s['pattern']}")
    return " ".join(bits)


def config_errors(config: dict, schema: dict | None = None) -> list[str]:
    """All schema violations of ``config``, each a message naming the key and the allowed values."""
    import jsonschema

    schema = load_schema() if schema is None else schema
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = _key_path(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
            for name in extra:
                where = f"{key}.{name}" if err.absolute_path else name
                messages.append(f"config key {where!r} is not allowed; allowed keys here: {', '.join(allowed)}")
            continue
        if err.validator == "required":
            messages.append(f"config key {key!r}: {err.message}")
            continue
        desc = _resolve(err.schema, schema).get("description", "") if isinstance(err.schema, dict) else ""
        allowed = _allowed(err.schema, schema)
        msg = f"config key {key!r}: {err.message}; allowed: {allowed}"
        if desc:
            msg += f" ({desc.strip()})"
        messages.append(msg)
    return messages


def yaml_error(path: str | os.PathLike) -> str | None:
    """The syntax error of a YAML config file, naming the file, line and column (None if it parses).

    Snakemake reports only that a config file "is not valid JSON or YAML"; ``run.sh`` calls this first."""
    import yaml

    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        return f"{path}: cannot be read ({exc.strerror})"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        what = "; ".join(x for x in (exc.context, exc.problem) if x)
        return f"{where}: {what}"
    except yaml.YAMLError as exc:
        return f"{path}: {exc}"
    if not isinstance(data, dict):
        return f"{path}: the config must be a mapping (keys families, figures, ledger, book), not {type(data).__name__}"
    return None


def validate_config(config: dict, schema: dict | None = None) -> None:
    """Raise :class:`ConfigError` listing every invalid key of ``config`` (no-op if valid)."""
    errors = config_errors(config, schema)
    if errors:
        raise ConfigError("invalid workflow configuration:\n  - " + "\n  - ".join(errors))


# --------------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------------
def _param_schema(family: str, section: str, key: str, schema: dict) -> dict:
    fam = _resolve(schema["properties"]["families"]["properties"][family], schema)
    sec = _resolve(fam["properties"][section], schema)
    prop = _resolve(sec["properties"][key], schema)
    if section == "sweep":
        prop = _resolve(prop.get("items", {}), schema)
    return prop


def _normalize(value, prop: dict):
    """Cast values whose schema type is "number" to float, so that ``T: 5`` and ``T: 5.0`` are one job."""
    if prop.get("type") == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def format_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"parameter value {value!r} is not finite")
        return repr(value)
    return str(value)


def job_id(point: dict) -> str:
    """The file stem of one job: ``key=value`` pairs of the swept parameters, comma-separated."""
    return ",".join(f"{k}={format_value(v)}" for k, v in point.items())


def normalized_family_config(family: str, family_config: dict, schema: dict | None = None) -> dict:
    """``{"sweep": ..., "fixed": ...}`` with every "number" parameter as a float (``5`` -> ``5.0``)."""
    schema = load_schema() if schema is None else schema
    sweep = dict(family_config.get("sweep", {}))
    fixed = dict(family_config.get("fixed", {}))
    sweep = {k: [_normalize(v, _param_schema(family, "sweep", k, schema)) for v in vals] for k, vals in sweep.items()}
    fixed = {k: _normalize(v, _param_schema(family, "fixed", k, schema)) for k, v in fixed.items()}
    return {"sweep": sweep, "fixed": fixed}


def expand_jobs(
    family: str, family_config: dict, schema: dict | None = None, defaults: dict | None = None
) -> dict[str, dict]:
    """Map job id -> full parameter dict: ``defaults`` (the module's ``DEFAULT_PARAMS``),
    overridden by the ``fixed`` parameters, overridden by one point of the sweep's cartesian product.

    The job id names only the swept parameters; the order of jobs follows the config file.
    Resolving the defaults here puts every parameter into the rule's ``params``, so a
    changed default reruns the jobs (Snakemake's ``params`` rerun trigger).
    """
    norm = normalized_family_config(family, family_config, schema)
    sweep, fixed = norm["sweep"], norm["fixed"]
    overlap = sorted(set(sweep) & set(fixed))
    if overlap:
        raise ConfigError(
            f"config key 'families.{family}': parameter(s) {overlap} appear in both 'sweep' and 'fixed'; "
            "allowed: each parameter in one of them"
        )
    defaults = dict(defaults or {})
    unknown = sorted((set(sweep) | set(fixed)) - set(defaults)) if defaults else []
    if unknown:
        raise ConfigError(
            f"config key 'families.{family}': parameter(s) {unknown} are not parameters of "
            f"{EXPERIMENTS_PACKAGE}.{family}; allowed: {', '.join(defaults)}"
        )
    jobs: dict[str, dict] = {}
    keys = list(sweep)
    for combo in itertools.product(*(sweep[k] for k in keys)):
        point = dict(zip(keys, combo, strict=True))
        jobs[job_id(point)] = {**defaults, **fixed, **point}
    return jobs


# --------------------------------------------------------------------------------------------
# size and sense: checked before any job, after the schema
# --------------------------------------------------------------------------------------------
#: Limits of one configuration, each overridable on purpose by its environment variable: (default, what).
LIMITS: dict[str, tuple[float, str]] = {
    "DLN_MAX_JOBS_PER_FAMILY": (2000, "the number of jobs of this family (the product of its sweep's lengths)"),
    "DLN_MAX_JOBS": (5000, "the number of jobs of all families together"),
    "DLN_MAX_JOB_MEMORY_GB": (8.0, "the estimated memory of one job's largest arrays (GB)"),
}


def limit(name: str) -> float:
    """The limit ``name`` of :data:`LIMITS`: its environment variable if set, else the default."""
    default, _ = LIMITS[name]
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a number") from None
    if not value > 0:
        raise ConfigError(f"environment variable {name}={raw!r} must be positive")
    return value


def _over(name: str, value: float, where: str) -> str:
    _, what = LIMITS[name]
    return (
        f"config key {where!r}: {what} is {value:,.6g}, above the limit {limit(name):,.6g} "
        f"(set {name} to allow more on purpose)"
    )


def nonfinite_errors(node, path: str = "") -> list[str]:
    """Every NaN or infinite number of a configuration, named by its key."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += nonfinite_errors(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += nonfinite_errors(v, f"{path}[{i}]")
    elif isinstance(node, float) and not math.isfinite(node):
        out.append(f"config key {path!r}: {node!r} is not a finite number; allowed: finite numbers")
    return out


def job_count(family_config: dict) -> int:
    """The number of jobs of a family's sweep (the product of its lists' lengths), without expanding it."""
    return math.prod(len(v) if isinstance(v, list) else 1 for v in family_config.get("sweep", {}).values())


def job_memory_bytes(p: dict) -> float:
    """Order-of-magnitude estimate of the largest arrays one job holds, in bytes (16 per complex entry).

    The largest of: an ensemble of layer tuples (``N d^2`` entries times the number of paths, chains, samples,
    starts or seeds), saved trajectories of layer tuples (``N d^2`` times the saved times, per seed), and a
    two-dimensional grid of ``n_grid^2`` fields (free energy)."""
    layers = 16.0 * p.get("N", 1) * p.get("d", 1) ** 2
    batch = max([1, *(p.get(k, 1) for k in ("n_paths", "n_chains", "n_samples", "n_starts", "n_seeds"))])
    times = max([1, *(p.get(k, 1) for k in ("n_save", "n_t"))])
    grid = 16.0 * p.get("n_grid", 1) ** 2 * p.get("d", 1) ** 2
    return max(layers * batch, layers * times * p.get("n_seeds", 1), grid)


def _where(family: str, family_config: dict, key: str) -> str:
    section = "sweep" if key in family_config.get("sweep", {}) else "fixed"
    return f"families.{family}.{section}.{key}"


#: Rules between parameters of one job: (family, the keys, the rule as text, the test).
CROSS_RULES = [
    ("langevin", ("dt", "T"), "dt < T", lambda p: p["dt"] < p["T"]),
    (
        "langevin",
        ("n_save", "T", "dt"),
        "n_save <= T/dt + 1 (no more saved times than steps)",
        lambda p: p["n_save"] <= round(p["T"] / p["dt"]) + 1,
    ),
    (
        "fast_slow",
        ("imbalance_min", "imbalance_max"),
        "imbalance_min <= imbalance_max",
        lambda p: p["imbalance_min"] <= p["imbalance_max"],
    ),
    (
        "fast_slow",
        ("imbalance_min", "imbalance_max", "n_imbalance"),
        "imbalance_min < imbalance_max when n_imbalance > 1",
        lambda p: p["n_imbalance"] == 1 or p["imbalance_min"] < p["imbalance_max"],
    ),
]


def sense_errors(family: str, family_config: dict, jobs: dict[str, dict]) -> list[str]:
    """Per-job memory above :func:`limit` and violated :data:`CROSS_RULES`, each naming the key (first job only)."""
    out = []
    mem_limit = limit("DLN_MAX_JOB_MEMORY_GB") * 1e9
    for job, p in jobs.items():
        est = job_memory_bytes(p)
        if est > mem_limit:
            keys = [
                k
                for k in (
                    "n_paths",
                    "n_chains",
                    "n_samples",
                    "n_starts",
                    "n_seeds",
                    "n_save",
                    "n_t",
                    "n_grid",
                    "N",
                    "d",
                )
                if k in family_config.get("sweep", {}) or k in family_config.get("fixed", {})
            ]
            where = _where(family, family_config, keys[0]) if keys else f"families.{family}"
            out.append(_over("DLN_MAX_JOB_MEMORY_GB", est / 1e9, where) + f" (job {job or family})")
            break
    for fam, keys, text, ok in CROSS_RULES:
        if fam != family:
            continue
        for job, p in jobs.items():
            if all(k in p for k in keys) and not ok(p):
                vals = ", ".join(f"{k} = {p[k]!r}" for k in keys)
                out.append(
                    f"config key {_where(family, family_config, keys[0])!r}: {vals} breaks {text} (job {job or family})"
                )
                break
    return out


def check_config(config: dict, schema: dict | None = None) -> dict[str, dict[str, dict]]:
    """Validate a configuration completely before any job: the schema, finite numbers, the number of jobs per
    family and in total, each job's memory estimate and the rules between parameters. Returns the jobs of
    every configured family (``{family: {job id: params}}``); raises :class:`ConfigError` listing every
    problem, each naming its key."""
    schema = load_schema() if schema is None else schema
    errors = config_errors(config, schema) + nonfinite_errors(config)
    if errors:
        raise ConfigError("invalid workflow configuration:\n  - " + "\n  - ".join(errors))
    families = {f: c for f, c in config["families"].items() if f in ALL_FAMILIES}
    counts = {f: job_count(c) for f, c in families.items()}
    for f, n in counts.items():
        if n > limit("DLN_MAX_JOBS_PER_FAMILY"):
            errors.append(_over("DLN_MAX_JOBS_PER_FAMILY", n, f"families.{f}.sweep"))
    if not errors and sum(counts.values()) > limit("DLN_MAX_JOBS"):
        errors.append(_over("DLN_MAX_JOBS", sum(counts.values()), "families"))
    if errors:
        raise ConfigError("invalid workflow configuration:\n  - " + "\n  - ".join(errors))
    jobs = {}
    for f, c in families.items():
        jobs[f] = expand_jobs(f, c, schema, defaults=default_params(f))
        errors += sense_errors(f, c, jobs[f])
    if errors:
        raise ConfigError("invalid workflow configuration:\n  - " + "\n  - ".join(errors))
    return jobs


# --------------------------------------------------------------------------------------------
# code versions: a rerun trigger for the jobs whose code changed
# --------------------------------------------------------------------------------------------
SCRIPTS = Path(__file__).resolve().parent


@functools.cache
def _sources():
    """``dln._sources`` loaded from its file, without importing ``dln`` (it uses the standard library only)."""
    spec = importlib.util.find_spec("dln")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the dln package is not installed: run `bash run.sh all` (it installs it)")
    path = Path(next(iter(spec.submodule_search_locations))) / "_sources.py"
    mod_spec = importlib.util.spec_from_file_location("_dln_sources", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def module_path(family: str) -> Path:
    """The source file of a family's experiment module (found without importing it)."""
    src = _sources()
    if EXPERIMENTS_PACKAGE == "dln.experiments":
        return src.PACKAGE_ROOT / "experiments" / f"{family}.py"
    spec = importlib.util.find_spec(f"{EXPERIMENTS_PACKAGE}.{family}")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"experiment module {EXPERIMENTS_PACKAGE}.{family} does not exist")
    return Path(spec.origin)


@functools.cache
def family_code(family: str) -> str:
    """Version of the code a family's jobs run: a hash of the source of its module's import closure inside
    ``dln`` (``dln._sources``) and of the job scripts. A rule parameter (evaluated for the jobs that are
    scheduled), so editing a module reruns exactly the families that use it."""
    scripts = [SCRIPTS / "dlnwf.py", SCRIPTS / "simulate.py", SCRIPTS / "lm_figures.py"]
    return _sources().code_hash(module_path(family), *scripts)


@functools.cache
def step_code(script: str) -> str:
    """Version of the code of a step that reads the datasets (``ledger.py``, ``book_assets.py``, ``plot.py``):
    the script's import closure inside ``dln`` and every family module (read by name at run time)."""
    modules = []
    for family in ALL_FAMILIES:
        try:
            modules.append(module_path(family))
        except RuntimeError:  # a test package that has only some of the families
            continue
    return _sources().code_hash(SCRIPTS / script, *modules)


@functools.cache
def figure_code(family: str) -> str:
    """Version of the code of a family's overview figure: ``plot.py``'s import closure and the family's module."""
    return _sources().code_hash(SCRIPTS / "plot.py", module_path(family))


def default_params(family: str) -> dict:
    """``DEFAULT_PARAMS`` of a family's module (raises a clear error if the module is missing)."""
    return dict(getattr(experiment_module(family), "DEFAULT_PARAMS", {}))


def experiment_module(family: str):
    """Import ``dln.experiments.<family>`` (or the test package), with a clear error if absent."""
    name = f"{EXPERIMENTS_PACKAGE}.{family}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise RuntimeError(
                f"experiment module {name!r} does not exist: family {family!r} has no simulate() yet"
            ) from exc
        raise


# --------------------------------------------------------------------------------------------
# job bodies
# --------------------------------------------------------------------------------------------
def get_logger(log_path: str | os.PathLike | None, name: str) -> logging.Logger:
    logger = logging.getLogger(f"dln.workflow.{name}")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    logger.propagate = False
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(log_path, mode="w")
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    return logger


class Progress:
    """A progress callback: ``progress(fraction, message="")`` logs percent done and ETA, at most every ``every`` s.

    Experiment functions that accept a ``progress`` keyword get one of these.
    """

    def __init__(self, logger: logging.Logger, label: str, every: float = 2.0):
        self.logger, self.label, self.every = logger, label, every
        self.start = time.monotonic()
        self.last = -math.inf

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        fraction = min(max(float(fraction), 0.0), 1.0)
        if now - self.last < self.every and fraction < 1.0:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed * (1.0 - fraction) / fraction if fraction > 0 else float("nan")
        eta_s = f"{eta:.1f} s" if math.isfinite(eta) else "unknown"
        self.logger.info(
            f"{self.label}: {100 * fraction:5.1f}% done, elapsed {elapsed:.1f} s, ETA {eta_s}"
            + (f" ({message})" if message else "")
        )


class Heartbeat:
    """While a job runs, log a line every ``every`` seconds unless the experiment reports progress itself.

    Experiments whose ``simulate`` takes no ``progress`` callback still show that they are alive
    (elapsed time; the ETA is unknown without a fraction done).
    """

    def __init__(self, logger: logging.Logger, label: str, progress: Progress, every: float = 10.0):
        import threading

        self.logger, self.label, self.progress, self.every = logger, label, progress, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self.progress.last == -math.inf:  # the experiment never reported progress
                elapsed = time.monotonic() - self.progress.start
                self.logger.info(f"{self.label}: running, elapsed {elapsed:.0f} s, ETA unknown (no progress reported)")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=1)
        return False


def _config_attr(ds) -> dict:
    """The dataset's ``config`` attribute as a dict (empty if absent or not a JSON object)."""
    try:
        cfg = json.loads(ds.attrs.get("config", "{}"))
    except ValueError:
        return {}
    return cfg if isinstance(cfg, dict) else {}


def context_of(family: str, params: dict) -> str:
    return f"rule {family} params {json.dumps(params, sort_keys=True, default=str)}"


def run_simulate(family: str, params: dict, output: str, log_path: str | None, history: str = "") -> None:
    """One job: ``simulate(params)``, check, restamp provenance, write atomically.

    Raises :class:`dln.DLNError` whose message starts with ``rule <family> params {...}``
    on NaN/Inf, divergence or invalid parameters.
    """
    from dln import DLNError
    from dln.experiments._conventions import check_metadata, restamp, write_netcdf

    logger = get_logger(log_path, family)
    ctx = context_of(family, params)
    logger.info(f"start {ctx} -> {output}")
    t0 = time.monotonic()
    module = experiment_module(family)
    progress = Progress(logger, family)
    heartbeat = Heartbeat(logger, family, progress)
    try:
        sig = inspect.signature(module.simulate)
        with heartbeat:
            if "progress" in sig.parameters:
                ds = module.simulate(dict(params), progress=progress)
            else:
                ds = module.simulate(dict(params))
        check_metadata(ds, ctx)
    except DLNError as exc:
        msg = str(exc) if str(exc).startswith(ctx) else f"{ctx}: {exc}"
        logger.error(msg)
        raise type(exc)(msg) from exc
    except Exception:
        logger.exception(f"{ctx}: failed")  # the traceback reaches the job's log
        raise
    ds = restamp(
        ds,
        config={**_config_attr(ds), **params},
        history=history or f"snakemake rule {family}: dln.experiments.{family}.simulate({params!r}) -> {output}",
    )
    try:
        write_netcdf(ds, output, checksum=True)
    except Exception as exc:
        logger.exception(f"{ctx}: writing {output} failed")
        raise DLNError(f"{ctx}: writing {output} failed ({type(exc).__name__}: {exc})") from exc
    logger.info(f"done {ctx} in {time.monotonic() - t0:.2f} s -> {output}")


def run_aggregate(family: str, inputs: list[str], output: str, config: dict, log_path: str | None) -> None:
    """Read every job file of a family, ``aggregate`` them, check, restamp and write atomically."""
    from dln import DLNError
    from dln.experiments._conventions import check_metadata, read_netcdf, restamp, verify_checksum, write_netcdf

    logger = get_logger(log_path, f"{family}_aggregate")
    ctx = f"rule {family}_aggregate"
    logger.info(f"{ctx}: reading {len(inputs)} job file(s)")
    t0 = time.monotonic()
    try:
        for p in inputs:  # every job file's data against the checksum written with them
            verify_checksum(p, rule=family)
        datasets = [read_netcdf(p) for p in inputs]
        module = experiment_module(family)
        ds = module.aggregate(datasets)
        check_metadata(ds, ctx)
    except DLNError as exc:
        msg = str(exc) if str(exc).startswith(ctx) else f"{ctx}: {exc}"
        logger.error(msg)
        raise type(exc)(msg) from exc
    except Exception:
        logger.exception(f"{ctx}: failed")
        raise
    ds = restamp(
        ds,
        config={**_config_attr(ds), "family": family, "workflow": config},
        history=f"{os.environ.get('DLN_WORKFLOW_COMMAND', 'snakemake')} (rule {family}_aggregate, "
        f"{family}.aggregate of {len(inputs)} jobs, output {output})",
    )
    try:
        write_netcdf(ds, output)
    except Exception as exc:
        raise DLNError(f"{ctx}: writing {output} failed ({type(exc).__name__}: {exc})") from exc
    logger.info(f"{ctx}: wrote {output} in {time.monotonic() - t0:.2f} s")


if __name__ == "__main__":  # run.sh, before Snakemake: `dlnwf.py check-yaml FILE`, `dlnwf.py verify-jobs RESULTS`
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "verify-jobs":  # run.sh: damaged job files are removed, then rerun
        from dln import DLNError
        from dln.experiments._conventions import verify_checksum

        bad = 0
        for path in sorted(Path(sys.argv[2]).glob("*/jobs/*.nc")):
            try:
                verify_checksum(path, rule=path.parent.parent.name)
            except DLNError as exc:
                print(f"[run.sh] removing a damaged job file (it will be rerun): {exc}", file=sys.stderr)
                path.unlink()
                bad += 1
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "check-yaml":
        error = yaml_error(sys.argv[2])
        if error:
            print(f"invalid config file {error}", file=sys.stderr)
        sys.exit(2 if error else 0)
    print("usage: dlnwf.py check-yaml FILE | verify-jobs RESULTS", file=sys.stderr)
    sys.exit(2)
