"""Dynamic int8 on a BERT-style encoder (the ``quantization_int8_minilm`` table), on a tiny random BERT:
the Linear layers become int8 layers, the model shrinks, the fidelity is the cosine to the fp32 model's
embeddings of the same sentences, and a CPU without an int8 engine gets a recorded "not supported"."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from methods.core import cpu
from runrecord import write_metrics

from methods.core.study import RunContext
from methods.quantization.encoder_int8 import measure_int8_encoder
from methods.quantization.int8 import dynamic_int8
from methods.quantization.study import STUDY
from methods.reporting import collect, paper, render

transformers = pytest.importorskip("transformers")

NOTE_OFF = f"int8 not supported on this CPU (disabled by {cpu.DISABLE_ENV})"


@pytest.fixture(scope="module")
def tiny_bert():
    """A BertModel with random weights: 2 layers of hidden 64 (4 heads), MLP 256, a 100-token vocabulary."""
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=100, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=256, max_position_embeddings=32)
    return transformers.BertModel(config).eval()


@pytest.fixture(scope="module")
def sentences():
    """Two batches of token ids, the second padded (its attention mask has zeros)."""
    generator = torch.Generator().manual_seed(1)
    first = {"input_ids": torch.randint(1, 100, (3, 7), generator=generator),
             "attention_mask": torch.ones(3, 7, dtype=torch.long)}
    mask = torch.tensor([[1] * 9, [1] * 5 + [0] * 4])
    second = {"input_ids": torch.randint(1, 100, (2, 9), generator=generator) * mask, "attention_mask": mask}
    return [first, second]


def _embed(model, batch):
    from methods.pruning.encoder_units import embed

    with torch.no_grad():
        return embed(model, batch)


def test_dynamic_int8_replaces_every_linear_and_records_the_deprecation(tiny_bert, int8_engine):
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    linears = [name for name, m in tiny_bert.named_modules() if type(m) is nn.Linear]
    assert len(linears) == 2 * 6 + 1  # q, k, v, attention output, MLP in and out per layer; the pooler
    quantized, raised = dynamic_int8(tiny_bert, int8_engine)
    modules = dict(quantized.named_modules())
    assert all(isinstance(modules[name], DynamicLinear) for name in linears)
    assert not any(type(m) is nn.Linear for m in quantized.modules())
    assert all(type(m) is nn.Linear for name, m in tiny_bert.named_modules() if name in linears)  # a copy
    assert isinstance(quantized.embeddings.word_embeddings, nn.Embedding)  # embeddings stay fp32
    assert torch.backends.quantized.engine == int8_engine
    # torch 2.13 deprecates torch.ao.quantization: the warning comes back to the caller, not swallowed
    assert any(w.startswith("DeprecationWarning") and "torch.ao.quantization" in w for w in raised)


def test_int8_cells_shrink_the_model_and_score_it_against_fp32_on_the_same_sentences(tiny_bert, sentences,
                                                                                     int8_engine):
    engine = cpu.int8_engine()
    example = sentences[0]["input_ids"][:1]
    result = measure_int8_encoder(tiny_bert, sentences, example, engine, 1, 0.01, logging.getLogger("test"))
    metrics, timings = result["metrics"], result["timings"]
    assert metrics["size_mb|int8-kernel|w8a8-dynamic"] < 0.6 * metrics["size_mb|fp32|float"]
    assert metrics["cosine|fp32|float"] == pytest.approx(1.0, abs=1e-6)

    # by hand: embed the same five sentences with both models, cosine per sentence, mean over sentences
    quantized, _ = dynamic_int8(tiny_bert, int8_engine)
    per_sentence = torch.cat([nn.functional.cosine_similarity(_embed(quantized, b), _embed(tiny_bert, b))
                              for b in sentences])
    assert len(per_sentence) == 5
    assert metrics["cosine|int8-kernel|w8a8-dynamic"] == pytest.approx(float(per_sentence.mean()), abs=1e-5)
    assert metrics["cosine|int8-kernel|w8a8-dynamic"] > 0.9
    # the int8 model is not the fp32 one scored against itself: its embeddings differ
    assert max(float((_embed(quantized, b) - _embed(tiny_bert, b)).abs().max()) for b in sentences) > 1e-4
    for batch in (1, 32):
        fp32 = timings[f"latency_b{batch}_ms|fp32|float"]
        int8 = timings[f"latency_b{batch}_ms|int8-kernel|w8a8-dynamic"]
        assert fp32 > 0 and int8 > 0
        assert timings[f"speedup_b{batch}|int8-kernel|w8a8-dynamic"] == pytest.approx(fp32 / int8)
    note = result["kernels"]["int8-kernel"]
    assert note.startswith(f"int8 engine {int8_engine}, torch CPU capability {torch.backends.cpu.get_cpu_capability()}")


def test_fidelity_is_the_cosine_to_the_reference_embeddings_of_the_same_inputs():
    """Hand-checkable: a one-token 'encoder' whose hidden state is a row of a table; the fidelity of table
    b to table a is the mean of the rows' cosines, and pairing different sentences gives another number."""
    from methods.pruning.runs_transformer import fidelity, sentence_embeddings

    class Lookup(nn.Module):
        def __init__(self, rows):
            super().__init__()
            self.rows = torch.tensor(rows)

        def forward(self, input_ids, attention_mask):
            return SimpleNamespace(last_hidden_state=self.rows[input_ids])

    a = Lookup([[3.0, 4.0], [1.0, 0.0]])
    b = Lookup([[4.0, 3.0], [1.0, 1.0]])
    batches = [{"input_ids": torch.tensor([[0], [1]]), "attention_mask": torch.ones(2, 1)}]
    expected = (24 / 25 + 1 / 2 ** 0.5) / 2  # cos([3,4],[4,3]) = 24/25, cos([1,0],[1,1]) = 1/sqrt(2)
    assert fidelity(b, batches, sentence_embeddings(a, batches)) == pytest.approx(expected)
    swapped = [{"input_ids": torch.tensor([[1], [0]]), "attention_mask": torch.ones(2, 1)}]
    assert fidelity(b, batches, sentence_embeddings(a, swapped)) != pytest.approx(expected)


