"""The paper-scale code paths that no CPU run exercises, run once on a GPU; numbers and failures to one JSON.

Run: ``tools/gpu_check.sh [--size full|tiny] [--out result.json] [--omniglot resources/prepared/omniglot.npz]
[--smollm2 <prepared>.model]`` (``--size full`` fits 10 minutes on one H100; ``tiny`` runs in seconds on a
CPU and is what the test runs, so the script cannot rot).

Checks, each timed and caught on its own (a failure is recorded with its traceback; the next check runs):

* ``omniglot_protonet``: Snell et al. 2017's exact protocol (Sec. 3.1): Conv-4 (64), plain
  squared-Euclidean head, 60-way training with 5 queries, Adam 1e-3 halved every 2,000 episodes, one
  model per shot, best of 5-way validation points; tested on 1,000 fixed 5- and 20-way episodes.
  Without ``--omniglot`` the images are random (the JSON says so): the path runs, the accuracy is chance.
* ``resnet12_maxup``: ResNet-12 with DropBlock (84 px, MetaOptNet Sec. 4.1), the scaled ProtoNet head,
  Meta-MaxUp with m = 4 copies from the official six-recipe pool, SGD as the official
  ``train_maxup.py``; time and peak memory per episode.
* ``llama_fp16``: the pruning study's GPU placement (float16, as Bonsai's ``get_llm``): a decoder with
  SmolLM2-135M's architecture (the prepared model folder with ``--smollm2``, else random weights and
  the JSON says so), perplexity of random-token text before and after removing a third of its
  attention units and MLP blocks by Bonsai's Wanda prior (|W| x RMS of the input, computed in float16), and the float16-vs-float32 logit error.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from methods.metalearning.backbones import Conv4, ResNet12
from methods.metalearning.data import load_pools
from methods.metalearning.episodes import ClassPool, EpisodeSampler
from methods.metalearning.evaluation import embedded, few_shot_accuracies
from methods.metalearning.heads import build_head
from methods.metalearning.maxup import meta_maxup_loss
from methods.metalearning.study import MAXUP_POOL
from methods.metalearning.training import EpisodicConfig, train_episodic

# SmolLM2-135M's config.json (HuggingFaceTB/SmolLM2-135M-Instruct): LLaMA, GQA 9 query / 3 kv heads
SMOLLM2 = {"vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
           "num_attention_heads": 9, "num_key_value_heads": 3, "max_position_embeddings": 8192,
           "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": True}
TINY_LLAMA = {"vocab_size": 96, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64}
SIZES = {
    "full": {"omniglot": {"width": 64, "n_way": 60, "episodes": 4000, "validate_every": 500, "val_episodes": 200,
                          "test_episodes": 1000},
             "maxup": {"image": 84, "widths": (64, 160, 320, 640), "episodes": 40, "m": 4},
             "llama": {"config": SMOLLM2, "rows": 8, "tokens": 256, "block": 32}},
    "tiny": {"omniglot": {"width": 8, "n_way": 5, "episodes": 4, "validate_every": 2, "val_episodes": 3,
                          "test_episodes": 5},
             "maxup": {"image": 32, "widths": (8, 8, 8, 8), "episodes": 2, "m": 4},
             "llama": {"config": TINY_LLAMA, "rows": 2, "tokens": 16, "block": 32}},
}


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _peak_mb(device: str) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None


def _omniglot_pools(path: str | None, device: str, classes: int) -> tuple[dict, str]:
    if path:
        pools = load_pools("omniglot", Path(path), {"rotations": True, "val_classes": 60})
        data = "omniglot"
    else:
        g = torch.Generator().manual_seed(0)
        pools = {name: ClassPool(torch.randint(0, 256, (classes, 20, 1, 28, 28), generator=g, dtype=torch.uint8),
                                 True, name) for name in ("train", "val", "test")}
        data = "random images (no --omniglot given): accuracies are chance"
    return {k: replace(p, images=p.images.to(device)) for k, p in pools.items()}, data


def check_omniglot(size: dict, device: str, omniglot: str | None) -> dict:
    """Snell et al.'s protocol, one model per shot; test accuracy at 5 and 20 ways, its own shot."""
    pools, data = _omniglot_pools(omniglot, device, max(size["n_way"], 20))
    out = {"data": data, "n_way": size["n_way"], "episodes": size["episodes"]}
    for shot in (1, 5):
        torch.manual_seed(shot)
        backbone, head = Conv4(1, size["width"]).to(device), build_head("protonet", {"protonet_form": "plain"})
        config = EpisodicConfig(episodes=size["episodes"], n_way=size["n_way"], k_shot=shot, n_query=5,
                                optimizer="adam", lr=1e-3, weight_decay=0.0, lr_halve_every=2000,
                                validate_every=size["validate_every"], val_episodes=size["val_episodes"],
                                val_way=5, val_shot=shot, val_query=15, checkpoint_every=10**9)
        _sync(device)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            summary = train_episodic(backbone, head, pools["train"], config, shot, f"gpu-check-{shot}shot",
                                     Path(tmp) / "ck.pt", val_pool=pools["val"])
        _sync(device)
        test = embedded(backbone, pools["test"])
        out[f"{shot}shot"] = {
            "train_seconds": time.perf_counter() - start,
            "validation": summary["validation"], "kept_episode": summary["kept_episode"],
            **{f"acc_{ways}w{shot}s": float(np.mean(few_shot_accuracies(head, test, ways, shot, 15,
                                                                      size["test_episodes"], 20170301 + ways)))
               for ways in (5, 20)}}
    return out


