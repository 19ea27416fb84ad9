"""From a validated config to the static run grid the workflow expands.

``build_plan`` asks each study for its grid at the chosen scale, applies the config's
restrictions, resolves runs that start from other runs (``needs``), leaves out runs whose data
must be downloaded when ``download`` is off, and checks every name against what exists, so that a
bad config fails before any job starts, with the key, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .claims_plan import ClaimRow, feeds, plan_claims
from .errors import ConfigError
from .study import SCALES, Run, Study, TableSpec, available_studies, load_study


@dataclass
class PlannedTable:
    study: str
    spec: TableSpec
    run_ids: list[str]


@dataclass
class Plan:
    scale: str
    runs: dict[str, Run] = field(default_factory=dict)  # every run to execute, dependencies included
    tables: list[PlannedTable] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)  # tables or datasets not built, and why
    claims: list[ClaimRow] = field(default_factory=list)  # every claim's scorecard rows, run or not
    evaluated_in_training: set[str] = field(default_factory=set)  # run ids one job trains and evaluates
    waiting_levels: dict[str, int] = field(default_factory=dict)  # run id -> levels of runs that need it
    data_levels: dict[str, int] = field(default_factory=dict)  # dataset -> one above the runs reading it

    @property
    def datasets(self) -> list[str]:
        return sorted({name for run in self.runs.values() for name in run.datasets})

    def study_runs(self, study: str) -> list[str]:
        ids = {rid for table in self.tables if table.study == study for rid in table.run_ids}
        return sorted(ids)


def _check_subset(key: str, requested: list[str], available: set[str]) -> None:
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise ConfigError(key, unknown if len(unknown) > 1 else unknown[0], f"any of {sorted(available)}")


def _seeds(config: dict, entry: dict, study: Study, scale: str) -> int:
    for value in (entry.get("seeds"), config.get("seeds")):
        if value is not None:
            return int(value)
    return int(study.seeds[scale])


def _needs_download(dataset: str) -> bool:
    from methods.data.registry import get_dataset

    return get_dataset(dataset).needs_download


def _resolve(run_id: str, scale: str, cache: dict) -> Run:
    """Find the run ``run_id`` (``study/dataset/method/setting/seedK``) in its study's grid."""
    study_name = run_id.split("/", 1)[0]
    seed = int(run_id.rsplit("seed", 1)[1])
    key = (study_name, seed)
    if key not in cache:
        cache[key] = {run.run_id: run for run in load_study(study_name).grid(scale, seed + 1)}
    try:
        return cache[key][run_id]
    except KeyError:
        raise ConfigError("needs", run_id, f"a run of study '{study_name}' at scale '{scale}'") from None


def waiting_levels(runs: dict[str, Run]) -> dict[str, int]:
    """How many levels of runs wait for each run's training: 0 when no run needs it, else one more
    than the most of the runs that need it (the longest chain of ``needs`` hanging below it).

    The train rules give it to Snakemake as the job's priority, so that runs other runs start from
    (the float baselines the quantization runs fine-tune, the seeds a score run pools) are trained
    first and their dependents can fill the cores beside the other studies' runs, instead of
    leaving a chain of dependent jobs for the end of the run."""
    needed_by: dict[str, list[str]] = {run_id: [] for run_id in runs}
    for run_id, run in runs.items():
        for need in run.needs:
            needed_by[need].append(run_id)
    levels: dict[str, int] = {}

    def level(run_id: str) -> int:
        if run_id not in levels:
            levels[run_id] = max((1 + level(other) for other in needed_by[run_id]), default=0)
        return levels[run_id]

    return {run_id: level(run_id) for run_id in runs}


def _with_precision(name: str, study: Study, entry: dict, grid: list[Run]) -> list[Run]:
    """The study's runs with ``studies.<name>.precision`` in their parameters. float32, the default,
    changes no run (nor its spec, so nothing reruns); another precision must be one the study trains in."""
    precision = entry.get("precision") or "float32"
    if precision == "float32":
        return grid
    if precision not in study.precisions:
        raise ConfigError(f"studies.{name}.precision", precision, f"one of {list(study.precisions)}")
    return [replace(run, params={**run.params, "precision": precision}) for run in grid]


