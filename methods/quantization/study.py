"""Study ``quantization``: what each quantization choice costs in accuracy and buys in speed, and WrapNet.

Tables (see the issue and ``briefs/quantization.md``):

* ``quantization``: the ``baselines`` models in fp32, as real int8 models (torch.ao kernels of the
  platform's quantized engine, ``methods.core.cpu.int8_engine``, named beside the CPU in the footnote),
  after post-training quantization and after QAT / LSQ fine-tuning, at W8A8 to W2A2 and ternary
  weights, per tensor and per channel: accuracy, size, and int8 latency and speed-up. At paper
  scale, ResNet-20 on CIFAR-10 and ResNet-18 on ImageNet, the networks of the WrapNet paper.
* ``wrapnet``: Ni et al., ICLR 2021: a normally trained ternary-weight 3-bit-activation network
  evaluated with b-bit accumulators that wrap around or clamp, against WrapNet trained at each
  width; per-layer overflow rates. The brevitas A2Q numbers are a labelled reference.
* ``fedqat``: FedAvg with a k-bit broadcast and client QAT against quantizing a float-trained
  model after the fact (closest public work; the thesis chapter has no public paper).
* ``quantization_int8_minilm``: dynamic int8 where it pays (issue 17): all-MiniLM-L6-v2 with its
  Linear layers in int8 against fp32, embedding fidelity, size and measured speed-up at batch 1 and
  32 (the model and held-out sentences of the pruning study's bonsai table).
"""

from __future__ import annotations

from dataclasses import replace

from methods.baselines.study import IMAGENET_EVAL_RESOURCES, IMAGENET_RESOURCES
from methods.core.claims import Claim, Paired, Side
from methods.core.study import FigureSpec, Resources, Run, RunContext, Study, TableSpec

from .captions import INT8_MINILM_CAPTION, QUANTIZATION_CAPTION, WRAPNET_CAPTION

# Fashion-MNIST: the SmallCNN with a hidden layer (issue 17): 91.9% (seed 0) at laptop scale, within a point
# of its converged 92.6%, where the SmallCNN stops 2.8 points under its own, and one float model for every
# table of the study (WrapNet needs its wide layer)
_BASELINE_MODEL = {"digits": "mlp", "fashion_mnist": "cnn_fc", "cifar10": "resnet20", "imagenet": "resnet18"}
# the real int8 path each baseline model takes (``int8.int8_model``): Linear-only, plain CNN, residual
_INT8_PATH = {"mlp": "dynamic", "cnn_fc": "static", "resnet20": "static-fx", "resnet18": "static-fx"}

_PTQ_SETTINGS = ["w8a8-tensor", "w8a8-channel", "w6a6-channel", "w4a4-tensor", "w4a4-channel",
                 "w4a4-channel-minmax", "w4a4-channel-percentile", "w3a3-channel", "w2a2-channel",
                 "wta4-channel", "wba4-channel"]
_QAT_SETTINGS = ["w8a8-channel", "w4a4-tensor", "w4a4-channel", "w2a2-channel", "wta4-channel"]
_LSQ_SETTINGS = ["w4a4-channel", "w2a2-channel", "wta4-channel"]

