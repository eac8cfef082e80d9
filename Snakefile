# The dln workflow: parameterized simulations -> validated netCDF datasets -> theorem ledger -> book.
#
#   snakemake --cores 2                                  # default, publication-quality sweeps
#   snakemake --cores 2 --configfile config/ci.yaml      # the small CI sweeps
#   snakemake --workflow-profile workflow/profiles/slurm # on a SLURM cluster
#
# Layout (Snakemake's standard one): workflow/rules/common.smk validates the config and expands
# the sweeps; families.smk has the simulation and aggregation rules of every experiment family;
# figures.smk, ledger.smk; book.smk.

from snakemake.utils import min_version

min_version("9.20")


# The default config, unless config files are given on the command line: `--configfile
# config/ci.yaml` then REPLACES it (Snakemake would otherwise merge the two key by key, and the
# default sweeps would leak into the CI run).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/families.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/ledger.smk"
include: "workflow/rules/book.smk"


rule all:
    """Every dataset, figure, the ledger and (unless the config says book: false) the book."""
    default_target: True
    input:
        all_targets(),
        book_targets(),


rule datasets:
    """Only the simulations: every results/<family>.nc (no figures, ledger or book)."""
    input:
        dataset_targets(),
