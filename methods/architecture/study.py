"""Study ``architecture``: ranking NAS-Bench-201 cells without training them.

NASGraph (Huang, Pedapati, Chen, Jiang & Gao, arXiv 2405.01306, AutoML 2024 workshop) turns each
cell into a graph by forward passes of an untrained surrogate and ranks cells by the graph's
average degree (:mod:`.nasgraph`); the zero-cost proxies it is compared with are in
:mod:`.proxies`; the ground truth is NB201's test accuracy (:mod:`methods.data.nasbench201`).

Tables:

* ``architecture_ranking``: Spearman rho and Kendall tau of every proxy with test accuracy on
  cifar10-valid, CIFAR-100 and ImageNet16-120, pooled over the seeds' samples, with percentile
  bootstrap 95% intervals over architectures; CPU seconds per architecture (t over seeds). The
  setting names the proxy's inputs: ``data-free``, or the images the data-dependent ones saw.
* ``architecture_search``: best of 200 random cells by each proxy, per seed: the pick's test
  accuracy, its percentile among all 15,625 cells, the CPU seconds the proxy spent on the 200, and
  the paper's 217 s divided by ours (t over seeds; data-free proxies, which score the whole pool;
  ``random``: the first cell of the 200).

Scales: smoke 12 cells, 3 of them with the data-dependent proxies (one seed; the search pool is
all 12); laptop 200 cells per seed, 60 of them with the data-dependent proxies, x 5 seeds (the
search pool is the seed's 200); paper every cell, in 16 chunked jobs per seed, data-dependent
proxies on CIFAR-10 batches of 64.
"""

from __future__ import annotations

from methods.core.claims import Agrees, Claim, Paired, Side
from methods.core.study import FigureSpec, Resources, Run, RunContext, Study, TableSpec, rows_from_metric_paths

from .jobs import DATA_FREE, DATASETS, RANKED, SEARCH_SETTING, setting_of

RANKING, SEARCH = "architecture_ranking", "architecture_search"
SCATTERED = ("nasgraph", "params", "synflow", "jacov")  # the scatter's rows: NASGraph and three of its rivals
_SCALES = {
    "smoke": {"n_archs": 12, "n_data": 3, "chunks": 1, "batch": 8, "inputs": "digits", "search_n": 12, "resamples": 200},
    "laptop": {"n_archs": 200, "n_data": 60, "chunks": 1, "batch": 16, "inputs": "digits", "search_n": 200, "resamples": 1000},
    "paper": {"n_archs": 15625, "n_data": 15625, "chunks": 16, "batch": 64, "inputs": "cifar10", "search_n": 200, "resamples": 1000},
}
_RESOURCES = {
    "smoke": Resources(threads=1, mem_mb=1500, runtime=10),
    "laptop": Resources(threads=1, mem_mb=2500, runtime=30),
    "paper": Resources(threads=1, mem_mb=4000, runtime=600),
}
_RANK_RESOURCES = Resources(threads=1, mem_mb=2000, runtime=20)


