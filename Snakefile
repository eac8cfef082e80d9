# The dln workflow: parameterized simulations -> validated netCDF datasets -> theorem ledger -> book.
#
#   snakemake --cores 2                                  # default, publication-quality sweeps
#   snakemake --cores 2 --configfile config/ci.yaml      # the small CI sweeps
#   snakemake --workflow-profile workflow/profiles/slurm # on a SLURM cluster
#
# Layout (Snakemake's standard one): workflow/rules/common.smk validates the config and expands
# the sweeps; one rules file per experiment family; ledger.smk; book.smk (the book helper's).

from snakemake.utils import min_version

min_version("9.20")


# The default config, unless config files are given on the command line: `--configfile
# config/ci.yaml` then REPLACES it (Snakemake would otherwise merge the two key by key, and the
# default sweeps would leak into the CI run).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/fibers.smk"
include: "workflow/rules/lm_figures.smk"
include: "workflow/rules/regularizing_flow.smk"
include: "workflow/rules/kirwan_ness.smk"
include: "workflow/rules/learning_flow.smk"
include: "workflow/rules/schatten.smk"
include: "workflow/rules/fast_slow.smk"
include: "workflow/rules/langevin.smk"
include: "workflow/rules/posterior.smk"
include: "workflow/rules/entropy.smk"
include: "workflow/rules/free_energy.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/ledger.smk"


if BOOK_ENABLED:

    include: "workflow/rules/book.smk"


rule all:
    """Every dataset, figure, the ledger and (when book.smk is present) the book."""
    default_target: True
    input:
        all_targets(),
        book_targets(),


rule datasets:
    """Only the simulations: every results/<family>.nc (no figures, ledger or book)."""
    input:
        dataset_targets(),
