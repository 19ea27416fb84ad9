"""The methods of the study, in three families that share one job each.

* ``classical``: ``logreg``, ``rf``, ``hgb``, ``mlp`` on the typed table (RF and HGB tuned on the
  validation rows, the search counted in their fit time);
* ``text``: ``row_lr``, ``row_mlp`` (the whole row serialized and embedded, naive) and
  ``cell_lr``, ``cell_mlp`` (Koloski et al.'s "This {col} is {value}." per cell, mean-pooled);
* ``tdt``: the TDTransformer network after VPCL pre-training, as the official code builds it
  (``tdt``: random word embeddings, quantile PLE), with MiniLM word embeddings (``tdt_minilm``),
  decision-tree PLE bins (``tdt_tree``) or without pre-training (``tdt_novpcl``).

A family runs on one split of one dataset and returns, per method, its test-set class
probabilities, its fit time and (for LM methods) the embedding time of the strings it reads.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from methods.core.errors import ConfigError
from methods.data.tabular_format import Table, load_table

from . import baselines
from .cache import Cache
from .columns import Column, check_target, infer_types
from .names import FAMILIES
from .preprocess import Typed, typed_matrices
from .splits import Split, protocol_split, subsample_rows


@dataclass
class Prepared:
    table: Table
    columns: list[Column]
    split: Split
    typed: Typed


def load_rows(path: Path, dataset: str, max_rows: int | None) -> tuple[Table, list[Column]]:
    """The (subsampled) table and its column types; the same for every seed and family."""
    table = load_table(path)
    check_target(table.y, dataset)
    table = table.take(subsample_rows(table.y, max_rows, dataset))
    return table, infer_types(table, dataset)


def prepare(path: Path, dataset: str, params: dict, seed: int) -> Prepared:
    table, columns = load_rows(path, dataset, params.get("max_rows"))
    split = protocol_split(table.y, seed)
    return Prepared(table, columns, split, typed_matrices(table, columns, split.train))


def _timed(fit, predict):
    """Predictions and the seconds of ``fit``, which includes any hyper-parameter search."""
    start = time.perf_counter()
    model = fit()
    fitted = time.perf_counter() - start
    return predict(model), fitted, model


def classical(p: Prepared, params: dict, seed: int, threads: int, run: str) -> dict:
    y, (train, val, test) = p.table.y, (p.split.train, p.split.val, p.split.test)
    onehot = baselines.onehot_features(p.typed, train)
    ordinal, mask = baselines.ordinal_features(p.typed, train)
    fits = {
        "logreg": lambda: baselines.logreg(onehot, y, train, val, seed, params),
        "rf": lambda: baselines.random_forest(onehot, y, train, val, seed, params, threads),
        "hgb": lambda: baselines.hist_gb(ordinal, mask, y, train, val, seed, params),
        "mlp": lambda: baselines.mlp(params).fit(onehot, y, train, val, seed, run),
    }
    inputs = {"logreg": onehot, "rf": onehot, "hgb": ordinal, "mlp": onehot}
    out = {}
    for method in _selected("classical", params):
        proba, fit_s, model = _timed(fits[method], lambda m, x=inputs[method]: m.predict_proba(x[test]))
        out[method] = {"proba": proba, "fit_s": fit_s}
        if hasattr(model, "search"):
            out[method]["summary"] = {"search": model.search}
    return out


def text(p: Prepared, cache: Cache, params: dict, seed: int, run: str) -> dict:
    y, (train, val, test) = p.table.y, (p.split.train, p.split.val, p.split.test)
    sources = {"row": (cache.row_features, cache.summary["row_s"]),
               "cell": (cache.cell_features, cache.summary["cell_s"])}
    standardized: dict[str, object] = {}  # each source built once, shared by its LR and MLP; only if selected
    out = {}
    for method in _selected("text", params):
        source, head = method.split("_")
        features, embed_s = sources[source]
        if source not in standardized:
            standardized[source] = baselines.standardized(features(), train)
        x = standardized[source]
        if head == "lr":
            fit = lambda x=x: baselines.logreg(x, y, train, val, seed, params)  # noqa: E731
        else:
            fit = lambda x=x: baselines.mlp(params).fit(x, y, train, val, seed, run)  # noqa: E731
        proba, fit_s, _ = _timed(fit, lambda m, x=x: m.predict_proba(x[test]))
        out[method] = {"proba": proba, "fit_s": fit_s, "embed_s": embed_s}
    return out


# method -> (PLE binning, word-embedding init, VPCL pre-training)
TDT_VARIANTS = {"tdt": ("quantile", "random", True), "tdt_minilm": ("quantile", "minilm", True),
                "tdt_tree": ("tree", "random", True), "tdt_novpcl": ("quantile", "random", False)}


def tdt(p: Prepared, cache: Cache, params: dict, seed: int, run: str, run_dir: Path, log: logging.Logger) -> dict:
    """Each TDT variant: PLE edges and inputs, VPCL pre-training (checkpoint ``checkpoint-<method>-vpcl.pt``),
    fine-tuning (``checkpoint-<method>.pt``), the final weights in ``<method>.pt``."""
    import torch

    from methods.core.atomic import atomic_path

    from . import ple
    from .tdt_train import build_inputs, build_model, fit, predict_proba, pretrain_vpcl

    y, (train, val, test) = p.table.y, (p.split.train, p.split.val, p.split.test)
    out = {}
    for method in _selected("tdt", params):
        binning, word_init, vpcl = TDT_VARIANTS[method]
        if vpcl and int(params["pretrain_epochs"]) < 1:
            raise ConfigError("pretrain_epochs", params["pretrain_epochs"], f"at least 1 when {method} is run")
        start = time.perf_counter()
        torch.manual_seed(seed)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        edges = ple.fit_edges(p.typed.num[train], y[train], int(params["ple_bins"]), binning, seed)
        inputs = build_inputs(p.typed, cache, edges, int(params["max_bins"])).to(device)
        model = build_model(p.typed, cache, len(p.table.classes), params, word_init).to(device)
        rows = {k: torch.from_numpy(v).long().to(device) for k, v in (("train", train), ("val", val), ("test", test))}
        summary = {"binning": binning, "word_init": word_init, "bins_per_column": [len(e) - 1 for e in edges]}
        if vpcl:
            summary["vpcl"] = pretrain_vpcl(model, inputs, rows["train"], rows["val"], params, seed, run,
                                            run_dir / f"checkpoint-{method}-vpcl.pt", log)
        labels = torch.from_numpy(y).long().to(device)
        summary.update(fit(model, inputs, labels, rows["train"], rows["val"], params, seed, run,
                           run_dir / f"checkpoint-{method}.pt", log))
        fit_s = time.perf_counter() - start
        with atomic_path(run_dir / f"{method}.pt") as tmp:
            torch.save(model.state_dict(), tmp)
        out[method] = {"proba": predict_proba(model, inputs, rows["test"]), "fit_s": fit_s,
                       "embed_s": cache.summary["token_s"], "summary": summary}
    return out


def _selected(family: str, params: dict) -> tuple[str, ...]:
    chosen = params.get("methods") or FAMILIES[family]
    unknown = [m for m in chosen if m not in FAMILIES[family]]
    if unknown:
        raise ConfigError(f"methods of family {family}", unknown, f"any of {FAMILIES[family]}")
    return tuple(chosen)
