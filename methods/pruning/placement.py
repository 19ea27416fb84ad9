"""Where a decoder runs and in which precision: from the GPUs its job was planned with and what CUDA sees.

Bonsai loads its LLaMA models in float16 on one GPU (``get_llm`` in ``ldery/Bonsai`` main.py); the
laptop-scale jobs ask for no GPU and keep float32 on the CPU, so their numbers do not depend on
the machine having a GPU. A job planned with a GPU that finds none runs on the CPU in float32 (and
says so in its summary).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    device: str  # "cpu" | "cuda"
    dtype: str  # "float32" | "float16"

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)


CPU = Placement("cpu", "float32")
GPU = Placement("cuda", "float16")


def choose_placement(gpus: int, cuda_available: bool) -> Placement:
    """Half precision on the GPU when the job was given one and CUDA sees it; float32 on the CPU otherwise."""
    return GPU if gpus > 0 and cuda_available else CPU


def job_placement(gpus: int) -> Placement:
    import torch

    return choose_placement(gpus, torch.cuda.is_available())
