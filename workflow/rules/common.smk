# Helpers shared by the rules: the static plan of runs and the input functions.
import json
import re

from snakemake.exceptions import WorkflowError

from methods.core.errors import EffreproError
from methods.core.claims_plan import declarations_hash
from methods.core.plan import build_plan, left_out_summary
from methods.core.study import load_study
from methods.data.registry import get_dataset
from methods.core import jobenv
from methods.core.threads import reserved_threads

try:
    PLAN = build_plan(config)
except EffreproError as error:
    raise WorkflowError(f"invalid configuration: {error}") from None

SCALE = PLAN.scale
TABLES = {table.spec.name: table for table in PLAN.tables}
# Jobs scale their threads down when --cores exceeds the machine (methods/core/threads.py); the
# fetch job reads the download switch and the configured mirrors. Passed through the environment,
# not params, so that changing them never re-runs finished work (methods/core/jobenv.py).
try:
    WORKFLOW_CORES = workflow.cores
except WorkflowError:  # e.g. `snakemake --report` without --cores: no jobs will run
    WORKFLOW_CORES = None
jobenv.export(config, WORKFLOW_CORES)

# The runs one train_evaluate job trains and evaluates (Study.evaluates_in_training), as the regex
# of that rule's {run} wildcard; "(?!)" matches nothing.
EVALUATED_IN_TRAINING = "|".join(map(re.escape, sorted(PLAN.evaluated_in_training))) or "(?!)"


wildcard_constraints:
    scale=SCALE,
    seed=r"\d+",
    study=r"[A-Za-z0-9_]+",
    dataset=r"[A-Za-z0-9_\-]+",
    method=r"[A-Za-z0-9_\-.]+",
    setting=r"[A-Za-z0-9_\-.=]+",
    table="|".join(TABLES),


def run_of(wildcards):
    if "run" in wildcards.keys():  # the train_evaluate rule names the run by its id
        run_id = wildcards.run
    else:
        run_id = f"{wildcards.study}/{wildcards.dataset}/{wildcards.method}/{wildcards.setting}/seed{wildcards.seed}"
    if run_id not in PLAN.runs:
        raise WorkflowError(f"run {run_id} is not in the plan for scale '{SCALE}'")
    return PLAN.runs[run_id]


def run_spec(wildcards):
    return json.dumps(run_of(wildcards).spec(SCALE), sort_keys=True)


def run_dir(wildcards):
    return f"results/{SCALE}/{run_of(wildcards).run_id}"


def fetch_runtime(wildcards, attempt):
    return get_dataset(wildcards.dataset).fetch_minutes * attempt


def prepare_runtime(wildcards, attempt):
    return get_dataset(wildcards.dataset).prepare_minutes * attempt


def run_data(wildcards):
    return [f"resources/prepared/{name}.npz" for name in run_of(wildcards).datasets]


def run_needs(wildcards):
    return [f"results/{SCALE}/{need}/train.json" for need in run_of(wildcards).needs]


def train_priority(wildcards):
    # runs other runs need are trained first (methods/core/plan.py: waiting_levels)
    return PLAN.waiting_levels[run_of(wildcards).run_id]


def data_priority(wildcards):
    # a dataset's fetch and prepare jobs come before the runs that read it (plan.data_levels)
    return PLAN.data_levels.get(wildcards.dataset, 1)


def reserve(threads):
    # --cores above this machine's cores: each job reserves its share, so at most a machine's worth
    # of threads run at once (methods/core/threads.py). Cluster jobs get exactly their threads.
    return reserved_threads(threads, WORKFLOW_CORES) if workflow.local_exec else threads


def one_thread(wildcards):
    return reserve(1)


def train_threads(wildcards):
    return reserve(run_of(wildcards).resources.threads)


def eval_threads(wildcards):
    return reserve(run_of(wildcards).eval_resources.threads)


def train_mem_mb(wildcards, attempt):
    return run_of(wildcards).resources.mem_mb * attempt


def train_runtime(wildcards, attempt):
    return run_of(wildcards).resources.runtime * attempt


def train_gpu(wildcards):
    return run_of(wildcards).resources.gpu


def eval_mem_mb(wildcards, attempt):
    return run_of(wildcards).eval_resources.mem_mb * attempt


def eval_runtime(wildcards, attempt):
    return run_of(wildcards).eval_resources.runtime * attempt


def eval_gpu(wildcards):
    return run_of(wildcards).eval_resources.gpu


def both_threads(wildcards):
    run = run_of(wildcards)
    return reserve(max(run.resources.threads, run.eval_resources.threads))


def both_mem_mb(wildcards, attempt):
    run = run_of(wildcards)
    return max(run.resources.mem_mb, run.eval_resources.mem_mb) * attempt


def both_runtime(wildcards, attempt):
    run = run_of(wildcards)
    return (run.resources.runtime + run.eval_resources.runtime) * attempt


def both_gpu(wildcards):
    run = run_of(wildcards)
    return max(run.resources.gpu, run.eval_resources.gpu)


def study_metrics(wildcards):
    return [f"results/{SCALE}/{run_id}/metrics.json" for run_id in PLAN.study_runs(wildcards.study)]


def table_study(wildcards):
    return TABLES[wildcards.table].study


def table_runs(wildcards):
    return f"results/{SCALE}/{TABLES[wildcards.table].study}/runs.parquet"


def figure_runs(wildcards):
    # figures of per-run points (scatter, curve) also read the study's collected runs
    spec = TABLES[wildcards.table].spec
    figure = next(f for f in spec.figures if f.name == wildcards.figure)
    return {"runs": table_runs(wildcards)} if figure.from_runs else {}


def figure_files(scale):
    return [
        f"reports/{scale}/figures/{table.spec.name}-{figure.name}.png"
        for table in PLAN.tables
        for figure in table.spec.figures
    ]


def table_files(scale):
    return [f"reports/{scale}/{name}.{ext}" for name in TABLES for ext in ("csv", "md", "tex")]


def index_tables(wildcards):
    return [f"{table.study}:{table.spec.name}" for table in PLAN.tables]


def left_out_lines(wildcards):
    return left_out_summary(PLAN)


CLAIM_ROWS = {}
for _row in PLAN.claims:
    CLAIM_ROWS.setdefault(_row.study, {})[_row.key] = _row.reason


def claims_runs(wildcards):
    # a study's runs are read only when one of its claim rows runs at this scale
    if any(reason == "" for reason in CLAIM_ROWS[wildcards.study].values()):
        return [f"results/{SCALE}/{wildcards.study}/runs.parquet"]
    return []


def claims_reasons(wildcards):
    return json.dumps(CLAIM_ROWS[wildcards.study], sort_keys=True)


def claims_declared(wildcards):
    return declarations_hash(load_study(wildcards.study))


def claims_files(scale):
    return [f"results/{scale}/{study}/claims.csv" for study in sorted(CLAIM_ROWS)]


def scorecard_files(scale):
    if not CLAIM_ROWS:
        return []
    return [f"reports/{scale}/claims.{ext}" for ext in ("csv", "md", "tex")] + [
        f"reports/{scale}/figures/claims-effects.png"]


def final_outputs():
    # Each study's collected runs are targets too: the committed reports/laptop/ tables would
    # otherwise look up to date on a fresh clone (an existing output whose input is missing is not
    # rebuilt), and the default run would redraw figures instead of measuring anything.
    runs = sorted({f"results/{SCALE}/{table.study}/runs.parquet" for table in PLAN.tables})
    return runs + table_files(SCALE) + figure_files(SCALE) + scorecard_files(SCALE) + [f"reports/{SCALE}/README.md"]
