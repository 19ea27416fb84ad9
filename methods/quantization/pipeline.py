"""What each kind of run of the quantization study does (imported by ``study.py`` inside train/evaluate).

* ``ptq``: the baseline in fp32, as a real int8 model (``torch.ao`` kernels), and fake-quantized after
  training at every PTQ setting (calibration only). Nothing to train.
* ``qat`` / ``lsq``: fine-tune the baseline at each setting with straight-through or learned-step
  quantizers, one saved model per setting.
* ``wrapnet``: a normally trained ternary/low-bit integer model (QAT from the baseline, exact
  accumulators), evaluated with wrap-around and clamp at every accumulator width; then WrapNet
  fine-tuned at each width (wrap in the forward pass, cyclic activation, overflow penalty).
* ``fedavg``: FedAvg from scratch at every broadcast width, IID and Dirichlet non-IID clients.
* ``int8_minilm``: all-MiniLM-L6-v2 in fp32 and with dynamic int8 Linear layers: embedding fidelity,
  size and speed-up (:mod:`.encoder_int8`). Nothing to train.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from methods.core.atomic import atomic_path, write_json
from methods.core.seeding import derive_seed, seed_everything
from methods.core.study import RunContext
from methods.models.training import TrainConfig, accuracy, train_classifier

from .tables import key


def _baseline(ctx: RunContext, with_model: bool = True):
    """The split and trained model of the baseline run this run starts from."""
    from methods.baselines.models import load_split, load_trained

    need = ctx.run.needs[0]
    folder = ctx.needs[need]
    params = json.loads((folder / "train.json").read_text())["spec"]["params"]
    if "test_size" in ctx.run.params:
        params = {**params, "test_size": ctx.run.params["test_size"]}
    dataset, method = need.split("/")[1:3]
    split = load_split(dataset, ctx.data[dataset], params, workers=ctx.threads)
    model = load_trained(folder, dataset, method, params, split) if with_model else None
    return split, model


def _calibration(x, size: int, seed: int) -> torch.Tensor:
    """``size`` training examples (of image files: their evaluation views, decoded into a tensor)."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "calibration"))
    return x[torch.randperm(len(x), generator=generator)[:size]]


def _train_subset(split, examples: int | None, seed: int):
    if not examples or examples >= len(split.y_train):
        return split.x_train, split.y_train
    generator = torch.Generator().manual_seed(derive_seed(seed, "qat-subset"))
    index = torch.randperm(len(split.y_train), generator=generator)[:examples]
    return split.x_train[index], split.y_train[index]


def _train_config(params: dict) -> TrainConfig:
    return TrainConfig(epochs=params["epochs"], batch_size=params["batch_size"], lr=params["lr"],
                       optimizer=params.get("optimizer", "adam"), weight_decay=params.get("weight_decay", 0.0),
                       milestones=tuple(params.get("milestones", ())), augment=params.get("augment", "none"),
                       schedule=params.get("schedule", "step"))


def _save(model: torch.nn.Module, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)


# --- ptq: fp32, real int8 and post-training fake quantization -----------------------------------

