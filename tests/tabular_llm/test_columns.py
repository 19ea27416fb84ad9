"""Column typing, overrides and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from methods.core.errors import ConfigError, DataError
from methods.data.tabular_format import Table, load_table
from methods.tabular_llm.columns import BINARY, CATEGORICAL, NUMERICAL, binary_values, check_target, infer_types
from methods.tabular_llm.preprocess import typed_matrices


def _table(**columns):
    names = list(columns)
    return Table(names, [columns[n] for n in names], np.array([0, 1, 0, 1]), ["a", "b"])


def test_inference_and_overrides(heart_path):
    heart = load_table(heart_path)
    kinds = {c.name: c.kind for c in infer_types(heart, "keel_heart")}
    assert kinds["age"] == NUMERICAL and kinds["chest pain type"] == CATEGORICAL
    assert kinds["sex"] == BINARY and kinds["exercise induced angina"] == BINARY
    kinds = {c.name: c.kind for c in infer_types(heart, "keel_heart", overrides={"sex": CATEGORICAL})}
    assert kinds["sex"] == CATEGORICAL


def test_numeric_text_is_parsed_and_mixed_text_is_rejected():
    table = _table(x=np.array(["1.5", "2", "", "7"]), y=np.array(["a", "b", "c", "a"]))
    kinds = [c.kind for c in infer_types(table, "t", overrides={})]
    assert kinds == [NUMERICAL, CATEGORICAL] and np.isnan(table.columns[0][2])
    with pytest.raises(DataError, match="mixed types"):
        infer_types(_table(x=np.array(["1.5", "two", "3", "4"])), "t", overrides={})


def test_bad_overrides_and_targets():
    table = _table(x=np.array([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ConfigError, match="nope"):
        infer_types(table, "t", overrides={"nope": BINARY})
    with pytest.raises(ConfigError, match="ordinal"):
        infer_types(table, "t", overrides={"x": "ordinal"})
    with pytest.raises(DataError, match="1 class"):
        check_target(np.zeros(10, dtype=int), "t")


def test_binary_values_and_mode_imputation_on_train_rows_only():
    assert binary_values(np.array(["Male", "Female", "Male"])).tolist() == [1, 0, 1]
    assert binary_values(np.array(["b", "a"])).tolist() == [1, 0]  # no named level: the later one is 1
    table = _table(x=np.array([5.0, np.nan, 9.0, 9.0]), c=np.array(["u", "v", "", "v"]))
    columns = infer_types(table, "t", overrides={"c": CATEGORICAL})
    typed = typed_matrices(table, columns, train_rows=np.array([0, 1]))
    # train rows see x = 5 only (9 is in the held-out rows) and c = u or v (tie -> smallest)
    assert typed.num[1, 0] == 5.0 and typed.cat[2, 0] == "u" and typed.imputed == 2