# scale -> dataset -> fine-tuning schedule of the qat/lsq runs (``examples``: training subset)
# Fashion-MNIST: the LSQ paper's optimizer (Esser et al. 2020, Section 3: SGD with momentum 0.9, cosine decay
# without restarts, read; initial rate 0.01 and weight decay 2.5e-5, its 2-bit values as we recall them, not
# re-read offline). Under Adam (lr 1e-4, 40 steps of 128 images until issue 17's second round) LSQ's gradient
# scale had no effect, its steps moved 3%, and LSQ - QAT at W2A2 was -0.36 [-0.53, -0.20] (5 seeds). Paired
# recipes (benchmarks/lsq_schedule.py; benchmarks/README.md "LSQ against QAT as the fine-tuning grows"): the
# gap closes with the number of steps, and at 120 steps of 64 images LSQ - QAT is -0.08 [-0.25, 0.08] while
# W8A8 stays at its PTQ accuracy (the rule any rate must meet: fine-tuning a lossless setting must not damage
# it; at batch 32, 160 steps, W8A8 lost 0.31 [0.11, 0.51]), for about 2.5 CPU s more per setting
_LSQ_PAPER_SGD = {"optimizer": "sgd", "lr": 0.01, "schedule": "cosine", "weight_decay": 2.5e-5}
_FINETUNE = {
    "smoke": {"digits": {"epochs": 2, "batch_size": 64, "lr": 1e-3, "optimizer": "adam"}},
    "laptop": {
        "digits": {"epochs": 5, "batch_size": 64, "lr": 1e-3, "optimizer": "adam"},
        "fashion_mnist": {"epochs": 1, "batch_size": 64, "examples": 7680, **_LSQ_PAPER_SGD},
    },
    "paper": {
        # the laptop recipe over the whole training set, five epochs at batch 128
        "fashion_mnist": {"epochs": 5, "batch_size": 128, **_LSQ_PAPER_SGD},
        "cifar10": {"epochs": 30, "batch_size": 128, "lr": 1e-3, "optimizer": "adam"},
        # from the 90-epoch float ResNet-18: the CIFAR-10 optimizer at a tenth of its learning rate
        # (low-bit QAT needs a float warm start and a small learning rate, Xilinx/brevitas#1177), for
        # 10 epochs (torchvision's ImageNet QAT recipe "converges at about 10 epochs", pytorch/vision@212ff516
        # references/classification/README.md), with the float training's augmentation
        "imagenet": {"epochs": 10, "batch_size": 256, "lr": 1e-4, "optimizer": "adam", "augment": "random_resized_crop"},
    },
}

# scale -> the WrapNet runs: dataset, widths, training subsets (``examples``), naive QAT and WrapNet
# schedules (Adam unless the schedule names its optimizer)
_WRAPNET = {
    "smoke": [{"dataset": "digits", "widths": [32, 8], "examples": None,
               "naive": {"epochs": 3, "batch_size": 64, "lr": 2e-3}, "wrapnet": {"epochs": 2, "batch_size": 64, "lr": 2e-3}}],
    # the cnn_fc baseline (issue 17): its hidden layer (fan-in 3,136) needs 16 bits never to overflow; after
    # normal QAT 24% of its sums overflow 10 bits, 84% 8 bits, 96% 7 bits (seed 0). Schedules from the learning
    # curves in benchmarks/README.md: the normal QAT net one epoch of the full training set (469 steps; 90.6%
    # of 5,000 test images, 91.1% after two, float 91.2%), WrapNet 234 steps a width (within 0.5 points of
    # its 468-step accuracy at 8 bits)
    "laptop": [{"dataset": "fashion_mnist", "widths": [32, 10, 8, 7], "examples": None,
                "test_size": 5000, "naive": {"epochs": 1, "batch_size": 128, "lr": 2e-3},
                "wrapnet": {"epochs": 1, "batch_size": 128, "lr": 1e-3, "examples": 29952}}],
    "paper": [
        {"dataset": "cifar10", "widths": [32, 16, 12, 10, 8], "examples": None,
         "naive": {"epochs": 30, "batch_size": 128, "lr": 1e-3}, "wrapnet": {"epochs": 10, "batch_size": 128, "lr": 5e-4}},
        # the paper's ImageNet widths (32, 12 and 8 bits); the CIFAR-10 schedules at a tenth of their
        # learning rates and a third of their epochs (an ImageNet epoch is 25 times a CIFAR-10 one)
        {"dataset": "imagenet", "widths": [32, 12, 8], "examples": None,
         "naive": {"epochs": 10, "batch_size": 256, "lr": 1e-4, "augment": "random_resized_crop"},
         "wrapnet": {"epochs": 4, "batch_size": 256, "lr": 5e-5, "augment": "random_resized_crop"}},
    ],
}