def evaluate_ptq(ctx: RunContext) -> dict:
    from methods.core import cpu, measure

    from .int8 import int8_model, int8_path
    from .qmodules import QuantConfig, packed_size_bytes, quantize_model

    params = ctx.run.params
    split, model = _baseline(ctx)
    calib = _calibration(split.x_train, params["calibration_size"], ctx.run.seed)
    example = split.x_test[:1]
    metrics: dict[str, float] = {}
    timings: dict[str, float] = {}

    def latencies(name, setting, net):
        for batch in (1, 64):
            latency = measure.latency_ms(net, example, batch, ctx.threads, ctx.timing_seconds(0.5))
            timings[key(f"latency_b{batch}_ms", name, setting)] = latency / batch

    metrics[key("accuracy", "fp32", "float")] = accuracy(model, split.x_test, split.y_test)
    metrics[key("size_kb", "fp32", "float")] = measure.serialized_bytes(model) / 1024
    # the int8 row names its engine beside the CPU; without one its cells are None: not supported on
    # this CPU, which is no failure of the method (``kernels`` goes into the tables' machines column)
    engine = cpu.int8_engine()
    int8_setting = f"w8a8-{int8_path(model)}"
    int8_keys = [key(m, "int8-kernel", int8_setting) for m in ("accuracy", "size_kb")]
    int8_timings = [key(m, "int8-kernel", int8_setting) for b in (1, 64) for m in (f"latency_b{b}_ms", f"speedup_b{b}")]
    latencies("fp32", "float", model)
    if engine.supported:
        int8, _ = int8_model(model, calib, engine.name)
        metrics[int8_keys[0]] = accuracy(int8, split.x_test, split.y_test)
        metrics[int8_keys[1]] = measure.serialized_bytes(int8) / 1024
        # fp32 and int8 timed in turn in one process (ratios, not absolute times, are comparable)
        latencies("int8-kernel", int8_setting, int8)
        for batch in (1, 64):
            fp32 = timings[key(f"latency_b{batch}_ms", "fp32", "float")]
            timings[key(f"speedup_b{batch}", "int8-kernel", int8_setting)] = fp32 / timings[key(f"latency_b{batch}_ms", "int8-kernel", int8_setting)]
    else:
        metrics.update(dict.fromkeys(int8_keys))
        timings.update(dict.fromkeys(int8_timings))
    for setting in params["settings"]:
        qmodel = quantize_model(model, QuantConfig.parse(setting), "ptq", calib)
        metrics[key("accuracy", "ptq", setting)] = accuracy(qmodel, split.x_test, split.y_test)
        metrics[key("size_kb", "ptq", setting)] = packed_size_bytes(qmodel) / 1024
    note = engine.note if engine.supported else f"int8 {engine.note}"  # "int8 engine x86" / "int8 not supported ..."
    return {"metrics": metrics, "timings": timings, "kernels": {"int8-kernel": note}}


# --- int8_minilm: dynamic int8 on all-MiniLM-L6-v2 ------------------------------------------------

def evaluate_int8_minilm(ctx: RunContext) -> dict:
    """fp32 against dynamic int8 all-MiniLM-L6-v2 on the bonsai table's held-out sentences
    (:mod:`.encoder_int8`); the model and sentences come from the pruning study's loader."""
    from methods.core import cpu
    from methods.pruning.runs_transformer import encoder_evaluation

    from .encoder_int8 import measure_int8_encoder

    params = ctx.run.params
    model, batches, example = encoder_evaluation(ctx, params)
    return measure_int8_encoder(model, batches, example, cpu.int8_engine(), ctx.threads,
                                ctx.timing_seconds(params["min_run_time"]), ctx.log)


# --- qat / lsq: fine-tuning with fake quantization ----------------------------------------------

def _quantized(ctx: RunContext, model, split, setting: str):
    from .qmodules import QuantConfig, quantize_model

    calib = _calibration(split.x_train, ctx.run.params["calibration_size"], ctx.run.seed)
    return quantize_model(model, QuantConfig.parse(setting), ctx.run.method, calib)


def train_qat(ctx: RunContext) -> dict:
    """Fine-tune each setting; LSQ runs also record how far each quantizer's steps moved (``lsq_step_change``)."""
    from .qmodules import learned_steps, step_change

    params = ctx.run.params
    split, model = _baseline(ctx)
    x, y = _train_subset(split, params.get("examples"), ctx.run.seed)
    losses, moved = {}, {}
    for setting in params["settings"]:
        final = ctx.run_dir / f"{setting}.pt"
        if final.exists():
            continue
        seed_everything(derive_seed(ctx.run.seed, setting))
        qmodel = _quantized(ctx, model, split, setting)
        initial = learned_steps(qmodel)
        checkpoint = ctx.run_dir / f"{setting}.ckpt"
        summary = train_classifier(qmodel, x, y, _train_config(params), ctx.run.seed, f"{ctx.run.run_id}:{setting}",
                                   checkpoint=checkpoint, log=ctx.log)
        _save(qmodel, final)
        checkpoint.unlink(missing_ok=True)
        losses[setting] = summary["train_loss"][-1]
        if initial:
            moved[setting] = step_change(initial, qmodel)
    return {"train_examples": len(y), "final_train_loss": losses, **({"lsq_step_change": moved} if moved else {})}


