"""What the study's two kinds of run do: score a chunk of architectures, then rank and search.

``proxies`` runs score their chunk of a seeded sample of NB201 cells (every cell at paper scale)
with NASGraph and the data-free proxies, and the first ``n_data`` cells of the sample also with
the data-dependent ones (the laptop budget), timing each in CPU seconds, into ``proxies.csv``.
Correlations of data-dependent proxies use that subset; the search table ranks the pool with
data-free proxies only.
``ranking`` runs join the chunks of one seed with NB201's test accuracies and report, per dataset
and proxy, rho and tau (one value per seed, what claims pair), the search picks of N random cells,
and the per-architecture values as samples (the table pools them over seeds for its bootstrap).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")
DATA_FREE = ("nasgraph", "params", "flops", "synflow")
DATA_DEPENDENT = ("grad_norm", "snip", "jacov", "naswot")
COMBINED = "nasgraph+jacov"
RANKED = DATA_FREE + DATA_DEPENDENT + (COMBINED,)
PAPER_SEARCH_CPU_S = 217.0  # NASGraph paper, abstract: best of 200 random NB201 cells in 217 CPU seconds


def setting_of(proxy: str, inputs: str) -> str:
    """A ranking row's setting: what the proxy was fed."""
    return "data-free" if proxy in DATA_FREE else inputs


SEARCH_SETTING = "best-of-200"


def sample(seed: int, n_archs: int) -> np.ndarray:
    """Indices (into NB201's 15,625 cells) of the seed's sample; all cells, in order, when n covers them."""
    from methods.data.nasbench201 import NUM_ARCHS

    if n_archs >= NUM_ARCHS:
        return np.arange(NUM_ARCHS)
    return np.random.default_rng(seed).permutation(NUM_ARCHS)[:n_archs]


def score_chunk(prepared: Path, params: dict, seed: int, out: Path, log, cifar: Path | None = None) -> int:
    """Score chunk ``params['chunk']`` of ``params['chunks']`` of the seed's sample into ``out`` (CSV)."""
    import pandas as pd
    import torch

    from methods.core.atomic import atomic_path
    from methods.data.formats import load_arrays

    from . import inputs, nasgraph, proxies
    from .nb201 import parse_cell

    archs = load_arrays(prepared)["arch"]
    chunk = np.array_split(sample(seed, params["n_archs"]), params["chunks"])[params["chunk"]]
    x, y = inputs.batch(params["inputs"], params["batch"], seed, cifar)
    scored = set(sample(seed, params["n_archs"])[: params["n_data"]].tolist())  # data-dependent proxies' subset
    rows = []
    for k, index in enumerate(chunk):
        arch_seed = seed * 100_003 + int(index)  # the same cell gets the same weights whatever the chunking
        cell = parse_cell(str(archs[index]))
        start = time.process_time()
        torch.manual_seed(arch_seed)
        graph = nasgraph.measures(nasgraph.build_graph(nasgraph.surrogate_layers(cell)))
        row = {"index": int(index), "nasgraph": graph["avg_degree"], "nasgraph_cpu_s": time.process_time() - start,
               **{name: np.nan for name in proxies.PROXIES}, **{f"{name}_cpu_s": np.nan for name in proxies.PROXIES}}
        row.update({f"graph_{m}": v for m, v in graph.items()})
        which = proxies.PROXIES if int(index) in scored else proxies.DATA_FREE
        values, seconds = proxies.score_all(cell, arch_seed, x, y, which)
        row["data_scored"] = int(index) in scored
        row.update(values)
        row.update({f"{name}_cpu_s": s for name, s in seconds.items()})
        rows.append(row)
        if (k + 1) % 50 == 0:
            log.info("scored %d/%d architectures", k + 1, len(chunk))
    with atomic_path(out) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    return len(rows)


def _proxy_values(frame) -> dict[str, np.ndarray]:
    from .ranking import combined

    values = {name: frame[name].to_numpy(dtype=float) for name in DATA_FREE + DATA_DEPENDENT}
    scored = frame["data_scored"].to_numpy(dtype=bool)
    values[COMBINED] = np.full(len(frame), np.nan)
    values[COMBINED][scored] = combined(values["nasgraph"][scored], values["jacov"][scored])
    return values


def _proxy_seconds(frame) -> dict[str, np.ndarray]:
    seconds = {name: frame[f"{name}_cpu_s"].to_numpy(dtype=float) for name in DATA_FREE + DATA_DEPENDENT}
    seconds[COMBINED] = seconds["nasgraph"] + seconds["jacov"]
    return seconds


def rank_and_search(prepared: Path, chunk_files: list[Path], params: dict) -> dict:
    """metrics.json content of a ranking run (see the module docstring)."""
    import pandas as pd

    from methods.data.formats import load_arrays

    from .ranking import correlations, search

    data = load_arrays(prepared)
    frame = pd.concat([pd.read_csv(f) for f in chunk_files], ignore_index=True).sort_values("index", kind="stable")
    order = sample(params["seed"], params["n_archs"])
    frame = frame.set_index("index").loc[order].reset_index()  # the sample's own (random) order
    values, seconds = _proxy_values(frame), _proxy_seconds(frame)
    scored = frame["data_scored"].to_numpy(dtype=bool)
    metrics, samples = {"archs": float(len(frame)), "archs_data": float(scored.sum())}, {"data_scored": scored.tolist()}
    pool = np.random.default_rng([params["seed"], 1]).permutation(len(frame))[: params["search_n"]]
    for dataset in DATASETS:
        accuracy = data[f"test_{dataset}"][frame["index"].to_numpy()]
        samples[f"accuracy/{dataset}"] = accuracy.tolist()
        for proxy, v in values.items():
            on = scored if proxy not in DATA_FREE else np.ones(len(v), dtype=bool)
            for metric, value in correlations(v[on], accuracy[on]).items():
                metrics[f"ranking/{dataset}/{proxy}/{setting_of(proxy, params['inputs'])}/{metric}"] = value
            metrics[f"ranking/{dataset}/{proxy}/{setting_of(proxy, params['inputs'])}/cpu_s_per_arch"] = float(seconds[proxy][on].mean())
            if proxy not in DATA_FREE:  # scored on a subset only: no best-of-N over the full pool
                continue
            picked = search(v[pool], accuracy[pool], data[f"test_{dataset}"])
            spent = float(seconds[proxy][pool].sum())
            picked.update(cpu_s=spent, budget_ratio=PAPER_SEARCH_CPU_S / spent)
            for metric, value in picked.items():
                metrics[f"search/{dataset}/{proxy}/{SEARCH_SETTING}/{metric}"] = value
        first = search(np.arange(len(pool), 0, -1.0), accuracy[pool], data[f"test_{dataset}"])  # no proxy
        for metric, value in first.items():
            metrics[f"search/{dataset}/random/{SEARCH_SETTING}/{metric}"] = value
    for proxy, v in values.items():
        samples[f"proxy/{proxy}"] = v.tolist()
    return {"metrics": _finite(metrics), "samples": {k: _finite(v) for k, v in samples.items()}}


def _finite(values):
    """JSON has no NaN or infinity: such values (an undefined correlation, a degenerate proxy) become None."""
    if isinstance(values, dict):
        return {k: (float(v) if np.isfinite(v) else None) for k, v in values.items()}
    return [float(v) if np.isfinite(v) else None for v in values]
