"""The face every technique shows the workflow (in the spirit of Benchopt's solvers).

A technique is a package ``methods.<name>`` whose ``study`` module defines ``STUDY``, an instance
of a :class:`Study` subclass. The study declares

* its tables (:class:`TableSpec`) and figures,
* its run grid per scale (:meth:`Study.grid`): datasets x methods x settings x seeds, each run with
  its hyper-parameters, resources and the runs it starts from (``needs``),
* how one run trains (:meth:`Study.train`) and is evaluated (:meth:`Study.evaluate`).

The workflow never imports torch to plan: study modules import heavy libraries inside
``train``/``evaluate`` only, so ``snakemake -n`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .specs import SCALES, FigureSpec, TableSpec  # SCALES and FigureSpec: re-exported for the studies


@dataclass(frozen=True)
class Resources:
    """What one job needs; rules turn these into ``threads:`` and ``resources:``."""

    threads: int = 1
    mem_mb: int = 2000
    runtime: int = 10  # minutes, per attempt
    gpu: int = 0


@dataclass(frozen=True)
class Run:
    """One cell of a study's grid at one seed: everything a job needs to reproduce it."""

    study: str
    dataset: str
    method: str
    setting: str
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    resources: Resources = Resources()
    eval_resources: Resources = Resources()
    needs: tuple[str, ...] = ()  # run ids whose trained outputs this run starts from
    data: tuple[str, ...] = ()  # datasets read (defaults to (dataset,))

    @property
    def run_id(self) -> str:
        return f"{self.study}/{self.dataset}/{self.method}/{self.setting}/seed{self.seed}"

    @property
    def datasets(self) -> tuple[str, ...]:
        return self.data or (self.dataset,)

    def spec(self, scale: str) -> dict:
        """The JSON-able description whose hash goes into provenance (resources excluded)."""
        return {
            "scale": scale,
            "study": self.study,
            "dataset": self.dataset,
            "method": self.method,
            "setting": self.setting,
            "seed": self.seed,
            "params": dict(self.params),
            "needs": list(self.needs),
            "data": list(self.datasets),
        }


@dataclass
class RunContext:
    """What a running job gets: its folder, prepared data, the folders of the runs it needs."""

    run: Run
    scale: str
    run_dir: Path
    data: dict[str, Path]
    needs: dict[str, Path]
    threads: int
    log: logging.Logger
    gpus: int = 0  # the GPUs the job was planned with (its rule's ``resources: gpu``)

    def timing_seconds(self, seconds: float) -> float:
        """How long a latency measurement meant to run ``seconds`` runs at this scale: a tenth at
        smoke scale, whose timings only show that the measurement path works (every smoke job pays
        it; the tables at laptop and paper scale keep the full time)."""
        return seconds * (0.1 if self.scale == "smoke" else 1.0)


