"""The table datasets prepared from the pip packages' files: sizes, labels, types, missing values."""

from __future__ import annotations

import numpy as np
import pytest

from methods.core.errors import DataError
from methods.data.tabular_format import Table, load_table, save_table


def test_adult_and_german_match_uci(prepared):
    adult = load_table(prepared("adult"))
    assert len(adult) == 48842 and len(adult.names) == 14
    assert abs(adult.y.mean() - 0.239) < 0.001  # 11,687 of 48,842 earn >50K
    workclass = adult.columns[adult.names.index("workclass")]
    assert (workclass == "").sum() > 2000  # '?' kept as missing, for the model's imputation
    assert adult.kinds[adult.names.index("age")] == "numeric"

    german = load_table(prepared("german_credit"))
    assert len(german) == 1000 and int(german.y.sum()) == 300  # 700 good / 300 bad
    purpose = german.columns[german.names.index("purpose")]
    assert "radio/television" in set(purpose)  # codes decoded to text
    assert set(german.columns[german.names.index("telephone")]) == {"yes", "no"}


def test_keel_sets_decode_codes(heart_path, prepared):
    heart = load_table(heart_path)
    assert len(heart) == 270 and int(heart.y.sum()) == 120
    assert set(heart.columns[heart.names.index("thal")]) == {"normal", "fixed defect", "reversible defect"}
    votes = load_table(prepared("keel_housevotes"))
    assert len(votes) == 232 and len(votes.names) == 16


def test_table_format_roundtrip_and_checks(tmp_path):
    table = Table(["a", "b"], [np.array([1.0, np.nan]), np.array(["x", ""])], np.array([0, 1]), ["no", "yes"],
                  {"target": "t"})
    save_table(tmp_path / "t.npz", table)
    back = load_table(tmp_path / "t.npz")
    assert back.names == ["a", "b"] and back.kinds == ["numeric", "text"] and np.isnan(back.columns[0][1])
    with np.load(tmp_path / "t.npz", allow_pickle=False) as raw:  # no pickled objects anywhere
        assert raw["col001"].dtype.kind == "U"
    with pytest.raises(DataError, match="rows"):
        save_table(tmp_path / "bad.npz", Table(["a"], [np.array([1.0])], np.array([0, 1]), ["n", "y"]))