def check_maxup(size: dict, device: str) -> dict:
    """A short Meta-MaxUp loop on ResNet-12 with the official SGD settings; ms and peak MB per episode."""
    torch.manual_seed(0)
    px = size["image"]
    backbone = ResNet12(3, widths=size["widths"], drop_block=5 if px == 84 else 2).to(device)
    head = build_head("protonet", {}).to(device)
    g = torch.Generator().manual_seed(0)
    pool = ClassPool(torch.randint(0, 256, (16, 12, 3, px, px), generator=g, dtype=torch.uint8).to(device))
    sampler, rng = EpisodeSampler(pool, 5, 5, 6), np.random.default_rng(0)
    optimizer = torch.optim.SGD([*backbone.parameters(), *head.parameters()], lr=0.1, momentum=0.9,
                                weight_decay=5e-4, nesterov=True)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    losses, times = [], []
    for _ in range(size["episodes"]):
        _sync(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss, _ = meta_maxup_loss(backbone, head, sampler.sample(g), MAXUP_POOL, size["m"], rng)
        loss.backward()
        optimizer.step()
        _sync(device)
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    if not all(math.isfinite(v) for v in losses):
        raise FloatingPointError(f"non-finite Meta-MaxUp loss: {losses}")
    steady = times[1:] or times
    return {"image": px, "m": size["m"], "episodes": size["episodes"], "first_loss": losses[0],
            "last_loss": losses[-1], "ms_per_episode": 1000 * float(np.median(steady)), "peak_mb": _peak_mb(device)}


def _llama(size: dict, smollm2: str | None, dtype: torch.dtype, device: str):
    import transformers

    if smollm2:
        model = transformers.AutoModelForCausalLM.from_pretrained(smollm2, dtype=dtype)
        return model.to(device).eval(), "SmolLM2-135M (prepared folder)"
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**size["config"]))
    shape = "SmolLM2-135M architecture" if size["config"] is SMOLLM2 else "tiny LLaMA"
    return model.to(dtype=dtype, device=device).eval(), f"random weights, {shape}"


