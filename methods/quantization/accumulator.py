"""Exact emulation of a b-bit integer accumulator (WrapNet, Ni et al., ICLR 2021, Section 3).

Two's-complement b-bit addition is addition modulo 2^b, and reduction modulo 2^b commutes with
addition, so wrapping every partial sum of a dot product equals computing the exact integer sum and
wrapping it once: ``wrap_b(x) = ((x + 2^(b-1)) mod 2^b) - 2^(b-1)``. The exact sum is computed by an
ordinary float32 conv/linear on integer-valued operands, which is exact (in any summation order)
while every partial sum stays below 2^24 in magnitude; :func:`check_float_exact` guards that bound.

A saturating accumulator's result depends on the order of the additions; clamping only the final
sum (:func:`saturate`, named "clamp(final sum)" in the tables) is an approximation of it.
"""

from __future__ import annotations

import math

import torch

from methods.core.errors import ConfigError

FLOAT32_EXACT = 2**24
MAX_ACCUMULATOR_BITS = 32


def _check_bits(bits: int) -> None:
    if not isinstance(bits, int) or not 2 <= bits <= MAX_ACCUMULATOR_BITS:
        raise ConfigError("wrapnet.accumulator_bits", bits, f"an integer in [2, {MAX_ACCUMULATOR_BITS}]")


def wrap(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Two's-complement wrap-around of integer-valued ``x`` into ``[-2^(b-1), 2^(b-1) - 1]``.

    Its autograd gradient is 1 (the remainder's jumps contribute none), so training "sees" the wrap in the
    forward pass while gradients flow as through the identity.
    """
    _check_bits(bits)
    if bits >= 25:  # float32 integer-valued sums below 2^24 never reach these ranges
        return x
    half = float(2 ** (bits - 1))
    return torch.remainder(x + half, 2 * half) - half


def saturate(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Clamp the final sum into the b-bit signed range ("clamp(final sum)")."""
    _check_bits(bits)
    half = float(2 ** (bits - 1))
    return torch.clamp(x, -half, half - 1)


def overflows(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Mask of exact sums outside the b-bit signed range ``[-2^(b-1), 2^(b-1) - 1]``."""
    half = 2 ** (bits - 1)
    return (x > half - 1) | (x < -half)


def product_bits(weight_max: int, activation_max: int) -> int:
    """Signed bits needed to hold one product ``w * a``."""
    return math.ceil(math.log2(weight_max * activation_max + 1)) + 1


def safe_bits(fan_in: int, weight_max: int, activation_max: int) -> int:
    """Smallest signed width that can never overflow: ``ceil(log2(N * max|w| * max|a|)) + 1``
    (the A2Q no-overflow bound; brevitas ``super_resolution/utils/evaluate.py``)."""
    return math.ceil(math.log2(fan_in * weight_max * activation_max + 1)) + 1


def check_operands(bits: int, weight_max: int, activation_max: int) -> None:
    """An accumulator narrower than one product of its operands is a configuration error."""
    _check_bits(bits)
    needed = product_bits(weight_max, activation_max)
    if bits < needed:
        raise ConfigError("wrapnet.accumulator_bits", bits,
                          f">= {needed} bits to hold one product of |w| <= {weight_max} and |a| <= {activation_max}")


def check_float_exact(fan_in: int, weight_max: int, activation_max: int, bias_max: int = 0) -> None:
    """Raise if a float32 dot product of these integer operands could round (|partial sum| >= 2^24)."""
    bound = fan_in * weight_max * activation_max + bias_max
    if bound >= FLOAT32_EXACT:
        raise ConfigError("wrapnet.exact_sum_bound", bound, f"< 2^24 = {FLOAT32_EXACT} for exact float32 sums")


def accumulate(exact: torch.Tensor, bits: int, mode: str) -> torch.Tensor:
    """The accumulator's result for the exact integer sums: ``wrap``, ``clamp`` or ``exact``."""
    if mode == "wrap":
        return wrap(exact, bits)
    if mode == "clamp":
        return saturate(exact, bits)
    if mode == "exact":
        return exact
    raise ConfigError("wrapnet.accumulator_mode", mode, "one of ['wrap', 'clamp', 'exact']")
