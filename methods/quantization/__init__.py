"""Quantization study: uniform quantizers, PTQ/QAT/LSQ, real int8 kernels, WrapNet accumulators, federated QAT."""
