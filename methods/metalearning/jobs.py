"""One run of the study: build the learner, train it episodically, evaluate it on fixed episodes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from methods.core.atomic import atomic_path
from methods.core.errors import ConfigError
from methods.core.seeding import derive_seed, seed_everything

from .backbones import build_backbone
from .data import lake_runs, load_pools
from .evaluation import embedded, few_shot_accuracies, lake_runs_accuracies
from .heads import build_head
from .training import EpisodicConfig, train_episodic

_CONFIG_KEYS = ("episodes", "n_way", "k_shot", "n_query", "lr", "momentum", "weight_decay", "episodes_per_step",
                "checkpoint_every", "validate_every", "keep_best", "val_episodes", "val_way", "val_shot", "val_query", "optimizer",
                "lr_halve_every", "precision", "feat_aug", "crop_padding", "hflip")


def episodic_config(params: dict, setting: str, settings: dict, maxup_pool: tuple[str, ...]) -> EpisodicConfig:
    """The training configuration of ``setting`` (a recipe name of ``settings``, or ``maxup``)."""
    if setting not in settings:
        raise ConfigError("setting", setting, f"one of {sorted(settings)}")
    fields = {k: params[k] for k in _CONFIG_KEYS if k in params}
    if setting == "maxup":
        return EpisodicConfig(**fields, maxup_pool=tuple(maxup_pool), maxup_m=int(params["maxup_m"]))
    return EpisodicConfig(**fields, augment=settings.get(setting) or "none")


def build_learner(params: dict, pools) -> tuple[torch.nn.Module, torch.nn.Module]:
    channels = pools["train"].images.shape[2]
    return build_backbone(params["backbone"], channels, params), build_head(params["head"], params)


def train_run(ctx, settings: dict, maxup_pool: tuple[str, ...]) -> dict:
    run, params = ctx.run, dict(ctx.run.params)
    pools = load_pools(run.dataset, ctx.data[run.dataset], params)
    config = episodic_config(params, run.setting, settings, maxup_pool)
    seed_everything(run.seed)
    backbone, head = build_learner(params, pools)
    checkpoint = ctx.run_dir / "checkpoint.pt"
    summary = train_episodic(backbone, head, pools["train"], config, run.seed, run.run_id, checkpoint, ctx.log,
                             val_pool=pools["val"])
    with atomic_path(ctx.run_dir / "model.pt") as tmp:
        torch.save({"backbone": backbone.state_dict(), "head": head.state_dict()}, tmp)
    checkpoint.unlink(missing_ok=True)
    return {**summary, "train_classes": pools["train"].n_classes, "episodes_per_second": config.episodes / summary["seconds"]}


def load_learner(run_dir: Path, params: dict, pools):
    backbone, head = build_learner(params, pools)
    state = torch.load(run_dir / "model.pt", weights_only=True)
    backbone.load_state_dict(state["backbone"])
    head.load_state_dict(state["head"])
    return backbone.eval(), head.eval()


CURVE_EPISODE, CURVE_ACCURACY = "curve/val_episode", "curve/val_accuracy"


def validation_curve(run_dir: Path) -> dict[str, list[float]]:
    """The training's validation points (``train.json``) as two index-paired sample lists, so that
    the collected runs carry the learning curve to the figures; empty when training did not validate."""
    points = json.loads((run_dir / "train.json").read_text())["summary"].get("validation", [])
    if not points:
        return {}
    return {CURVE_EPISODE: [float(e) for e, _ in points], CURVE_ACCURACY: [float(a) for _, a in points]}


def evaluate_run(ctx) -> dict:
    run, params = ctx.run, dict(ctx.run.params)
    pools = load_pools(run.dataset, ctx.data[run.dataset], params)
    backbone, head = load_learner(ctx.run_dir, params, pools)
    start = time.perf_counter()
    test = embedded(backbone, pools["test"])
    seed, count, query = int(params["test_seed"]), int(params["test_episodes"]), int(params["test_query"])
    samples: dict[str, list[float]] = {}
    if params.get("shot_matched"):
        # Snell et al.'s Omniglot protocol (2017, Sec. 3.1): a model trained with k shots is scored at k shots
        # only, at 5 and 20 ways (and on Lake's runs); the Meta-MaxUp runs on Omniglot take the branch below
        shot = int(params["k_shot"])
        for ways in (5, 20):
            samples[f"acc_{ways}w{shot}s"] = few_shot_accuracies(
                head, test, ways, shot, query, count, derive_seed(seed, ways, shot))
        if shot == 1:
            samples["lake_20w1s"] = lake_runs_accuracies(backbone, head, **lake_runs(ctx.data[run.dataset]))
        episodes = 2 * count
    else:
        ways = int(params["test_way"])
        for shot in (1, 5):
            samples[f"acc_{shot}shot"] = few_shot_accuracies(head, test, ways, shot, query, count,
                                                             derive_seed(seed, ways, shot))
        gap = int(params["gap_episodes"])
        samples["train_acc"] = few_shot_accuracies(head, embedded(backbone, pools["train"]), ways, 5, query, gap,
                                                    derive_seed(seed, "train"))
        samples["val_acc"] = few_shot_accuracies(head, embedded(backbone, pools["val"]), ways, 5, query, gap,
                                                 derive_seed(seed, "val"))
        # episodes are index-paired but independent: the interval of the difference is the unpaired one
        samples["gap"] = list(np.subtract(samples["train_acc"], samples["val_acc"]))
        episodes = 2 * count + 2 * gap
    seconds = time.perf_counter() - start
    return {
        "metrics": {name: float(np.mean(values)) for name, values in samples.items()},
        "samples": {**samples, **validation_curve(ctx.run_dir)},
        "timings": {"test_episodes_per_s": episodes / seconds},
    }
