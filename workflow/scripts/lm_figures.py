"""Snakemake script of the rule ``lm_figures``: ``dln.experiments.lm_figures.simulate`` -> netCDF.

By hand: ``python workflow/scripts/lm_figures.py results/lm_figures.nc``.
"""

import sys

from dln.experiments._conventions import write_netcdf
from dln.experiments.lm_figures import simulate

if "snakemake" in globals():  # run by the Snakemake rule `lm_figures` (script: directive)
    with open(snakemake.log[0], "w") as _log:
        sys.stderr = _log
        write_netcdf(simulate(), snakemake.output[0])
        print(f"wrote {snakemake.output[0]}", file=_log)
elif __name__ == "__main__":
    write_netcdf(simulate(), sys.argv[1] if len(sys.argv) > 1 else "results/lm_figures.nc")