def evaluate_qat(ctx: RunContext) -> dict:
    from .qmodules import packed_size_bytes

    split, model = _baseline(ctx)
    metrics = {}
    for setting in ctx.run.params["settings"]:
        qmodel = _quantized(ctx, model, split, setting)
        qmodel.load_state_dict(torch.load(ctx.run_dir / f"{setting}.pt", weights_only=True))
        metrics[key("accuracy", ctx.run.method, setting)] = accuracy(qmodel, split.x_test, split.y_test)
        metrics[key("size_kb", ctx.run.method, setting)] = packed_size_bytes(qmodel) / 1024
    return {"metrics": metrics}


# --- wrapnet: accumulator width study ------------------------------------------------------------

def _integer(ctx: RunContext, model, split):
    from .wrapnet import init_integer_steps, to_integer

    params = ctx.run.params
    integer = to_integer(model, params["act_bits"], params["edge_bits"])
    init_integer_steps(integer, _calibration(split.x_train, params["calibration_size"], ctx.run.seed))
    return integer


def train_wrapnet(ctx: RunContext) -> dict:
    from .wrapnet import as_wrapnet, set_accumulator, wrapnet_loss

    params = ctx.run.params
    split, model = _baseline(ctx)
    x, y = _train_subset(split, params.get("examples"), ctx.run.seed)
    naive = _integer(ctx, model, split)
    naive_path = ctx.run_dir / "naive.pt"
    if naive_path.exists():
        naive.load_state_dict(torch.load(naive_path, weights_only=True))
    else:
        seed_everything(derive_seed(ctx.run.seed, "naive"))
        set_accumulator(naive, 32, "exact")
        train_classifier(naive, x, y, _train_config(params["naive"]), ctx.run.seed, f"{ctx.run.run_id}:naive",
                         checkpoint=ctx.run_dir / "naive.ckpt", log=ctx.log)
        _save(naive, naive_path)
    x, y = _train_subset(split, params["wrapnet"].get("examples"), ctx.run.seed)
    for bits in params["widths"]:
        final = ctx.run_dir / f"wrapnet-acc{bits}.pt"
        if final.exists():
            continue
        seed_everything(derive_seed(ctx.run.seed, "wrapnet", bits))
        wrapped = as_wrapnet(naive, bits, params["knee"])
        train_classifier(wrapped, x, y, _train_config(params["wrapnet"]), ctx.run.seed, f"{ctx.run.run_id}:acc{bits}",
                         checkpoint=ctx.run_dir / f"wrapnet-acc{bits}.ckpt", log=ctx.log,
                         loss_fn=wrapnet_loss(params["penalty"]))
        _save(wrapped, final)
    return {"train_examples": len(y), "widths": list(params["widths"])}


def evaluate_wrapnet(ctx: RunContext) -> dict:
    from .wrapnet import accuracy_and_overflow, as_wrapnet, naive_sweep, safe_width

    params = ctx.run.params
    split, model = _baseline(ctx)
    naive = _integer(ctx, model, split)
    naive.load_state_dict(torch.load(ctx.run_dir / "naive.pt", weights_only=True))
    x, y = split.x_test, split.y_test
    metrics = {}
    sweep = naive_sweep(naive, x, y, params["widths"])  # the naive net's wrap and clamp rows, every width
    for bits in params["widths"]:
        setting = f"acc{bits}"
        metrics[key("acc_bits", "wrapnet", setting)] = bits
        metrics[key("safe_bits", "wrapnet", setting)] = safe_width(naive)
        metrics[key("naive_clamp_acc", "wrapnet", setting)] = sweep[bits]["clamp"]
        # overflow rates of the naive network are those of its wrapping accumulator (same pass)
        metrics[key("naive_wrap_acc", "wrapnet", setting)] = sweep[bits]["wrap"]
        for i, rate in enumerate(sweep[bits]["overflow"], 1):
            metrics[key(f"naive_overflow_l{i}", "wrapnet", setting)] = 100 * rate
        wrapped = as_wrapnet(naive, bits, params["knee"])
        wrapped.load_state_dict(torch.load(ctx.run_dir / f"wrapnet-acc{bits}.pt", weights_only=True))
        metrics[key("wrapnet_acc", "wrapnet", setting)], rates = accuracy_and_overflow(wrapped, x, y, bits)
        metrics[key("wrapnet_overflow_max", "wrapnet", setting)] = 100 * max(rates)
        for i, rate in enumerate(rates, 1):  # each layer's rate under WrapNet's own weights (issue 17)
            metrics[key(f"wrapnet_overflow_l{i}", "wrapnet", setting)] = 100 * rate
    return {"metrics": metrics}