def build_plan(config: dict) -> Plan:
    scale = config.get("scale", "laptop")
    if scale not in SCALES:
        raise ConfigError("scale", scale, f"one of {list(SCALES)}")
    download = bool(config.get("download", False))
    studies = config.get("studies") or {}
    known = available_studies()
    for name in studies:
        if name not in known:
            raise ConfigError("studies", name, f"one of {known}")

    from methods.data.registry import dataset_names

    plan = Plan(scale=scale)
    resolved: dict = {}
    for name, entry in studies.items():
        entry = entry or {}
        if not entry.get("enabled", True):
            plan.claims += plan_claims(load_study(name), scale, enabled=False)
            continue
        study = load_study(name)
        grid = study.grid(scale, _seeds(config, entry, study, scale))
        for run in grid:
            for dataset in run.datasets:
                if dataset not in dataset_names():
                    raise ConfigError(f"studies.{name}", dataset, f"datasets in methods/data: {dataset_names()}")
        _check_subset(f"studies.{name}.datasets", entry.get("datasets") or [], {r.dataset for r in grid})
        _check_subset(f"studies.{name}.methods", entry.get("methods") or [], {r.method for r in grid})
        grid = _with_precision(name, study, entry, grid)
        if entry.get("datasets"):
            grid = [r for r in grid if r.dataset in entry["datasets"]]
        if entry.get("methods"):
            grid = [r for r in grid if r.method in entry["methods"]]

        offline = []
        for run in grid:
            blocked = [d for d in run.datasets if _needs_download(d)] if not download else []
            if blocked:
                plan.left_out.append({"study": name, "run": run.run_id, "datasets": blocked})
            else:
                offline.append(run)
        offline_ids = {run.run_id for run in offline}
        for spec in study.tables:
            feeding = [r for r in grid if feeds(spec, r)]
            runs = [r for r in feeding if r.run_id in offline_ids]
            if runs:
                plan.tables.append(PlannedTable(name, spec, [r.run_id for r in runs]))
            else:
                filtered = entry.get("datasets") or entry.get("methods")
                reason = ("its data must be downloaded" if feeding else
                          "no runs selected" if filtered else f"not part of the {scale} scale")
                plan.left_out.append({"study": name, "table": spec.name, "reason": reason})
        plan.claims += plan_claims(study, scale, enabled=True, selected_runs=grid, planned_ids=offline_ids)
        pending = list(offline)
        while pending:
            run = pending.pop()
            if run.run_id in plan.runs:
                continue
            plan.runs[run.run_id] = run
            pending.extend(_resolve(need, scale, resolved) for need in run.needs)
    plan.evaluated_in_training = {run_id for run_id, run in plan.runs.items()
                                  if load_study(run.study).evaluates_in_training(run, scale)}
    plan.waiting_levels = waiting_levels(plan.runs)
    # a dataset's fetch and prepare come before every run that reads it (Snakemake does not pass a
    # job's priority on to the jobs it waits for)
    for run_id, run in plan.runs.items():
        for name in run.datasets:
            plan.data_levels[name] = max(plan.data_levels.get(name, 0), 1 + plan.waiting_levels[run_id])
    if not plan.tables:
        raise ConfigError("studies", sorted(studies), "at least one enabled study with a table to build at this scale")
    return plan


def left_out_summary(plan: Plan) -> list[str]:
    """Lines for the report: which tables and datasets the run left out, and how to add them."""
    lines = []
    for item in plan.left_out:
        if "table" in item:
            hint = "; add it with `--config download=true` (mirror or upstream)" \
                if item["reason"] == "its data must be downloaded" else ""
            lines.append(f"table `{item['table']}` ({item['study']}): {item['reason']}{hint}")
    blocked = sorted({d for item in plan.left_out for d in item.get("datasets", [])})
    if blocked:
        lines.append(f"datasets {', '.join(blocked)} need a download; add them with `--config download=true`")
    return lines