class ArchitectureStudy(Study):
    name = "architecture"
    title = "Training-free architecture ranking on NAS-Bench-201 (NASGraph and zero-cost proxies)"
    citation = ("Huang, Pedapati, Chen, Jiang & Gao, Graph is All You Need? Lightweight Data-agnostic Neural "
                "Architecture Search without Training, arXiv 2405.01306, 2024")
    seeds = {"smoke": 1, "laptop": 5, "paper": 3}
    # evaluation only reads the scores training wrote (well under a CPU second)
    evaluate_in_training = ("smoke", "laptop", "paper")
    tables = (
        TableSpec(
            name=RANKING,
            title="Rank correlation of training-free proxies with NAS-Bench-201 test accuracy",
            metrics={"spearman": "Spearman ρ", "kendall": "Kendall τ", "cpu_s_per_arch": "CPU s / cell"},
            rows=("dataset", "method", "setting"),
            methods=("ranking",),
            decimals={"spearman": 3, "kendall": 3, "cpu_s_per_arch": 3},
            figures=(FigureSpec("cost-vs-rho", x="cpu_s_per_arch", y="spearman", logx=10, y_range=(-1, 1), front=True,
                                title="Spearman rho against CPU seconds per cell (each proxy; upper left is better)"),
                     FigureSpec("proxy-vs-accuracy", kind="scatter", y="accuracy", methods=SCATTERED, logx=10,
                                x_title="Proxy score", y_title="NB201 test accuracy (%)",
                                title="Proxy score against NAS-Bench-201 test accuracy, each scored cell")),
            caption="cifar10-valid is NB201's CIFAR-10 setting trained on half the training set. Proxies are scored "
                    "on NB201's network (C=16, N=5, 10 classes) and correlated with all three datasets; NASGraph on "
                    "its surrogate (1 cell per stage, no BN). Setting: the data-dependent proxies' inputs "
                    "('digits' = scikit-learn digits upsampled to 32x32, not CIFAR). nasgraph+jacov: mean rank of "
                    "the two. Intervals: bootstrap over the architectures pooled from all seeds.",
        ),
        TableSpec(
            name=SEARCH,
            title="Best of 200 random NAS-Bench-201 cells picked by each proxy",
            metrics={"test_accuracy": "Pick's test acc. (%)", "percentile": "Percentile of 15,625",
                     "cpu_s": "CPU s (200 cells)", "budget_ratio": "217 s / ours"},
            rows=("dataset", "method", "setting"),
            methods=("ranking",),
            decimals={"test_accuracy": 2, "percentile": 2, "cpu_s": 1, "budget_ratio": 2},
            figures=(FigureSpec("percentile-vs-cost", x="cpu_s", y="percentile", logx=10, y_range=(0, 100), front=True,
                                reference=("random", "best-of-200"),
                                title="Percentile of each proxy's pick against its CPU seconds (upper left is better; "
                                      "the paper: top 1% in 217 s)"),),
            caption="Per seed, the proxy's highest-scored cell among 200 drawn at random; CPU seconds are the proxy's "
                    "measured process time on those 200 cells on this machine (the paper's 217 s: its own CPU). "
                    "random: the first of the 200, no proxy. At smoke scale the pool is the 12 cells of the sample.",
        ),
    )

    def _params(self, scale: str) -> dict:
        return dict(_SCALES[scale])

    def grid(self, scale: str, seeds: int) -> list[Run]:
        params = self._params(scale)
        data = ("nasbench201", "cifar10") if params["inputs"] == "cifar10" else ("nasbench201",)
        runs = []
        for seed in range(seeds):
            chunks = [Run(self.name, "nasbench201", "proxies", f"chunk{k:02d}", seed, params={**params, "chunk": k},
                          resources=_RESOURCES[scale], eval_resources=Resources(runtime=5), data=data)
                      for k in range(params["chunks"])]
            runs += chunks
            runs.append(Run(self.name, "nasbench201", "ranking", "all", seed, params={**params, "seed": seed},
                            resources=_RANK_RESOURCES, eval_resources=_RANK_RESOURCES,
                            needs=tuple(r.run_id for r in chunks)))
        return runs

    def train(self, ctx: RunContext) -> dict:
        from .jobs import rank_and_search, score_chunk

        run = ctx.run
        if run.method == "proxies":
            count = score_chunk(ctx.data["nasbench201"], dict(run.params), run.seed, ctx.run_dir / "proxies.csv",
                                ctx.log, ctx.data.get("cifar10"))
            return {"architectures": count}
        from methods.core.atomic import write_json

        files = [ctx.needs[need] / "proxies.csv" for need in run.needs]
        write_json(ctx.run_dir / "ranking.json", rank_and_search(ctx.data["nasbench201"], files, dict(run.params)))
        return {"chunks": len(files)}

    def evaluate(self, ctx: RunContext) -> dict:
        import json

        if ctx.run.method == "proxies":
            import pandas as pd

            frame = pd.read_csv(ctx.run_dir / "proxies.csv")
            return {"metrics": {"architectures": float(len(frame))}}
        return json.loads((ctx.run_dir / "ranking.json").read_text())

    def table_runs(self, spec: TableSpec, runs):
        """``<table>/<dataset>/<proxy>/<setting>/<metric>`` metrics of ranking runs -> rows of table ``spec``."""
        return rows_from_metric_paths(runs, "ranking", "ranking/" if spec.name == RANKING else "search/")

    def table_rows(self, spec: TableSpec, runs: list[Run]) -> set[tuple[str, str, str]]:
        rows = set()
        for run in (r for r in runs if r.method == "ranking"):
            for dataset in DATASETS:
                if spec.name == SEARCH:
                    rows |= {(dataset, proxy, SEARCH_SETTING) for proxy in DATA_FREE + ("random",)}
                else:
                    rows |= {(dataset, proxy, setting_of(proxy, run.params["inputs"])) for proxy in RANKED}
        return rows

    def summarize(self, spec: TableSpec, runs, scale: str, paper_numbers):
        from .report import summarize

        return summarize(self, spec, runs, scale, paper_numbers)

    def figure_points(self, table: TableSpec, figure: FigureSpec, runs):
        from .report import scatter_points

        return scatter_points(runs, figure.methods)


STUDY = ArchitectureStudy()

_NASGRAPH = "Huang et al., Graph is All You Need? (NASGraph), arXiv 2405.01306, AutoML 2024 workshop"
_FREE = Side("nasgraph", "data-free")
CLAIMS = (
    Claim("nasgraph-rho-as-paper", _NASGRAPH, "Table 2 (NAS-Bench-201)",
          "NASGraph's average degree ranks NB201 cells with the Spearman correlation the paper reports.",
          RANKING, "spearman", DATASETS,
          (Agrees(_FREE, 0.05, "0.05 in rho: about twice the bootstrap half-width of 1,000 pooled cells"),)),
    Claim("nasgraph-above-params-synflow", _NASGRAPH, "Table 2 (NAS-Bench-201), Section 4.2",
          "NASGraph's average degree correlates with accuracy better than #params and synflow.",
          RANKING, "spearman", DATASETS,
          (Paired(_FREE, Side("params", "data-free")), Paired(_FREE, Side("synflow", "data-free")))),
    Claim("nasgraph-search-top1-in-217s", _NASGRAPH, "abstract",
          "Among 200 random NB201 cells NASGraph picks a top-1% cell, within the paper's 217 CPU seconds.",
          SEARCH, "percentile", DATASETS,
          (Paired(Side("nasgraph", SEARCH_SETTING), None, margin=99.0,
                  margin_reason="top 1% of the 15,625 cells: percentile above 99"),
           Paired(Side("nasgraph", SEARCH_SETTING, "budget_ratio"), None, margin=1.0, scale="ratio",
                  margin_reason="217 s / our CPU seconds above 1 (the paper's CPU is not ours)"))),
)
