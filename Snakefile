# effrepro: regenerate efficient-deep-learning papers' tables with one command.
#   snakemake --cores 8                         default laptop scale, offline
#   snakemake --cores 8 --config scale=smoke    every study end to end in minutes
#   snakemake --report report.zip               HTML report of the last run
# Layout follows the snakemake-workflows best practices:
# https://snakemake.readthedocs.io/en/stable/snakefiles/best_practices.html
from snakemake.utils import min_version, validate

from methods.core.config import coerce_cli_strings

min_version("9.0")


configfile: "config/config.yaml"


coerce_cli_strings(config)  # `--config download=true` and nested overrides arrive as strings
validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/claims.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