# --- fedavg: quantized broadcast -----------------------------------------------------------------

def _fed_model(split, params):
    from methods.baselines.models import build_model

    return build_model("mlp", tuple(split.x_train.shape[1:]), split.classes, {"hidden": params["hidden"]})


def _fed_split(ctx: RunContext):
    from methods.baselines.models import load_split

    return load_split(ctx.run.dataset, ctx.data[ctx.run.dataset], {})


def _fed_variants(params: dict):
    """(split name, Dirichlet alpha, mode, bits) of every FedAvg training of a run."""
    for name, alpha in params["splits"].items():
        yield name, alpha, "fp32", 32
        for bits in params["bits"]:
            yield name, alpha, "qat", bits


def train_fedavg(ctx: RunContext) -> dict:
    from .fedqat import FedConfig, fedavg, split_clients

    params = ctx.run.params
    split = _fed_split(ctx)
    info_path = ctx.run_dir / "fed_info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    for name, alpha, mode, bits in _fed_variants(params):
        tag = f"{mode}-{name}-k{bits}"
        if tag in info:
            continue
        parts = split_clients(split.y_train.numpy(), params["clients"], alpha, ctx.run.seed)
        seed_everything(derive_seed(ctx.run.seed, tag))
        model = _fed_model(split, params)
        config = FedConfig(clients=params["clients"], rounds=params["rounds"], local_epochs=params["local_epochs"],
                           batch_size=params["batch_size"], lr=params["lr"], bits=bits, qat=mode == "qat")
        info[tag] = fedavg(model, split.x_train, split.y_train, parts, config, derive_seed(ctx.run.seed, tag),
                           f"{ctx.run.run_id}:{tag}", checkpoint=ctx.run_dir / f"{tag}.ckpt")
        _save(model, ctx.run_dir / f"{tag}.pt")
        write_json(info_path, info)
    return {"trainings": len(info)}


def evaluate_fedavg(ctx: RunContext) -> dict:
    from .fedqat import quantized_copy

    params = ctx.run.params
    split = _fed_split(ctx)
    info = json.loads((ctx.run_dir / "fed_info.json").read_text())
    metrics = {}

    def report(method, setting, model, bits, cost):
        metrics[key("accuracy", method, setting)] = accuracy(quantized_copy(model, bits), split.x_test, split.y_test)
        metrics[key("downlink_mb", method, setting)] = cost["downlink_bits"] / 8e6
        metrics[key("uplink_mb", method, setting)] = cost["uplink_bits"] / 8e6
        metrics[key("broadcast_bits", method, setting)] = bits

    for name, _, mode, bits in _fed_variants(params):
        tag = f"{mode}-{name}-k{bits}"
        model = _fed_model(split, params)
        model.load_state_dict(torch.load(ctx.run_dir / f"{tag}.pt", weights_only=True))
        if mode == "fp32":
            report(f"fp32-{name}", "k32", model, 32, info[tag])
            for k in params["bits"]:  # the float-trained model quantized after the fact
                report(f"posthoc-{name}", f"k{k}", model, k, info[tag])
        else:
            report(f"qat-{name}", f"k{bits}", model, bits, info[tag])
    return {"metrics": metrics}
