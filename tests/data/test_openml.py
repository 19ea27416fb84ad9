"""OpenML datasets end to end, offline, on the real OpenML responses that scikit-learn ships as test
fixtures (``sklearn/datasets/tests/data/openml/``: API JSON and ARFF files, some cut to a few rows),
served to urllib as if by openml.org, as scikit-learn's own ``test_openml.py`` does."""

from __future__ import annotations

import email.message
import gzip
import hashlib
import io
import json
import re
import shutil
import urllib.request
import urllib.response
from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets

from methods.core.errors import DataError
from methods.core.plan import build_plan, left_out_summary
from methods.data import fetch, openml_tabular
from methods.data.registry import get_dataset
from methods.data.tabular_format import load_table
from methods.tabular_llm.columns import infer_types
from methods.tabular_llm.study import _SCALES

FIXTURES = Path(sklearn.datasets.__file__).parent / "tests" / "data" / "openml"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="this scikit-learn has no OpenML test fixtures")
# how scikit-learn's fixtures shorten the URL paths into file names
_SHORT = (("-json-data-features", "-jdf"), ("-json-data-qualities", "-jdq"), ("-json-data", "-jd"), ("-download", "-dl"))


class _OpenMLOrg(urllib.request.BaseHandler):
    """Answers https://www.openml.org/ requests with the fixture files; ``corrupt`` alters every ARFF."""

    handler_order = 0

    def __init__(self):
        self.requests: list[str] = []
        self.corrupt = False

    def https_open(self, request):
        url = request.full_url
        self.requests.append(url)
        path = url.removeprefix("https://www.openml.org/")
        suffix = ".arff" if path.startswith("data/v1/download/") else ".json"
        if suffix == ".arff":
            path = path.rsplit("/", 1)[0]  # the fixtures' names leave out the data file's name
        name = re.sub(r"\W", "-", path) + suffix + ".gz"
        for long, short in _SHORT:
            name = name.replace(long, short)
        [fixture] = FIXTURES.glob(f"id_*/{name}")
        payload = gzip.decompress(fixture.read_bytes())
        if suffix == ".arff" and self.corrupt:
            payload += b"% one more comment line: still valid ARFF, but not the file OpenML published\n"
        response = urllib.response.addinfourl(io.BytesIO(payload), email.message.Message(), url, 200)
        response.msg = "OK"
        return response


@pytest.fixture
def openml_org(monkeypatch):
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    server = _OpenMLOrg()
    urllib.request.install_opener(urllib.request.build_opener(server))
    yield server
    urllib.request.install_opener(None)


def _api(kind: str, data_id: int):
    """An OpenML API answer from the fixtures: ``jd`` description, ``jdf`` features, ``jdq`` qualities."""
    answer = json.loads(gzip.decompress((FIXTURES / f"id_{data_id}" / f"api-v1-{kind}-{data_id}.json.gz").read_bytes()))
    return next(iter(answer.values()))


def _qualities(data_id: int) -> dict[str, float]:
    return {q["name"]: float(q["value"]) for q in _api("jdq", data_id)["quality"] if isinstance(q["value"], str)}


def _learnable_features(data_id: int) -> list[dict]:
    target = _api("jd", data_id)["default_target_attribute"]
    return [f for f in _api("jdf", data_id)["feature"]
            if f["name"] != target and f["is_ignore"] == "false" and f["is_row_identifier"] == "false"]


def test_the_papers_76_datasets_are_registered_in_batch_sh_order_and_run_at_paper_scale():
    ids = openml_tabular.PAPER_IDS
    assert len(ids) == 76 and len(set(ids)) == 76
    assert ids[:3] == (40975, 31, 44) and ids[-3:] == (1525, 40474, 40475)
    paper = list(_SCALES["paper"]["datasets"].items())
    assert paper[:13] == [(name, None) for name in ("adult", "german_credit", "keel_heart", "keel_housevotes",
                                                    "breast_cancer", "wine", "iris", "digits", "compas",
                                                    "keel_mushroom", "keel_chess", "keel_contraceptive",
                                                    "keel_marketing")]
    assert paper[13:] == [(f"openml_{data_id}", None) for data_id in ids]
    spec = get_dataset("openml_40966")
    assert spec.needs_download and spec.openml.data_id == 40966 and spec.homepage == "https://www.openml.org/d/40966"


def test_mice_protein_is_fetched_hashed_and_prepared_without_the_network(openml_org, tmp_path):
    raw, out = tmp_path / "raw" / "openml_40966", tmp_path / "prepared" / "openml_40966.npz"
    manifest = fetch.fetch_dataset("openml_40966", raw, allow_download=True)
    arff = "openml/openml.org/data/v1/download/17928620/MiceProtein.arff.gz"
    assert len(manifest["files"]) == 4 and manifest["openml"]["md5_checksum"] == _api("jd", 40966)["md5_checksum"]
    fixture = gzip.decompress((FIXTURES / "id_40966" / "data-v1-dl-17928620.arff.gz").read_bytes())
    assert manifest["files"][arff] == {"sha256": hashlib.sha256(fixture).hexdigest(), "payload": "gunzipped",
                                       "source": "https://www.openml.org"}
    fetched = len(openml_org.requests)

    get_dataset("openml_40966").prepare(raw, out)
    assert len(openml_org.requests) == fetched  # prepare reads the cache only
    table = load_table(out)
    features = _learnable_features(40966)  # MouseID (row id) and Genotype, Treatment, Behavior (ignored) left out
    assert len(table) == _qualities(40966)["NumberOfInstances"] == 7
    frame = sklearn.datasets.fetch_openml(data_id=40966, data_home=raw, parser="liac-arff").frame
    constant = [f["name"] for f in features if frame[f["name"]].nunique() <= 1]  # in the fixture's 7 rows
    assert constant == ["BCL2_N"]  # dropped, as the paper drops single-valued columns
    assert table.names == [f["name"] for f in features if f["name"] not in constant] and len(table.names) == 76
    assert set(table.kinds) == {"numeric"}
    assert sum(int(np.isnan(column).sum()) for column in table.columns) == 7 - int(frame["BCL2_N"].isna().sum())
    assert table.classes == ["c-CS-m"] and table.y.tolist() == [0] * 7  # the fixture's 7 rows share one class
    assert table.meta["target"] == "class" and table.meta["openml"]["name"] == "MiceProtein"
    assert table.meta["sha256"] == {name: entry["sha256"] for name, entry in manifest["files"].items()}


