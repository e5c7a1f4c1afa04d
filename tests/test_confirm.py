"""The primary hypothesis: the registered candidate against both paper baselines, pooled over
scenarios by a stratified sign-flip test with max-T, on hand-computed inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from ctprints.confirm import (
    paired_differences,
    primary_markdown,
    primary_test,
    worst_case_test,
)
from ctprints.errors import StudyError

CANDIDATE = "novelty_residual"


def long_table(rows: list[tuple[str, int, float, float, float]]) -> pd.DataFrame:
    """(scenario, seed, candidate, t-SNE, ensemble accuracies) -> the study's long table."""
    out = []
    for scenario, seed, candidate, tsne, ensemble in rows:
        dataset = f"study_{scenario}_s{seed}"
        for run, paper, accuracy in (
            (CANDIDATE, False, candidate),
            ("tsne_kmeans_spectrum", True, tsne),
            ("ensemble_64_round1", True, ensemble),
            ("kmeans_pixels", False, 0.1),
        ):
            out.append(
                {
                    "scenario": scenario,
                    "seed": seed,
                    "dataset": dataset,
                    "run": run,
                    "paper": paper,
                    "accuracy": accuracy,
                }
            )
    return pd.DataFrame(out)


# candidate - t-SNE: a 0.2, 0.4; b 0.1. candidate - ensemble: a 0.1, -0.1; b 0.3.
TABLE = long_table([("a", 0, 0.9, 0.7, 0.8), ("a", 1, 0.9, 0.5, 1.0), ("b", 0, 0.9, 0.8, 0.6)])


def test_paired_differences_per_dataset() -> None:
    pairs = paired_differences(TABLE, CANDIDATE, ["a", "b"])
    assert list(pairs.dataset) == ["study_a_s0", "study_a_s1", "study_b_s0"]
    assert pairs.tsne.tolist() == pytest.approx([0.2, 0.4, 0.1])
    assert pairs.ensemble.tolist() == pytest.approx([0.1, -0.1, 0.3])


def test_primary_test_by_hand() -> None:
    """Weights 1/4, 1/4, 1/2 (each scenario alike). t-SNE: every difference positive, so only
    the identity of the 8 flips reaches it: p 1/8. Ensemble: flip sums of 0.025, -0.025, 0.15
    reach 0.15 in 3 of 8. Standardised, the flips' maxima over both baselines are 1.633, 0.816,
    1.298, -0.649, 0.816, 0, 0.973, -0.973, so max-T leaves 1/8 and 3/8."""
    table = primary_test(TABLE, CANDIDATE, ["a", "b"]).set_index("baseline")
    assert table.loc["tsne", "difference"] == pytest.approx(0.2)  # (0.3 + 0.1) / 2
    assert table.loc["ensemble", "difference"] == pytest.approx(0.15)  # (0 + 0.3) / 2
    assert table.loc["tsne", "p"] == pytest.approx(1 / 8)
    assert table.loc["ensemble", "p"] == pytest.approx(3 / 8)
    assert table.loc["tsne", "p_adjusted"] == pytest.approx(1 / 8)
    assert table.loc["ensemble", "p_adjusted"] == pytest.approx(3 / 8)
    assert table.loc["both", "p_adjusted"] == pytest.approx(3 / 8)
    assert table.loc["both", "p_floor"] == pytest.approx(1 / 8)
    assert table.loc["tsne", "baseline_runs"] == "tsne_kmeans_spectrum"
    assert (table.n_datasets == 3).all() and (table.n_scenarios == 2).all()
    text = primary_markdown(table.reset_index(), ["a", "b"])
    assert "`novelty_residual` beats each of the paper's approaches" in text
    assert "| the paper's t-SNE + k-means | `tsne_kmeans_spectrum` | 3 |" in text


def test_many_datasets_reach_a_small_p() -> None:
    """5 scenarios x 5 seeds, the candidate ahead in each: the floor is far below 0.01."""
    rows = [(s, seed, 0.95, 0.6, 0.8) for s in "abcde" for seed in range(5)]
    table = primary_test(long_table(rows), CANDIDATE, list("abcde"), n_flips=9999)
    assert table.p_adjusted.max() == pytest.approx(1e-4)


@pytest.mark.parametrize(
    ("table", "candidate", "scenarios", "message"),
    [
        (TABLE, "openset_pixels", ["a"], "dataset study_a_s0 has no run 'openset_pixels'"),
        (TABLE, CANDIDATE, ["a", "c"], "no dataset of scenario(s) c"),
        (
            TABLE[TABLE.run != "ensemble_64_round1"],
            CANDIDATE,
            ["a"],
            "dataset study_a_s0 has no paper run for ensemble",
        ),
    ],
)
def test_bad_input_names_the_dataset(table, candidate, scenarios, message) -> None:
    with pytest.raises(StudyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        primary_test(table, candidate, scenarios)


def _board(entries: dict[tuple[str, str], list[float]], paper=("p1", "p2")) -> pd.DataFrame:
    """(scenario, run) -> accuracy at seeds 0, 1, 2 -> a Task 2 board's needed columns."""
    return pd.DataFrame(
        [
            {
                "scenario": scenario,
                "run": run,
                "paper": run in paper,
                "seeds": ",".join(str(seed) for seed in range(len(values))),
                "values": ",".join(f"{value:.3f}" for value in values),
            }
            for (scenario, run), values in entries.items()
        ]
    )


def test_the_worst_case_ranking_is_tested_by_hand() -> None:
    """Per-seed worst cases: a [0.6, 0.8, 0.7], p1 [0.5, 0.5, 0.4], p2 [0.3, 0.4, 0.5]; p1 has
    the better mean, so a - p1 = [0.1, 0.3, 0.3]: mean 0.2333, sd 0.1155, t interval
    0.2333 -/+ 4.303 x 0.0667. Against either paper run every seed is positive, and no other of
    the 8 flips brings either pair's standardised sum up to its observed value (1.606 and
    1.671), so the max-T p over the two pairs is 1/8, the floor. Run b misses a scenario and is
    left out."""
    board = _board(
        {
            ("s1", "a"): [0.9, 0.8, 0.7],
            ("s1", "p1"): [0.5, 0.5, 0.5],
            ("s1", "p2"): [0.6, 0.4, 0.6],
            ("s1", "b"): [1.0, 1.0, 1.0],
            ("s2", "a"): [0.6, 0.9, 0.9],
            ("s2", "p1"): [0.7, 0.6, 0.4],
            ("s2", "p2"): [0.3, 0.8, 0.5],
        }
    )
    table = worst_case_test(board)
    assert list(table.run) == ["a", "p1", "p2"]
    a = table.iloc[0]
    assert a.worst_mean == pytest.approx(0.7) and a.paper_run == "p1"
    assert a.difference == pytest.approx(0.7 / 3)
    assert a.diff_low == pytest.approx(0.7 / 3 - 4.3027 * 0.11547 / 3**0.5, abs=1e-3)
    assert a.diff_high == pytest.approx(0.7 / 3 + 4.3027 * 0.11547 / 3**0.5, abs=1e-3)
    assert a.p_adjusted == pytest.approx(1 / 8) and a.p_floor == pytest.approx(1 / 8)
    assert a.comparisons == 2 and a.seeds == "0,1,2"
    paper = table.set_index("run").loc[["p1", "p2"]]
    assert paper.paper.all() and paper.p_adjusted.isna().all()
    # one shared seed, or no paper run everywhere: nothing to test
    assert worst_case_test(board.assign(seeds="0", values="0.5")).empty
    assert worst_case_test(board[~board.run.isin(["p1", "p2"])]).empty
