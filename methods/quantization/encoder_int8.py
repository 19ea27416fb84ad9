"""Dynamic int8 where it pays: all-MiniLM-L6-v2's Linear layers (the ``quantization_int8_minilm`` table).

The digits MLP's dynamic int8 row of the ``quantization`` table is slower than fp32: its layers are
64 wide, and quantizing each input, running a tiny int8 product and dequantizing its output costs
more than the few thousand multiply-adds it saves. Dynamic int8 is what people use on CPUs for
transformer encoders, whose 384x1536 projections are large enough for int8 products to pay, so this
run measures it there, as the bonsai table sees the model (:mod:`methods.pruning.runs_transformer`:
same loader, same held-out sentences, same fidelity):

* fidelity: mean cosine of the int8 model's sentence embeddings to the fp32 model's, same sentences;
* size: the serialized state dict (``torch.save``), fp32 and int8 (the word embeddings stay fp32);
* latency per sentence at batch 1 and 32 and the int8 speed-up, fp32 and int8 timed in turn in one
  process with the suite's timer (:func:`methods.core.measure.latency_ms`: warm-up, repeats, median),
  as the ``quantization`` table times the digits MLP.

The kernels are those of the platform's quantized engine (:func:`methods.core.cpu.int8_engine`); a CPU
without one gets the fp32 row and empty int8 cells marked "int8 not supported on this CPU (...)" in
the run's ``kernels`` note, which the table's footnote prints, instead of a crash.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from methods.core.cpu import Capability

from .tables import key

BATCHES = (1, 32)
FP32 = ("fp32", "float")
INT8 = ("int8-kernel", "w8a8-dynamic")


def _cpu_capability() -> str:
    """The instruction set torch's CPU kernels dispatch to here (``AVX512``, ``AVX2``, ...), never assumed."""
    return torch.backends.cpu.get_cpu_capability()


def measure_int8_encoder(model: nn.Module, batches: list[dict], example: torch.Tensor, engine: Capability,
                         threads: int, seconds: float, log: logging.Logger) -> dict:
    """The table's cells for an fp32 encoder and its dynamic int8 copy: ``{"metrics", "timings", "kernels"}``
    as :meth:`methods.core.study.Study.evaluate` returns them (metric keys ``metric|method|setting``).

    ``batches``: the evaluation batches (tokenized sentences); ``example``: ``input_ids`` of one
    sentence, repeated to each batch size of :data:`BATCHES` for timing; ``seconds``: the timer's
    minimum run time per measurement."""
    from methods.core.measure import latency_ms, serialized_bytes
    from methods.pruning.runs_transformer import fidelity, sentence_embeddings, timed_encoder

    from .int8 import dynamic_int8

    metrics: dict[str, float | None] = {}
    timings: dict[str, float | None] = {}
    reference = sentence_embeddings(model, batches)

    def measure(row: tuple[str, str], net: nn.Module) -> None:
        metrics[key("cosine", *row)] = fidelity(net, batches, reference)
        metrics[key("size_mb", *row)] = serialized_bytes(net) / 2**20
        for batch in BATCHES:
            timings[key(f"latency_b{batch}_ms", *row)] = latency_ms(timed_encoder(net), example, batch, threads,
                                                                    seconds) / batch

    measure(FP32, model)  # its fidelity is 1 up to rounding: a check that both rows see the same inputs
    int8_cells = [key(m, *INT8) for m in ("cosine", "size_mb")]
    int8_timings = [key(f"{m}_b{b}{unit}", *INT8) for b in BATCHES for m, unit in (("latency", "_ms"), ("speedup", ""))]
    if not engine.supported:
        metrics.update(dict.fromkeys(int8_cells))
        timings.update(dict.fromkeys(int8_timings))
        return {"metrics": metrics, "timings": timings, "kernels": {"int8-kernel": f"int8 {engine.note}"}}
    int8, raised = dynamic_int8(model, engine.name)
    for warning in raised:  # the deprecation of torch.ao, recorded in the job's log rather than hidden
        log.warning("torch.ao.quantization.quantize_dynamic: %s", warning)
    measure(INT8, int8)
    for batch in BATCHES:  # fp32 and int8 timed in turn in one process: their ratio is the comparable number
        fp32_ms = timings[key(f"latency_b{batch}_ms", *FP32)]
        timings[key(f"speedup_b{batch}", *INT8)] = fp32_ms / timings[key(f"latency_b{batch}_ms", *INT8)]
    deprecated = "; torch.ao API deprecated" if any(w.startswith("DeprecationWarning") for w in raised) else ""
    note = f"{engine.note}, torch CPU capability {_cpu_capability()}{deprecated}"
    return {"metrics": metrics, "timings": timings, "kernels": {"int8-kernel": note}}
