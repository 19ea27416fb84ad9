"""The offline language model, its error for unloadable names, and the embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from methods.core.errors import ConfigError
from methods.tabular_llm import lm, serialize
from methods.tabular_llm.cache import Cache


def test_minilm_embeds_meaning(minilm):
    e = minilm.embed(["a cat sits", "a kitten sits", "stock prices fell"])
    assert e.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.5


def test_unloadable_model_names_the_model(tmp_path):
    with pytest.raises(ConfigError, match="no-such-model"):
        lm.load(str(tmp_path / "no-such-model"))


def test_serialization_templates():
    assert serialize.koloski_cell("age", 39.0) == "This age is 39."
    assert serialize.row_text(["age", "sex"], [39.0, "Male"]) == "age is 39, sex is Male"
    assert serialize.tdt_cell("workclass", "State-gov") == "workclass State-gov"
    strings, ids = serialize.cell_table(["c"], [np.array(["x", "y", "x"], dtype=object)], serialize.koloski_cell)
    assert strings == ["This c is x.", "This c is y."] and ids[:, 0].tolist() == [0, 1, 0]


def test_cache_embeds_each_distinct_string_once(heart_cache, minilm):
    cache = Cache.load(heart_cache, rows=270)
    s = cache.summary
    assert s["rows"] == 270 and s["distinct_cells"] < 270 * 13  # repeated cells are embedded once
    strings = cache.arrays["cell_strings"].tolist()
    assert len(set(strings)) == len(strings)
    i = strings.index("This thal is normal.")
    np.testing.assert_allclose(cache.arrays["cell_emb"][i], minilm.embed(["This thal is normal."])[0], atol=1e-5)
    pooled = cache.cell_features()
    np.testing.assert_allclose(pooled[0], cache.arrays["cell_emb"][cache.arrays["cell_ids"][0]].mean(0), atol=1e-6)
    pieces = cache.pieces(["thal normal"])[0]
    ids = cache.arrays["tok_vocab"][pieces].tolist()
    assert ids == minilm.token_ids(["thal normal"])[0]
    np.testing.assert_allclose(cache.tok_table[pieces], minilm.token_table(np.array(ids)), atol=1e-6)
    with pytest.raises(Exception, match="rows"):
        Cache.load(heart_cache, rows=100)


def test_cache_without_row_texts_serves_the_cell_methods_only(heart_path, minilm):
    """At laptop scale Adult's embed run skips the row texts (their MiniLM cost); the cell cache is complete."""
    from methods.core.errors import DataError
    from methods.tabular_llm import cache
    from methods.tabular_llm.families import load_rows

    table, columns = load_rows(heart_path, "keel_heart", 40)
    arrays, summary = cache.build(table, columns, minilm, batch_size=64, row_text=False)
    assert "row_emb" not in arrays and summary["row_s"] is None and summary["distinct_rows"] is None
    loaded = Cache(arrays, summary)
    assert loaded.cell_features().shape == (40, minilm.dim)
    with pytest.raises(DataError, match="row texts"):
        loaded.row_features()