class Study:
    """Base class; subclasses set the class attributes and implement the three methods."""

    name: str = ""
    title: str = ""
    citation: str = ""
    tables: tuple[TableSpec, ...] = ()
    # one seed at smoke scale keeps the whole-suite CI run short; five laptop seeds put the t factor of the
    # claims' seed-level intervals at 2.78 (three seeds: 4.30, too wide to decide most claims)
    seeds: Mapping[str, int] = {"smoke": 1, "laptop": 5, "paper": 3}
    # Scales at which every run is evaluated by its training job (the workflow's ``train_evaluate`` rule):
    # for runs whose evaluation costs less than starting a job (interpreter, torch, the study's imports).
    evaluate_in_training: tuple[str, ...] = ()
    # Precisions its training can run in (``studies.<name>.precision``); float32 always, the default.
    precisions: tuple[str, ...] = ("float32",)

    def grid(self, scale: str, seeds: int) -> list[Run]:
        """Every run of this study at ``scale`` with seeds ``0..seeds-1``."""
        raise NotImplementedError

    def train(self, ctx: RunContext) -> dict:
        """Train one run, saving what evaluation needs in ``ctx.run_dir``; returns a summary."""
        raise NotImplementedError

    def evaluate(self, ctx: RunContext) -> dict:
        """Evaluate one trained run. Returns ``{"metrics": {name: float}, "samples": {name: [..]}}``
        (samples optional: per-episode values for ``normal`` intervals). Optional too: ``timings``,
        and ``kernels``, ``{table method: note}`` naming the CPU kernels a method's rows used or why
        this CPU has none (:mod:`methods.core.cpu`); such a method's values are then None."""
        raise NotImplementedError

    def evaluates_in_training(self, run: Run, scale: str) -> bool:
        """Whether ``run`` is trained and evaluated by one job: ``train.json`` then ``metrics.json`` from
        one process, the same files and records as two jobs write. Override to choose per run; keep
        expensive trainings separate, since a failed job loses both of its outputs."""
        return scale in self.evaluate_in_training

    def summarize(self, spec: TableSpec, runs, scale: str, paper_numbers):
        """Long rows of table ``spec`` from the collected runs (see :mod:`methods.reporting.aggregate`).

        Override to add derived rows (paired differences, average ranks); keep the long columns.
        """
        from methods.reporting.aggregate import aggregate

        return aggregate(self.table_runs(spec, runs), spec, self.name, scale, paper_numbers)

    def table_runs(self, spec: TableSpec, runs):
        """The collected runs re-keyed as the rows of table ``spec`` (dataset, method, setting, metric,
        seed, value): override where one run reports several table rows. Claims read the same rows."""
        return runs

    def table_rows(self, spec: TableSpec, runs: list[Run]) -> set[tuple[str, str, str]]:
        """The (dataset, method, setting) rows that ``runs`` put into table ``spec``, known without
        running them (claims are checked against these when the workflow plans)."""
        return {(r.dataset, r.method, r.setting) for r in runs}

    def figure_points(self, table: TableSpec, figure: FigureSpec, runs):
        """The points of a ``scatter`` or ``curve`` figure of ``table``, from the collected runs: a frame
        with columns ``row``, ``facet``, ``series``, ``x``, ``y``, ``seed`` and optionally ``title``
        (see :class:`~methods.core.specs.FigureSpec`). Studies that declare such figures override it."""
        raise NotImplementedError(f"study '{self.name}' declares figure '{figure.name}' of kind '{figure.kind}' "
                                  "but does not derive its points (Study.figure_points)")

    def wide(self, long, spec: TableSpec):
        """The paper layout of a table (strings) and its numbered paper sources; override to pivot."""
        from methods.reporting.render import wide

        return wide(long, spec)

    def paper_numbers_path(self) -> Path | None:
        """The study's reference numbers (``paper_numbers.csv`` beside its study module)."""
        module = importlib.import_module(type(self).__module__)
        path = Path(module.__file__).with_name("paper_numbers.csv")
        return path if path.exists() else None

    def claims(self) -> tuple:
        """The paper claims this study tests (``CLAIMS`` beside ``STUDY``, see :mod:`methods.core.claims`)."""
        return getattr(importlib.import_module(type(self).__module__), "CLAIMS", ())

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise KeyError(f"study '{self.name}' has no table '{name}'")


def rows_from_metric_paths(runs, method: str, prefix: str):
    """Table rows from runs of ``method`` that report many rows as metrics named
    ``<prefix><dataset>/<method>/<setting>/<metric>`` (``prefix``: one path segment and its slash): the
    usual :meth:`Study.table_runs` of a study whose one run scores a whole table."""
    rows = runs[(runs["method"] == method) & runs["metric"].str.startswith(prefix)].copy()
    parts = rows["metric"].str.split("/", expand=True)
    rows["dataset"], rows["method"], rows["setting"], rows["metric"] = parts[1], parts[2], parts[3], parts[4]
    return rows


def available_studies() -> list[str]:
    """Names of the technique packages under ``methods/`` that have a ``study`` module (not ``core``,
    whose ``study`` module is the framework itself)."""
    import methods

    root = Path(methods.__file__).parent
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(root)])
        if info.ispkg and info.name != "core" and (root / info.name / "study.py").exists()
    )


def load_study(name: str) -> Study:
    """Import ``methods.<name>.study`` and return its ``STUDY``."""
    if name not in available_studies():
        from .errors import ConfigError

        raise ConfigError(f"studies.{name}", name, f"one of {available_studies()}")
    study = importlib.import_module(f"methods.{name}.study").STUDY
    if study.name != name:
        raise TypeError(f"methods.{name}.study.STUDY is named '{study.name}', expected '{name}'")
    return study


MetricFn = Callable[..., float]
