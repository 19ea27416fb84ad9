"""Memory layout of tensors derived from a convolution's weight.

The suite keeps image models channels_last (``baselines.models``): oneDNN then runs convolution, ReLU
and max pooling in NHWC, and NCHW max pooling on CPUs is several times slower (19 ms against 2 ms for
a 128x32x28x28 batch on our 2-core hosts). A convolution runs NHWC when its weight has
channels_last strides. A one-input-channel weight (the stem of a grey-image model) is both
contiguous and channels_last by its shape, so element-wise operations on it (a quantizer, a pruning
mask) return the default strides, and the stem, with the pooling after it, silently falls back to
NCHW.
"""

from __future__ import annotations

import torch


def in_layout_of(weight: torch.Tensor, derived: torch.Tensor) -> torch.Tensor:
    """``derived`` (a tensor computed from ``weight``, of its shape) with ``weight``'s strides; a
    differentiable copy where they differ."""
    if derived.stride() == weight.stride():
        return derived
    return torch.empty_strided(weight.shape, weight.stride(), dtype=derived.dtype, device=derived.device).copy_(derived)
