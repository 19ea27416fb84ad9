"""Which scorecard rows a run can decide, and why the others are ``not run``: decided when planning.

For every claim of every study (enabled or not), :func:`plan_claims` checks the declaration
(:func:`methods.core.claims.check`) and gives each of its rows either no reason (its table rows
are planned at this scale) or the reason it is not run: the study is disabled, the claim is not
meaningful at this scale, its data needs ``download=true``, the config's dataset or method
filter left it out, it runs at another scale only (with a GPU), or the paper's number could not
be read. All of it without torch or pandas, like the rest of the plan.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import cache

from .claims import Agrees, Claim, Test, check, metric_of
from .errors import ConfigError
from .specs import SCALES, TableSpec


@dataclass(frozen=True)
class ClaimRow:
    """One planned scorecard row: claim, dataset label, the datasets it reads, test index, and the
    reason it is not run (empty when it is)."""

    study: str
    claim: Claim
    dataset: str
    datasets: tuple[str, ...]
    test: int
    reason: str = ""

    @property
    def key(self) -> str:
        return f"{self.claim.id}|{self.dataset}|{self.test}"


def declarations_hash(study) -> str:
    """A digest of ``study``'s claim declarations: a rule parameter, so that editing a claim (its margin,
    say) re-evaluates that study's claims, and the job can tell that it reads what was planned."""
    return hashlib.sha256(repr(study.claims()).encode()).hexdigest()[:16]


def feeds(spec: TableSpec, run) -> bool:
    """Whether ``run`` puts rows into table ``spec``."""
    return ((spec.datasets is None or run.dataset in spec.datasets)
            and (spec.methods is None or run.method in spec.methods)
            and (spec.settings is None or run.setting in spec.settings))


@cache
def _scale_rows(study, table: str, scale: str) -> frozenset:
    spec = study.table(table)
    return frozenset(study.table_rows(spec, [r for r in study.grid(scale, 1) if feeds(spec, r)]))


@cache
def _paper_rows(study, table: str) -> dict:
    """(dataset, method, setting, metric) -> status of the study's paper numbers for ``table``."""
    path = study.paper_numbers_path()
    if path is None:
        return {}
    with open(path, newline="") as handle:
        return {(r["dataset"], r["method"], r["setting"], r["metric"]): r["status"]
                for r in csv.DictReader(handle) if r["table"] == table}


def _known_rows(study, spec: TableSpec) -> set:
    rows = set().union(*(_scale_rows(study, spec.name, scale) for scale in SCALES))
    return rows | {key[:3] for key in _paper_rows(study, spec.name)}


def _paper_keys(claim: Claim, datasets, test: Agrees) -> list[tuple]:
    metric = metric_of(test.row, claim)
    return [(dataset, test.row.method, test.row.setting, metric) for dataset in datasets]


def _check_paper_numbers(study, claim: Claim) -> None:
    numbers = _paper_rows(study, claim.table)
    for _, datasets, _, test in claim.rows():
        for key in _paper_keys(claim, datasets, test) if isinstance(test, Agrees) else ():
            if key not in numbers:
                raise ConfigError(f"claim '{claim.id}' of study '{study.name}': paper number", key,
                                  f"a row of {study.paper_numbers_path()} for table '{claim.table}'")


@cache
def _gpu_datasets(study, scale: str) -> frozenset:
    return frozenset(r.dataset for r in study.grid(scale, 1) if r.resources.gpu)


def _keys(datasets, test: Test) -> set:
    return {(d, side.method, side.setting) for d in datasets for side in test.sides()}


def _elsewhere(study, claim: Claim, keys: set, scale: str) -> str:
    others = [s for s in SCALES if s != scale and keys <= _scale_rows(study, claim.table, s)]
    if not others:
        return f"no rows at the {scale} scale"
    gpu = any(key[0] in _gpu_datasets(study, s) for s in others for key in keys)
    return f"runs at the {' and '.join(others)} scale only" + (" (GPU jobs)" if gpu else "")


def _reason(study, claim: Claim, datasets, test: Test, scale: str, enabled: bool, planned: set, selected: set) -> str:
    keys = _keys(datasets, test)
    if not enabled:
        return f"study disabled in config (studies.{study.name}.enabled)"
    if scale not in claim.scales:
        return f"not meaningful at the {scale} scale" + (f": {claim.scale_reason}" if claim.scale_reason else "")
    if isinstance(test, Agrees):
        numbers = _paper_rows(study, claim.table)
        unread = [key[0] for key in _paper_keys(claim, datasets, test) if numbers[key] != "read"]
        if unread:
            return f"the paper's number could not be read ({', '.join(unread)}; see paper_numbers.csv)"
    if keys <= planned:
        return ""
    if keys <= selected:
        return "its data must be downloaded: add `--config download=true`"
    if keys <= _scale_rows(study, claim.table, scale):
        return f"left out by the config (studies.{study.name}.datasets / methods)"
    return _elsewhere(study, claim, keys, scale)


def plan_claims(study, scale: str, enabled: bool, selected_runs=(), planned_ids=frozenset()) -> list[ClaimRow]:
    """Check ``study``'s claims and plan their rows. ``selected_runs``: the study's runs after the
    config's filters; ``planned_ids``: those of them that will run (not waiting for a download)."""
    claims = study.claims()
    if not claims:
        return []
    check(study, claims, lambda spec: _known_rows(study, spec))
    rows = []
    for claim in claims:
        spec = study.table(claim.table)
        _check_paper_numbers(study, claim)
        feeding = [r for r in selected_runs if feeds(spec, r)]
        planned = study.table_rows(spec, [r for r in feeding if r.run_id in planned_ids])
        selected = study.table_rows(spec, feeding)
        for label, datasets, index, test in claim.rows():
            reason = _reason(study, claim, datasets, test, scale, enabled, planned, selected)
            rows.append(ClaimRow(study.name, claim, label, datasets, index, reason))
    return rows