def _record(monkeypatch, tmp_path, model, batches, seed: int) -> object:
    """The study's evaluation of an int8_minilm run on ``model``, written as the runner writes metrics.json."""
    import methods.pruning.runs_transformer as RT

    monkeypatch.setattr(RT, "encoder_evaluation", lambda ctx, params: (model, batches, batches[0]["input_ids"][:1]))
    (run,) = [r for r in STUDY.grid("smoke", seed + 1) if r.method == "int8_minilm" and r.seed == seed]
    ctx = RunContext(run, "smoke", tmp_path, {}, {}, 1, logging.getLogger("test"))
    assert STUDY.train(ctx)["note"]
    result = STUDY.evaluate(ctx)
    return write_metrics(tmp_path, run.spec("smoke"), result, seed)


def test_without_an_int8_engine_the_run_records_not_supported_and_the_table_says_so(monkeypatch, tmp_path,
                                                                                   tiny_bert, sentences):
    monkeypatch.setenv(cpu.DISABLE_ENV, "int8")
    path = _record(monkeypatch, tmp_path, tiny_bert, sentences, 0)
    record = json.loads(path.read_text())
    assert record["kernels"] == {"int8-kernel": NOTE_OFF}
    assert record["metrics"]["cosine|int8-kernel|w8a8-dynamic"] is None
    assert record["metrics"]["size_mb|int8-kernel|w8a8-dynamic"] is None
    assert record["timings"]["speedup_b32|int8-kernel|w8a8-dynamic"] is None
    assert record["timings"]["latency_b1_ms|fp32|float"] > 0  # the fp32 row is still measured

    spec = STUDY.table("quantization_int8_minilm")
    long = STUDY.summarize(spec, collect.collect([path]), "smoke", paper.load(None, "quantization"))
    assert set(zip(long["dataset"], long["method"], long["setting"])) == STUDY.table_rows(
        spec, [r for r in STUDY.grid("smoke", 1) if r.method == "int8_minilm"])
    int8 = long[long["method"] == "int8-kernel"]
    assert int8["mean"].isna().all() and (int8["n"] == 0).all()
    assert set(int8["machines"]) == {f"Test CPU ({NOTE_OFF})"}
    fp32 = long[long["method"] == "fp32"].set_index("metric")
    assert fp32.loc["cosine", "mean"] == pytest.approx(1.0, abs=1e-6) and (fp32["n"] == 1).all()
    text = render.markdown(long, spec, layout=STUDY.wide)
    assert "not supported on the CPU named" in text
    assert NOTE_OFF in render.footnote(long, spec)


def test_the_other_quantization_tables_do_not_wait_for_the_minilm_runs():
    from methods.core.claims_plan import feeds

    minilm = [r for r in STUDY.grid("laptop", 5) if r.method == "int8_minilm"]
    assert len(minilm) == 5 and {r.resources.threads for r in minilm} == {1}
    for spec in STUDY.tables:
        assert all(feeds(spec, r) == (spec.name == "quantization_int8_minilm") for r in minilm)


def test_minilm_is_scored_on_the_bonsai_tables_held_out_sentences():
    from methods.pruning.study import STUDY as PRUNING

    for scale in ("smoke", "laptop", "paper"):
        ours = {r.params["eval_sentences"] for r in STUDY.grid(scale, 1) if r.method == "int8_minilm"}
        bonsai = {r.params["eval_sentences"] for r in PRUNING.grid(scale, 1)
                  if r.params.get("model") == "all-MiniLM-L6-v2"}
        assert ours == bonsai and len(ours) == 1
        assert {r.dataset for r in STUDY.grid(scale, 1) if r.method == "int8_minilm"} == {"pydoc_sentences"}
