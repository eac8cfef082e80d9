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
    ds = restamp(
        ds,
        config={**_config_attr(ds), **params},
        history=history or f"snakemake rule {family}: dln.experiments.{family}.simulate({params!r}) -> {output}",
    )
    try:
        write_netcdf(ds, output)
    except Exception as exc:
        raise DLNError(f"{ctx}: writing {output} failed ({type(exc).__name__}: {exc})") from exc
    logger.info(f"done {ctx} in {time.monotonic() - t0:.2f} s -> {output}")


def run_aggregate(family: str, inputs: list[str], output: str, config: dict, log_path: str | None) -> None:
    """Read every job file of a family, ``aggregate`` them, check, restamp and write atomically."""
    from dln import DLNError
    from dln.experiments._conventions import check_metadata, read_netcdf, restamp, write_netcdf

    logger = get_logger(log_path, f"{family}_aggregate")
    ctx = f"rule {family}_aggregate"
    logger.info(f"{ctx}: reading {len(inputs)} job file(s)")
    t0 = time.monotonic()
    datasets = [read_netcdf(p) for p in inputs]
    module = experiment_module(family)
    try:
        ds = module.aggregate(datasets)
        check_metadata(ds, ctx)
    except DLNError as exc:
        msg = str(exc) if str(exc).startswith(ctx) else f"{ctx}: {exc}"
        logger.error(msg)
        raise type(exc)(msg) from exc
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