_FED = {
    "smoke": {"rounds": 5, "bits": [8, 2]},
    "laptop": {"rounds": 30, "bits": [8, 4, 2]},
    "paper": {"rounds": 100, "bits": [8, 4, 2]},
}

# scale -> held-out sentences the int8 MiniLM is scored on: the bonsai table's (``pruning.study._ENCODER``'s
# ``eval_sentences``), so both tables score the same draw of ``pydoc_sentences``
_MINILM_SENTENCES = {"smoke": 16, "laptop": 64, "paper": 256}

# table -> the run methods whose metrics it shows (several tables share metric names)
_TABLE_RUNS = {"quantization": ("ptq", "qat", "lsq"), "wrapnet": ("wrapnet",), "fedqat": ("fedavg",),
               "quantization_int8_minilm": ("int8_minilm",)}

_RESOURCES = {
    "smoke": Resources(threads=1, mem_mb=1500, runtime=5),
    "laptop": Resources(threads=1, mem_mb=3000, runtime=20),
    "paper": Resources(threads=8, mem_mb=16000, runtime=600, gpu=1),
}
# ImageNet jobs: the baseline's (decoding workers, GPU); evaluation sweeps 50,000 validation images per setting
_IMAGENET_EVAL = replace(IMAGENET_EVAL_RESOURCES, runtime=720)


def _job_resources(dataset: str, resources: Resources) -> tuple[Resources, Resources]:
    """(train, evaluate) resources of a run: ``resources`` for both, or ImageNet's GPU jobs."""
    return (IMAGENET_RESOURCES, _IMAGENET_EVAL) if dataset == "imagenet" else (resources, resources)
_TIMING = {  # the ptq run times fp32 against int8 with every core of the job
    "smoke": Resources(threads=1, mem_mb=1500, runtime=5),
    "laptop": Resources(threads=2, mem_mb=3000, runtime=20),
    "paper": Resources(threads=8, mem_mb=16000, runtime=120),
}

# The int8 MiniLM runs time with one thread below paper scale, as the bonsai table times the same model: on a
# 2-core machine shared with other work, two threads wait for each other at every operator (MiniLM at batch 1
# measured 8.6 ms with one thread and 40-430 ms with two while another job ran), which no ratio survives.
_MINILM_TIMING = {"smoke": _TIMING["smoke"], "laptop": replace(_TIMING["laptop"], threads=1), "paper": _TIMING["paper"]}


# Settings with equal weight and activation bits and one granularity: the only rows a bit-width
# line may join (binary/ternary and calibration variants are other kinds of setting).
_EQUAL_BITS = r"w(?P<x>\d+)a(?P=x)-(?P<family>channel|tensor)"