def test_titanic_keeps_text_columns_and_missing_values(openml_org, tmp_path, monkeypatch):
    titanic = openml_tabular.spec(40945)  # not one of the paper's datasets: registered for this test only
    monkeypatch.setattr(fetch, "get_dataset", lambda name: titanic)
    fetch.fetch_dataset(titanic.name, tmp_path / "raw", allow_download=True)
    titanic.prepare(tmp_path / "raw", tmp_path / "titanic.npz")
    table = load_table(tmp_path / "titanic.npz")
    features = _learnable_features(40945)
    assert len(table) == _qualities(40945)["NumberOfInstances"] == 1309 and len(table.names) == 13
    assert table.kinds == ["numeric" if f["data_type"] == "numeric" else "text" for f in features]
    missing = [int(np.isnan(c).sum()) if c.dtype.kind == "f" else int((c == "").sum()) for c in table.columns]
    assert missing == [int(f["number_of_missing_values"]) for f in features]  # age 263, cabin 1014, ...
    assert table.columns[table.names.index("sex")][:2].tolist() == ["female", "male"]
    assert table.classes == ["0", "1"]
    qualities = _qualities(40945)
    assert sorted(np.bincount(table.y).tolist()) == [qualities["MinorityClassSize"], qualities["MajorityClassSize"]]
    # OpenML declares the types: 'ticket' (957 of 1309 cells look numeric) stays categorical text
    kinds = {c.name: c.kind for c in infer_types(table, titanic.name)}
    assert kinds["ticket"] == "categorical" and kinds["age"] == "numerical" and kinds["sex"] == "binary"


def test_an_md5_mismatch_names_the_dataset_and_leaves_nothing_behind(openml_org, tmp_path):
    openml_org.corrupt = True
    raw = tmp_path / "raw" / "openml_40966"
    with pytest.raises(DataError, match=r"openml_40966.*OpenML dataset 40966.*md5 checksum"):
        fetch.fetch_dataset("openml_40966", raw, allow_download=True)
    assert list(raw.iterdir()) == []  # no manifest (prepare cannot run), no cache, no temporary


def test_without_download_openml_is_not_contacted_and_the_plan_leaves_the_dataset_out(openml_org, tmp_path):
    with pytest.raises(DataError, match=r"openml_40966.*download=true"):
        fetch.fetch_dataset("openml_40966", tmp_path / "raw", allow_download=False)
    assert openml_org.requests == []
    config = {"scale": "paper", "download": False, "studies": {"tabular_llm": {"datasets": ["adult", "openml_40966"]}}}
    offline = build_plan(config)
    assert "openml_40966" not in offline.datasets and "adult" in offline.datasets
    assert any("openml_40966" in line and "download=true" in line for line in left_out_summary(offline))
    assert "openml_40966" in build_plan({**config, "download": True}).datasets


def test_a_scikit_learn_data_home_is_a_mirror_and_an_incomplete_one_fails_offline(openml_org, tmp_path):
    mirror = tmp_path / "mirror"
    sklearn.datasets.fetch_openml(data_id=40966, data_home=mirror / "openml_40966", parser="liac-arff")
    served = len(openml_org.requests)
    manifest = fetch.fetch_dataset("openml_40966", tmp_path / "raw", mirrors=[str(mirror)])
    assert len(openml_org.requests) == served
    assert all(entry["source"].startswith(str(mirror / "openml_40966" / "openml")) for entry in manifest["files"].values())

    shutil.rmtree(mirror / "openml_40966" / "openml" / "openml.org" / "data")  # the ARFF file
    with pytest.raises(DataError, match=r"openml_40966.*download is off"):
        fetch.fetch_dataset("openml_40966", tmp_path / "raw2", mirrors=[str(mirror)])
    assert len(openml_org.requests) == served and list((tmp_path / "raw2").iterdir()) == []


def test_the_papers_own_cleaning_of_abalone_and_telco_churn_is_repeated():
    import pandas as pd

    abalone = pd.DataFrame({"Sex": ["M"] * 3300, "Length": np.arange(3300) / 3300, "Class_number_of_rings": "9"})
    cleaned = openml_tabular.paper_cleaning(abalone, 183, "Class_number_of_rings")
    assert len(cleaned) == 3300 - 9 and 2108 not in cleaned["Length"].mul(3300).round().astype(int).tolist()
    assert list(cleaned.columns) == ["Length", "Class_number_of_rings"]  # the single-valued Sex is dropped
    telco = pd.DataFrame({"tenure": [1, 0, 5], "TotalCharges": ["29.85", " ", "1889.5"], "Churn": ["No", "No", "Yes"]})
    cleaned = openml_tabular.paper_cleaning(telco, 42178, "Churn")
    assert cleaned["TotalCharges"].tolist() == [29.85, 1889.5] and cleaned["Churn"].tolist() == ["No", "Yes"]
    assert openml_tabular.paper_cleaning(telco, 40966, "Churn").equals(telco)  # other datasets: untouched
