"""Long run: what a Fashion-MNIST model of the baselines study reaches when trained to convergence.

Issue 17: the laptop baseline must come within 1 point of this reference. Trains the study's model
(``--model cnn``: the SmallCNN, widths 32/64; ``cnn_fc``: the same with a hidden layer of 256 units, the
quantization study's model) on the full 60,000 training images with the paper-scale schedule of
``methods/baselines/study.py`` (SGD, momentum 0.9, lr 0.05, weight decay 5e-4, batch 128, lr / 10 at
epochs 15 and 25 of 30) and prints the test accuracy after every epoch, so the plateau is visible. One
run, seed 0, one thread:

    EFFREPRO_PREPARED=resources/prepared nice -n 10 python benchmarks/converged_baseline.py --model cnn_fc
"""

from __future__ import annotations

import argparse
import os
import resource
from pathlib import Path

import torch
import torch.nn.functional as F

from methods.baselines.models import build_model, load_split
from methods.baselines.study import _SCHEDULES
from methods.core.seeding import derive_seed, seed_everything
from methods.models.training import accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", default=os.environ.get("EFFREPRO_PREPARED", "resources/prepared"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--milestones", type=int, nargs="*", default=[15, 25])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", choices=("cnn", "cnn_fc"), default="cnn")
    args = parser.parse_args()
    torch.set_num_threads(1)
    split = load_split("fashion_mnist", Path(args.prepared) / "fashion_mnist.npz", {})
    seed_everything(args.seed)
    params = _SCHEDULES["fashion_mnist"][args.model]["paper"]  # the model's shape (its schedule is the one above)
    model = build_model(args.model, tuple(split.x_train.shape[1:]), split.classes, params)
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, args.milestones, 0.1)
    for epoch in range(args.epochs):
        model.train()
        generator = torch.Generator().manual_seed(derive_seed(args.seed, "epoch", epoch))
        order = torch.randperm(len(split.y_train), generator=generator)
        for start in range(0, len(order), 128):
            index = order[start:start + 128]
            loss = F.cross_entropy(model(split.x_train[index]), split.y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(f"epoch {epoch + 1} test {accuracy(model, split.x_test, split.y_test):.2f} "
              f"cpu_s {usage.ru_utime + usage.ru_stime:.0f}", flush=True)


if __name__ == "__main__":
    main()