class QuantizationStudy(Study):
    name = "quantization"
    # below paper scale each run is trained and evaluated by one job (a minute or two): one interpreter,
    # torch import, data and model load instead of two (issue 22)
    evaluate_in_training = ("smoke", "laptop")
    title = "Quantization: PTQ, QAT, LSQ, real int8, WrapNet accumulators, federated QAT"
    citation = ("Ni et al., WrapNet: Neural Net Inference with Ultra-Low-Precision Arithmetic, ICLR 2021; "
                "Esser et al., Learned Step Size Quantization, ICLR 2020; Jacob et al., CVPR 2018")
    tables = (
        TableSpec(
            name="quantization",
            methods=_TABLE_RUNS["quantization"],
            title="Quantization of the baseline models: accuracy, size and real int8 speed",
            metrics={"accuracy": "Test accuracy (%)", "size_kb": "Size (KiB)",
                     "latency_b1_ms": "Latency b=1 (ms/img)", "latency_b64_ms": "Latency b=64 (ms/img)",
                     "speedup_b1": "int8 speed-up b=1", "speedup_b64": "int8 speed-up b=64"},
            decimals={"accuracy": 2, "size_kb": 1, "latency_b1_ms": 3, "latency_b64_ms": 4,
                      "speedup_b1": 2, "speedup_b64": 2},
            figures=(FigureSpec("accuracy-vs-bits", x="setting", y="accuracy", settings=_EQUAL_BITS,
                                methods=("ptq", "qat", "lsq"), reference=("fp32", "float"), logx=2, y_range=(0, 100),
                                x_title="Bits per weight and activation (WkAk)",
                                title="Accuracy against bit width: PTQ, QAT and LSQ, per granularity"),
                     FigureSpec("accuracy-vs-size", x="size_kb", y="accuracy", settings=_EQUAL_BITS,
                                methods=("ptq", "qat", "lsq"), reference=("fp32", "float"), logx=10,
                                y_range=(0, 100), title="Accuracy against model size (WkAk settings)")),
            caption=QUANTIZATION_CAPTION,
        ),
        TableSpec(
            name="wrapnet",
            methods=_TABLE_RUNS["wrapnet"],
            title="WrapNet: accuracy and overflow with b-bit accumulators",
            metrics={"naive_wrap_acc": "Normal QAT, wrap (%)", "naive_clamp_acc": "Normal QAT, clamp(final sum) (%)",
                     "wrapnet_acc": "WrapNet (%)", "naive_overflow_l1": "Overflow L1 (%)",
                     "naive_overflow_l2": "Overflow L2 (%)", "wrapnet_overflow_l1": "WrapNet overflow L1 (%)",
                     "wrapnet_overflow_l2": "WrapNet overflow L2 (%)", "safe_bits": "No-overflow width",
                     "a2q_acc": "A2Q ref. (%)", "a2qplus_acc": "A2Q+ ref. (%)", "acc_bits": "Accumulator bits"},
            rows=("dataset", "setting"),
            decimals={"naive_overflow_l1": 3, "naive_overflow_l2": 3, "wrapnet_overflow_l1": 3, "wrapnet_overflow_l2": 3,
                      "safe_bits": 0, "acc_bits": 0, "a2q_acc": 1, "a2qplus_acc": 1},
            figures=(FigureSpec("accuracy-vs-accumulator", x="acc_bits", hue="metric", settings=r"acc\d+",
                                y=("naive_wrap_acc", "naive_clamp_acc", "wrapnet_acc"), logx=2, y_range=(0, 100),
                                y_title="Test accuracy (%)",
                                secondary=("naive_overflow_l1", "naive_overflow_l2"),
                                secondary_title="Overflow, normal QAT (% of outputs)", secondary_range=(0, 100),
                                title="Accumulator width: naive wrap-around, clamp and WrapNet"),),
            caption=WRAPNET_CAPTION,
        ),
        TableSpec(
            name="fedqat",
            methods=_TABLE_RUNS["fedqat"],
            title="Federated QAT: accuracy against broadcast bits (closest public work)",
            metrics={"accuracy": "Test accuracy (%)", "broadcast_bits": "Broadcast bits",
                     "downlink_mb": "Downlink total (MB)", "uplink_mb": "Uplink total (MB)"},
            decimals={"accuracy": 2, "broadcast_bits": 0, "downlink_mb": 2, "uplink_mb": 2},
            figures=(FigureSpec("accuracy-vs-downlink", x="downlink_mb", y="accuracy", logx=10, y_range=(0, 100),
                                title="FedAvg: accuracy against total downlink"),),
            caption="FedAvg, 10 clients, MLP on digits trained from scratch. fp32: float broadcast; qat: the server keeps "
                    "float weights, broadcasts them quantized to k bits (per-channel symmetric weights, fp32 biases and "
                    "scales), clients train with weight fake quantization and upload float updates; posthoc: the fp32 "
                    "model quantized to k bits after training (its downlink was fp32). iid or Dirichlet(0.3) label skew. "
                    "Accuracy of the k-bit model. No paper exists for this chapter: not a reproduction.",
        ),
        TableSpec(
            name="quantization_int8_minilm",
            methods=_TABLE_RUNS["quantization_int8_minilm"],
            title="Dynamic int8 where it pays: all-MiniLM-L6-v2's Linear layers, fidelity, size and speed",
            metrics={"cosine": "Embedding fidelity (cosine to fp32)", "size_mb": "Size (MiB)",
                     "latency_b1_ms": "Latency b=1 (ms/sentence)", "latency_b32_ms": "Latency b=32 (ms/sentence)",
                     "speedup_b1": "int8 speed-up b=1", "speedup_b32": "int8 speed-up b=32"},
            decimals={"cosine": 4, "size_mb": 1, "latency_b1_ms": 2, "latency_b32_ms": 3, "speedup_b1": 2,
                      "speedup_b32": 2},
            caption=INT8_MINILM_CAPTION,
        ),
    )

    def grid(self, scale: str, seeds: int) -> list[Run]:
        return (self._quantization_runs(scale, seeds) + self._wrapnet_runs(scale, seeds) + self._fed_runs(scale, seeds)
                + self._minilm_runs(scale, seeds))

    def _need(self, dataset: str, seed: int) -> str:
        return f"baselines/{dataset}/{_BASELINE_MODEL[dataset]}/dense/seed{seed}"

    def _quantization_runs(self, scale: str, seeds: int) -> list[Run]:
        runs = []
        for dataset, finetune in _FINETUNE[scale].items():
            smoke = scale == "smoke"
            per_method = {
                "ptq": {"settings": _PTQ_SETTINGS[::3] if smoke else _PTQ_SETTINGS},
                "qat": {"settings": ["w4a4-channel", "wta4-channel"] if smoke else _QAT_SETTINGS, **finetune},
                "lsq": {"settings": ["w4a4-channel"] if smoke else _LSQ_SETTINGS, **finetune},
            }
            for method, params in per_method.items():
                planned = _TIMING[scale] if method == "ptq" else _RESOURCES[scale]
                resources, eval_resources = _job_resources(dataset, planned)
                for seed in range(seeds):
                    runs.append(Run(self.name, dataset, method, "all", seed,
                                    params={**params, "calibration_size": 512}, resources=resources,
                                    eval_resources=eval_resources, needs=(self._need(dataset, seed),)))
        return runs

    def _wrapnet_runs(self, scale: str, seeds: int) -> list[Run]:
        runs = []
        for plan in _WRAPNET[scale]:
            params = {"widths": plan["widths"], "act_bits": 3, "edge_bits": 8, "knee": 0.5, "penalty": 1.0,
                      "calibration_size": 512, "examples": plan["examples"],
                      "naive": {"optimizer": "adam", **plan["naive"]},
                      "wrapnet": {"optimizer": "adam", **plan["wrapnet"]}}
            if "test_size" in plan:
                params["test_size"] = plan["test_size"]
            resources, eval_resources = _job_resources(plan["dataset"], _RESOURCES[scale])
            runs += [Run(self.name, plan["dataset"], "wrapnet", "all", seed, params=params, resources=resources,
                         eval_resources=eval_resources, needs=(self._need(plan["dataset"], seed),))
                     for seed in range(seeds)]
        return runs

    def _fed_runs(self, scale: str, seeds: int) -> list[Run]:
        params = {"clients": 10, "local_epochs": 1, "batch_size": 32, "lr": 0.05, "hidden": [128, 64],
                  "splits": {"iid": None, "dirichlet0.3": 0.3}, **_FED[scale]}
        return [Run(self.name, "digits", "fedavg", "all", seed, params=params, resources=_RESOURCES[scale],
                    eval_resources=_RESOURCES[scale]) for seed in range(seeds)]

    def _minilm_runs(self, scale: str, seeds: int) -> list[Run]:
        """One run per seed (latency is machine noise: the seeds repeat the timing, as the ptq runs');
        the CPU-heavy part is the model load and a few seconds of timing."""
        params = {"model": "all-MiniLM-L6-v2", "eval_sentences": _MINILM_SENTENCES[scale], "min_run_time": 0.5}
        return [Run(self.name, "pydoc_sentences", "int8_minilm", "all", seed, params=params,
                    resources=_MINILM_TIMING[scale], eval_resources=_MINILM_TIMING[scale]) for seed in range(seeds)]

    def train(self, ctx: RunContext) -> dict:
        from . import pipeline

        if ctx.run.method == "ptq":
            return {"note": "post-training quantization: calibration happens at evaluation"}
        if ctx.run.method == "int8_minilm":
            return {"note": "dynamic int8 of a pretrained model: quantized and measured at evaluation"}
        trainers = {"qat": pipeline.train_qat, "lsq": pipeline.train_qat, "wrapnet": pipeline.train_wrapnet,
                    "fedavg": pipeline.train_fedavg}
        return trainers[ctx.run.method](ctx)

    def evaluate(self, ctx: RunContext) -> dict:
        from . import pipeline

        evaluators = {"ptq": pipeline.evaluate_ptq, "qat": pipeline.evaluate_qat, "lsq": pipeline.evaluate_qat,
                      "wrapnet": pipeline.evaluate_wrapnet, "fedavg": pipeline.evaluate_fedavg,
                      "int8_minilm": pipeline.evaluate_int8_minilm}
        return evaluators[ctx.run.method](ctx)

    def table_runs(self, spec: TableSpec, runs):
        from .tables import explode

        return explode(runs[runs["method"].isin(_TABLE_RUNS[spec.name])])

    def table_rows(self, spec: TableSpec, runs: list[Run]) -> set[tuple[str, str, str]]:
        """The rows each run reports (``pipeline.evaluate_*``), from the settings in its params."""
        rows = set()
        for run in (r for r in runs if r.method in _TABLE_RUNS[spec.name]):
            p, d = run.params, run.dataset
            if run.method == "ptq":
                rows |= {(d, "fp32", "float"), (d, "int8-kernel", f"w8a8-{_INT8_PATH[_BASELINE_MODEL[d]]}")}
            if run.method in ("ptq", "qat", "lsq"):
                rows |= {(d, run.method, setting) for setting in p["settings"]}
            elif run.method == "wrapnet":
                rows |= {(d, "wrapnet", f"acc{bits}") for bits in p["widths"]}
            elif run.method == "fedavg":
                for split in p["splits"]:
                    rows |= {(d, f"fp32-{split}", "k32")}
                    rows |= {(d, f"{kind}-{split}", f"k{bits}") for kind in ("qat", "posthoc") for bits in p["bits"]}
            elif run.method == "int8_minilm":
                rows |= {(d, "fp32", "float"), (d, "int8-kernel", "w8a8-dynamic")}
        return rows

    def wide(self, long, spec: TableSpec):
        from .tables import drop_empty_columns

        frame, sources = super().wide(long, spec)
        return drop_empty_columns(frame), sources


