#!/usr/bin/env bash
# One entry point for a fresh machine (Python >= 3.11 and the package registries).
#
#   bash run.sh all    set up, then run the whole workflow: simulations, ledger, book (after a hard-killed
#                      run: its stale lock and temporary files are removed, its incomplete jobs rerun)
#   bash run.sh test   set up, then run the test suite (what CI runs)
#
# Set-up is idempotent: a virtual environment in .venv with the package and its
# extras; for `test`, also the Debian packages the checks need (udunits2 for the CF
# checker, Chromium for the book's browser test, SLURM + munge for the scale-out
# test) when running as root with apt-get. Options: CORES (default 2), CONFIG (workflow config
# file, default config/config.yaml), VENV (default .venv), DLN_UNLOCKED=1 (install the newest
# versions allowed by pyproject.toml instead of requirements.lock).
#
#   bash run.sh lock   re-resolve requirements.lock (pip-tools, with hashes) from pyproject.toml
set -euo pipefail
cd "$(dirname "$0")"

VENV=${VENV:-.venv}
CORES=${CORES:-2}
PY=${PYTHON:-python3}

log() { printf '[run.sh] %s\n' "$*" >&2; }

setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtual environment $VENV"
        "$PY" -m venv "$VENV"
    fi
    if ! "$VENV/bin/python" -c 'import dln, snakemake, pytest, cfchecker' >/dev/null 2>&1 \
        || [ pyproject.toml -nt "$VENV/.dln-installed" ] || [ requirements.lock -nt "$VENV/.dln-installed" ]; then
        if [ "${DLN_UNLOCKED:-0}" = 1 ]; then
            log "installing dln with its workflow and dev extras (newest versions in pyproject.toml's ranges)"
            "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[workflow,dev]"
        else
            log "installing the locked environment (requirements.lock, hashes checked), then dln"
            "$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
            "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
        fi
        touch "$VENV/.dln-installed"
    fi
}

refresh_lock() {
    # Re-resolve requirements.lock from pyproject.toml (core + workflow + dev) with pip-tools, with hashes.
    local tools
    tools=$(mktemp -d)
    "$PY" -m venv "$tools"
    "$tools/bin/python" -m pip install -q --disable-pip-version-check pip-tools
    "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
        --no-emit-find-links --extra workflow --extra dev --output-file requirements.lock pyproject.toml
    rm -rf "$tools"
    log "requirements.lock refreshed; run 'bash run.sh test' to check it"
}

setup_system() {
    # Debian packages; skipped (with a message) where we are not root or have no apt-get.
    local want=() pkg
    [ -e /usr/lib/x86_64-linux-gnu/libudunits2.so.0 ] || ls /usr/lib/*/libudunits2.so.0 >/dev/null 2>&1 || want+=(libudunits2-0)
    command -v chromium >/dev/null 2>&1 || want+=(chromium)
    command -v slurmctld >/dev/null 2>&1 || want+=(slurmctld slurmd slurm-client munge)
    [ ${#want[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "not root or no apt-get: cannot install ${want[*]}; tests that need them will say so"
        return 0
    fi
    log "installing Debian packages: ${want[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
}

live_snakemake() {
    # PIDs of Snakemake main processes working in this directory (not the jobs they started)
    local pid cmd
    for pid in $(pgrep -f snakemake 2>/dev/null || true); do
        [ "$(readlink -f "/proc/$pid/cwd" 2>/dev/null)" = "$(pwd -P)" ] || continue
        cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
        case " $cmd" in
            *" --unlock"*) ;;
            *"/snakemake "* | " snakemake "* | *" -m snakemake "*) printf '%s ' "$pid" ;;
        esac
    done
}

recover() {
    # What a hard-killed run leaves behind: Snakemake's lock (its next run would refuse to start), jobs marked
    # incomplete (rerun by --rerun-incomplete below) and temporary files of interrupted writes; and job files
    # damaged since they were written (checksum). Cleared only when no Snakemake is running in this directory;
    # a concurrent run keeps its lock and this one stops.
    local live tmps
    live=$(live_snakemake)
    if [ -n "$live" ]; then
        log "another Snakemake is running in this directory (pid ${live% }): wait for it to finish"
        exit 1
    fi
    if compgen -G ".snakemake/locks/*" >/dev/null; then
        log "removing the stale lock of a Snakemake run that is no longer running (.snakemake/locks/)"
        rm -f .snakemake/locks/*
    fi
    # job files whose data no longer match the checksum written with them (damaged, truncated, edited)
    [ -d results ] && "$VENV/bin/python" -m dln.workflow verify-jobs results
    tmps=$(find results book/_generated -type f -name '*.tmp' 2>/dev/null || true)
    if [ -n "$tmps" ]; then
        log "removing $(printf '%s\n' "$tmps" | wc -l) temporary file(s) of an interrupted run"
        printf '%s\n' "$tmps" | while IFS= read -r f; do rm -f -- "$f"; done
    fi
}

case "${1:-}" in
    all)
        setup_python  # the workflow needs no Debian packages (they serve the tests only)
        export PATH="$(cd "$VENV" && pwd)/bin:$PATH"
        recover
        # a YAML syntax error named with its file, line and column (Snakemake says only "not valid YAML")
        python -m dln.workflow check-yaml "${CONFIG:-config/config.yaml}"
        # the config schema, rendered again from the families' specs if one of them changed
        python workflow/schemas/make_schema.py --if-stale
        # extra arguments (targets, flags) first: --configfile takes every word after it
        snakemake "${@:2}" --rerun-incomplete --cores "$CORES" --configfile "${CONFIG:-config/config.yaml}"
        ;;
    test)
        setup_python
        setup_system
        export PATH="$(cd "$VENV" && pwd)/bin:$PATH"
        python -m pytest "${@:2}"
        ;;
    lock)
        refresh_lock
        ;;
    *)
        echo "usage: bash run.sh all|test|lock [extra args]" >&2
        exit 2
        ;;
esac