def check_llama(size: dict, device: str, smollm2: str | None) -> dict:
    """float16 forward, perplexity, unit removal and perplexity again, then two LoRA adaptation steps
    with one window per forward pass (float32 adapters on the float16 model, as at paper scale), on
    the pruning study's decoder path."""
    from methods.pruning import adaptation as lora
    from methods.pruning.decoder_units import LLAMA, perplexity
    from methods.pruning.priors import output_statistics, wanda_prior
    from methods.pruning.units import remove_units, unit_layout

    half = torch.float16
    model, weights = _llama(size, smollm2, half, device)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (size["rows"], size["tokens"]), generator=g).to(device)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    with torch.no_grad():
        logits16 = model(**batch).logits.float()
        logits32 = model.float()(**batch).logits
    model.to(half)
    error = float((logits16 - logits32).abs().max() / logits32.abs().max())
    dense = perplexity(model, [batch])
    teacher = lora.decoder_teacher(model, batch)
    layout = unit_layout(model, LLAMA, size["block"])
    scores = wanda_prior(model, layout, LLAMA, output_statistics(model, LLAMA, [batch]))  # Bonsai's prior, in fp16
    heads, blocks = layout.split(scores)
    keep = torch.cat([torch.cat([h >= h.quantile(1 / 3), b >= b.quantile(1 / 3)]) for h, b in zip(heads, blocks)])
    _sync(device)
    start = time.perf_counter()
    remove_units(model, keep, layout, LLAMA)
    pruned = perplexity(model, [batch])
    _sync(device)
    prune_seconds = time.perf_counter() - start
    config = lora.AdaptationConfig(steps=2, windows=size["rows"], context=size["tokens"], rank=8, lr=1e-4, warmup=0,
                                   rows=1)
    windows = [({key: value[i:i + 1] for key, value in batch.items()}, teacher[i:i + 1]) for i in range(size["rows"])]
    done = lora.adapt(model, LLAMA, lambda step: windows, lora.decoder_loss(config.kl_weight), config, seed=0)
    adapted = perplexity(model, [batch])
    _sync(device)
    if not all(math.isfinite(value) for value in (dense, pruned, adapted, done["last_loss"])):
        raise FloatingPointError(f"non-finite perplexity: dense {dense}, pruned {pruned}, adapted {adapted}")
    return {"weights": weights, "dtype": "float16", "fp16_vs_fp32_max_rel_logit_error": error,
            "perplexity_dense": dense, "perplexity_pruned": pruned, "perplexity_adapted": adapted,
            "kept_units": int(keep.sum()), "units": int(keep.numel()), "prune_and_eval_seconds": prune_seconds,
            "adapt_seconds": done["seconds"], "peak_mb": _peak_mb(device)}


def run(size: str, device: str, omniglot: str | None = None, smollm2: str | None = None) -> dict:
    """Every check at ``size`` on ``device``; a check that raises is recorded as failed, the rest still run."""
    plan = SIZES[size]
    checks = {"omniglot_protonet": lambda: check_omniglot(plan["omniglot"], device, omniglot),
              "resnet12_maxup": lambda: check_maxup(plan["maxup"], device),
              "llama_fp16": lambda: check_llama(plan["llama"], device, smollm2)}
    result = {"size": size, "device": device, "torch": torch.__version__, "host": platform.node(),
              "gpu": torch.cuda.get_device_name() if device == "cuda" else None, "checks": {}}
    for name, check in checks.items():
        start = time.perf_counter()
        try:
            record = {"ok": True, **check()}
        except Exception as error:  # noqa: BLE001 - every failure is the check's result, not a crash
            record = {"ok": False, "error": repr(error), "traceback": traceback.format_exc()}
        record["seconds"] = time.perf_counter() - start
        result["checks"][name] = record
    result["ok"] = all(record["ok"] for record in result["checks"].values())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--omniglot", help="prepared Omniglot (resources/prepared/omniglot.npz)")
    parser.add_argument("--smollm2", help="prepared SmolLM2 model folder (<prepared>.model)")
    parser.add_argument("--out", default="gpu_check.json")
    args = parser.parse_args(argv)
    result = run(args.size, args.device, args.omniglot, args.smollm2)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({name: record["ok"] for name, record in result["checks"].items()}))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