STUDY = QuantizationStudy()

_JACOB = ("Jacob et al., Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only "
          "Inference, CVPR 2018")
_ESSER = "Esser et al., Learned Step Size Quantization, ICLR 2020"
_WRAPNET_PAPER = "Ni et al., WrapNet: Neural Net Inference with Ultra-Low-Precision Arithmetic, ICLR 2021"
_MODELS = ("digits", "fashion_mnist", "cifar10", "imagenet")
_FP32 = Side("fp32", "float")
CLAIMS = (
    Claim("ptq-w8a8-within-1pt", _JACOB, "Section 4 (8-bit models close to float; sentence not re-read offline)",
          "8-bit weights and activations (W8A8) lose at most 1 point of accuracy against fp32.",
          "quantization", "accuracy", _MODELS,
          tuple(Paired(Side("ptq", s), _FP32, margin=-1.0,
                       margin_reason="-1 point: 'within 1 point of fp32', the suite's reading of 8-bit parity")
                for s in ("w8a8-tensor", "w8a8-channel"))),
    Claim("ptq-4bit-visible-loss", _JACOB, "Section 4 (low bit widths; sentence not re-read offline)",
          "Post-training quantization at 4 bits or fewer loses a visible amount of accuracy against fp32.",
          "quantization", "accuracy", _MODELS,
          tuple(Paired(_FP32, Side("ptq", s), margin=1.0,
                       margin_reason="+1 point: a loss larger than the 8-bit parity margin counts as visible")
                for s in ("w4a4-channel", "w2a2-channel"))),
    Claim("qat-lsq-recover-low-bits", _ESSER, "abstract; Table 1 (low-bit accuracy against other methods)",
          "Quantization-aware fine-tuning (QAT, and LSQ's learned step sizes) recovers low-bit accuracy that "
          "post-training quantization loses.",
          "quantization", "accuracy", _MODELS,
          tuple(Paired(Side(method, s), Side("ptq", s)) for method, settings in
                (("qat", ("w4a4-channel", "w2a2-channel", "wta4-channel")),
                 ("lsq", ("w4a4-channel", "w2a2-channel", "wta4-channel"))) for s in settings)),
    Claim("lsq-2bit-at-least-qat", _ESSER, "Section 3.1 and Table 1 (LSQ above other QAT methods at 2-4 bits)",
          "At 2 bits, LSQ's learned step sizes reach at least the accuracy of straight-through QAT with "
          "calibrated ranges, from the same float model and schedule.",
          "quantization", "accuracy", _MODELS,
          (Paired(Side("lsq", "w2a2-channel"), Side("qat", "w2a2-channel"), margin=-0.5,
                  margin_reason="-0.5 points: 'at or above plain QAT' (issue 17), with half a point for "
                                "seed noise of a one-epoch fine-tuning"),)),
    Claim("wrapnet-8bit-close-to-32bit", _WRAPNET_PAPER, "abstract (thesis abstract: 'comparable performance with 8-bit "
          "low-resolution accumulators')",
          "WrapNet keeps accuracy with an 8-bit accumulator close to its 32-bit accuracy.",
          "wrapnet", "wrapnet_acc", ("fashion_mnist", "cifar10", "imagenet"),
          (Paired(Side("wrapnet", "acc8"), Side("wrapnet", "acc32"), margin=-2.0,
                  margin_reason="-2 points: 'comparable' read as within 2 points (the suite's issue 3 threshold; "
                                "the paper's table could not be read offline)"),)),
    Claim("wrapnet-32bit-keeps-qat-accuracy", _WRAPNET_PAPER, "Section 3 (WrapNet fine-tunes a pretrained "
          "quantized net; sentence not re-read offline)",
          "WrapNet's cyclic activation costs little accuracy where nothing overflows: at 32 bits it stays close "
          "to the ternary/3-bit QAT network it is fine-tuned from.",
          "wrapnet", "wrapnet_acc", ("fashion_mnist", "cifar10", "imagenet"),
          (Paired(Side("wrapnet", "acc32"), Side("wrapnet", "acc32", metric="naive_wrap_acc"), margin=-3.0,
                  margin_reason="-3 points: within 3 points of the QAT net (issue 17 target)"),)),
    Claim("naive-wrap-collapses", _WRAPNET_PAPER, "Section 3 (integer overflow wraps around; sentence not re-read offline)",
          "A normally trained network whose 8-bit accumulator wraps around loses much of its accuracy.",
          "wrapnet", "naive_wrap_acc", ("fashion_mnist", "cifar10", "imagenet"),
          (Paired(Side("wrapnet", "acc32"), Side("wrapnet", "acc8"), margin=20.0,
                  margin_reason="+20 points: 'collapses' read as a loss of more than 20 points (the suite's "
                                "issue 3 threshold)"),)),
    Claim("fedqat-8bit-broadcast", "Ni, Improving Model and Data Efficiency for Deep Learning, PhD thesis, "
          "University of Maryland (federated QAT chapter; no public paper)", "thesis abstract",
          "Federated QAT with an 8-bit broadcast model reaches the accuracy of float FedAvg within 1 point.",
          "fedqat", "accuracy", ("digits",),
          tuple(Paired(Side(f"qat-{split}", "k8"), Side(f"fp32-{split}", "k32"), margin=-1.0,
                       margin_reason="-1 point: 'within 1 point of float', the suite's reading of 8-bit parity")
                for split in ("iid", "dirichlet0.3"))),
)
