"""The tuned classical baselines: a seeded, equal-budget sample of each grid, chosen on validation rows only."""

from __future__ import annotations

import numpy as np
import pytest

from methods.core.errors import ConfigError
from methods.tabular_llm import baselines, families
from methods.tabular_llm.study import _SCALES


def test_grid_samples_are_distinct_seeded_and_the_same_size_for_every_method():
    rf = baselines.sample_grid(baselines.RF_GRID, 8, 0, "rf")
    hgb = baselines.sample_grid(baselines.HGB_GRID, 8, 0, "hgb")
    assert len(rf) == len(hgb) == 8
    assert len({tuple(sorted(c.items(), key=str)) for c in rf}) == 8  # without replacement
    assert rf == baselines.sample_grid(baselines.RF_GRID, 8, 0, "rf")
    assert rf != baselines.sample_grid(baselines.RF_GRID, 8, 1, "rf")
    with pytest.raises(ConfigError, match="search_budget"):
        baselines.sample_grid(baselines.RF_GRID, 13, 0, "rf")  # the RF grid has 2 x 3 x 2 = 12 points


def test_search_keeps_the_lowest_validation_loss_without_refitting():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(np.int64)
    train, val = np.arange(200), np.arange(200, 260)
    model = baselines.hist_gb(x, np.zeros(3, bool), y, train, val, 0, {"search_budget": 4, "gb_iterations": 50})
    tried = model.search["tried"]
    assert len(tried) == 4 and model.search["chosen"] == {k: v for k, v in min(
        tried, key=lambda t: t["val_log_loss"]).items() if k != "val_log_loss"}
    # no refit on train + validation: the chosen model is the chosen configuration fitted on the training rows
    from sklearn.ensemble import HistGradientBoostingClassifier

    again = HistGradientBoostingClassifier(max_iter=50, categorical_features=np.zeros(3, bool), early_stopping=True,
                                           n_iter_no_change=10, random_state=0, **model.search["chosen"])
    again.fit(x[train], y[train], X_val=x[val], y_val=y[val])
    np.testing.assert_array_equal(model.predict_proba(x), again.predict_proba(x))


def test_classical_family_reports_each_search_on_a_real_table(heart_path):
    params = {**_SCALES["smoke"]["params"], "max_rows": None, "methods": ["rf", "hgb"]}
    prepared = families.prepare(heart_path, "keel_heart", params, 0)
    out = families.classical(prepared, params, 0, 1, "test")
    for method in ("rf", "hgb"):
        assert len(out[method]["summary"]["search"]["tried"]) == params["search_budget"]
        assert out[method]["fit_s"] > 0 and out[method]["proba"].shape == (len(prepared.split.test), 2)


def test_hgb_codes_fit_its_255_category_limit():
    """COMPAS has 371 charge descriptions in its training rows: the rarest share one code."""
    from methods.tabular_llm.preprocess import Typed

    cat = np.array([[f"charge {i % 300}"] for i in range(3000)])
    typed = Typed(num=np.zeros((3000, 0)), cat=cat, bin=np.zeros((3000, 0)), num_names=[], cat_names=["c"],
                  bin_names=[], imputed=0)
    codes, mask = baselines.ordinal_features(typed, np.arange(2900))
    assert mask.tolist() == [True] and np.nanmax(codes) == 254 and len(np.unique(codes)) == 255
