"""Demšar's (JMLR 2006) statistics for several methods over several datasets, on his worked example."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from methods.reporting.rank_tests import cliques, friedman, nemenyi_cd, ranks
from methods.tabular_llm.report import significance

# Section 3.2.4: C4.5 with and without its m and cf parameters tuned, AUC on 14 data sets.
DEMSAR_AVERAGE_RANKS = [3.143, 2.000, 2.893, 1.964]


def test_friedman_statistics_of_demsars_worked_example():
    test = friedman(DEMSAR_AVERAGE_RANKS, 14)
    assert test.chi2 == pytest.approx(9.28, abs=0.01)
    assert test.f == pytest.approx(3.69, abs=0.01)
    assert test.f_p < 0.05  # "F(3, 39) = 2.85 for α = 0.05, so we reject the null-hypothesis"
    assert test.cd == pytest.approx(1.25, abs=0.005)


# Table 6 (Section 3.2.4): AUC of C4.5, C4.5+m, C4.5+cf, C4.5+m+cf on 14 UCI sets (adult (sample), breast
# cancer, breast cancer wisconsin, cmc, ionosphere, iris, liver disorders, lung cancer, lymphography, mushroom,
# primary tumor, rheum, voting, wine); the same 14 x 4 table is in ddmtolab's tests (data_analysis, Nemenyi).
DEMSAR_TABLE_6 = [[0.763, 0.768, 0.771, 0.798], [0.599, 0.591, 0.590, 0.569], [0.954, 0.971, 0.968, 0.967],
                  [0.628, 0.661, 0.654, 0.657], [0.882, 0.888, 0.886, 0.898], [0.936, 0.931, 0.916, 0.931],
                  [0.661, 0.668, 0.609, 0.685], [0.583, 0.583, 0.563, 0.625], [0.775, 0.838, 0.866, 0.875],
                  [1.000, 1.000, 1.000, 1.000], [0.940, 0.962, 0.965, 0.962], [0.619, 0.666, 0.614, 0.669],
                  [0.972, 0.981, 0.975, 0.975], [0.957, 0.978, 0.946, 0.970]]


def test_ranks_of_demsars_table_6_give_his_average_ranks_and_statistics():
    """From the AUCs, not from the printed ranks; ties share ranks (mushroom: 2.5 each). The printed table
    ties C4.5+cf and C4.5+m+cf on voting (0.975), where Demšar's ranks (from unrounded AUCs) give them 2 and
    3: with the printed values the last two averages are 2.929 and 1.929, with his tie-break 2.893 and 1.964."""
    columns = ["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"]
    ranked = ranks(pd.DataFrame(DEMSAR_TABLE_6, columns=columns))
    assert ranked.iloc[9].tolist() == [2.5] * 4 and ranked.iloc[12].tolist() == [4.0, 1.0, 2.5, 2.5]
    assert ranked.mean().round(3).tolist() == [3.143, 2.000, 2.929, 1.929]
    voting = [row[:] for row in DEMSAR_TABLE_6]
    voting[12][2] += 1e-4  # Demšar's order on voting: C4.5+cf (rank 2) ahead of C4.5+m+cf (rank 3)
    ranked = ranks(pd.DataFrame(voting, columns=columns))
    assert ranked.mean().round(3).tolist() == DEMSAR_AVERAGE_RANKS
    test = friedman(ranked.mean().tolist(), len(ranked))
    assert (round(test.chi2, 2), round(test.f, 2)) == (9.28, 3.69)


def test_the_f_critical_value_demsar_quotes():
    from scipy.stats import f

    assert f.ppf(0.95, 3, 39) == pytest.approx(2.85, abs=0.01)


@pytest.mark.parametrize("k,q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (6, 2.850), (7, 2.949),
                                 (8, 3.031), (9, 3.102), (10, 3.164)])
def test_nemenyi_critical_values_match_demsar_table_5a(k, q):
    """Table 5(a), q_0.05; CD = q √(k(k+1)/(6N))."""
    assert nemenyi_cd(k, 6) == pytest.approx(q * math.sqrt(k * (k + 1) / 36), abs=2e-3)


def test_ranks_share_ties_and_put_the_best_first():
    scores = pd.DataFrame({"a": [0.9, 0.8], "b": [0.7, 0.8], "c": [0.5, 0.6]}, index=["d1", "d2"])
    assert ranks(scores).values.tolist() == [[1.0, 2.0, 3.0], [1.5, 1.5, 3.0]]


def test_cliques_join_methods_closer_than_the_critical_difference():
    average = {"a": 1.0, "b": 1.5, "c": 2.4, "d": 3.9}
    assert cliques(average, 1.0) == [["a", "b"], ["b", "c"]]
    assert cliques(average, 3.0) == [["a", "b", "c", "d"]]


def test_the_rank_row_reads_nemenyi_only_when_friedman_rejects():
    def long(average_ranks, n):
        return pd.DataFrame([{"dataset": "average", "method": m, "metric": "rank", "mean": r, "n": n}
                             for m, r in average_ranks.items()])

    label, verdicts = significance(long(dict(zip("ABCD", DEMSAR_AVERAGE_RANKS)), 14))
    assert "Nemenyi CD = 1.25" in label
    # best D 1.964; A 3.143 differs by 1.18 < 1.25: Demšar's own conclusion, "not different"
    assert verdicts == {"A": "not different", "B": "not different", "C": "not different", "D": "best"}
    label, verdicts = significance(long({"A": 1.5, "B": 1.5}, 4))
    assert "no difference shown" in label and set(verdicts.values()) == {"not shown"}
