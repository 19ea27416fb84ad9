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


def _sha256_of_raw(data_root, name: str) -> dict[str, str]:
    import hashlib

    from methods.data.registry import get_dataset

    return {f.name: hashlib.sha256((data_root / "raw" / name / f.name).read_bytes()).hexdigest()
            for f in get_dataset(name).files}


def test_compas_keeps_defendant_features_only(prepared, data_root):
    compas = load_table(prepared("compas"))
    assert len(compas) == 7214 and int(compas.y.sum()) == 3251  # two_year_recid = 1
    assert compas.names == ["sex", "age", "age category", "race", "juvenile felony count",
                            "juvenile misdemeanor count", "juvenile other count", "prior offenses count",
                            "charge degree", "charge description"]
    assert compas.kinds.count("text") == 5 and set(compas.columns[8]) == {"felony", "misdemeanor"}
    assert not any("score" in n or "recid" in n for n in compas.names)  # COMPAS's score and outcomes left out
    assert _sha256_of_raw(data_root, "compas") == {
        "compas-scores-two-years.csv": "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"}


@pytest.mark.parametrize("name,rows,columns,text,counts,sha256", [
    ("keel_mushroom", 5644, 22, 22, [3488, 2156], "5ba826112a0b61d6803bc82eb0c241e0eb66e4a6fe067c1854572513d543188f"),
    ("keel_chess", 3196, 36, 36, [1527, 1669], "f47f7d920e117ab5764d3adcd2f6446ca596290261756ecd35c81b12fcaec061"),
    ("keel_contraceptive", 1473, 9, 7, [629, 333, 511],
     "ad2a49da55df24b061a994ecc4d90c856aba35acd05138851aa251c4f06303c9"),
    ("keel_marketing", 6876, 13, 11, [1255, 529, 505, 618, 527, 846, 784, 1069, 743],
     "305d3fb6e240e2da41e7cc137359f9c2546e08bde0459b313086f829e5b5dd46"),
])
def test_mid_size_keel_sets(prepared, data_root, name, rows, columns, text, counts, sha256):
    table = load_table(prepared(name))
    assert (len(table), len(table.names), table.kinds.count("text")) == (rows, columns, text)
    assert np.bincount(table.y).tolist() == counts
    assert _sha256_of_raw(data_root, name) == {f"{name.removeprefix('keel_')}.dat": sha256}


def test_keel_codes_are_decoded_to_words(prepared):
    mushroom = load_table(prepared("keel_mushroom"))
    assert set(mushroom.columns[mushroom.names.index("odor")]) == {
        "almond", "anise", "creosote", "foul", "musty", "none", "pungent"}
    cmc = load_table(prepared("keel_contraceptive"))
    assert cmc.classes == ["no use", "long-term", "short-term"]
    assert set(cmc.columns[cmc.names.index("wife's education")]) == {"low", "lower middle", "upper middle", "high"}
    marketing = load_table(prepared("keel_marketing"))
    language = marketing.columns[marketing.names.index("language spoken most often at home")]
    assert (language == "english").sum() == 6277 and marketing.classes[-1] == "$75,000 or more"


def test_undocumented_codes_name_the_dataset_and_column(tmp_path):
    from methods.data.keel_tabular import prepare_contraceptive

    good = "24,2,3,3,1,1,2,3,0,{}\n"
    (tmp_path / "contraceptive.dat").write_text(good.format(1) * 1470 + good.format(2) + good.format(3)
                                                + "24,7,3,3,1,1,2,3,0,1\n")
    with pytest.raises(DataError, match="contraceptive: column 'wife's education' has undocumented codes"):
        prepare_contraceptive(tmp_path, tmp_path / "out.npz")
