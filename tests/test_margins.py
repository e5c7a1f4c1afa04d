"""The `margin` check and the generated table of the suite's margins (docs/testing/margins.md)."""

import importlib.util

import pandas as pd
import pytest
from conftest import REPO, check_margin


def test_margin_records_the_figure_and_fails_like_an_assert() -> None:
    recorded = []
    check_margin(lambda *pair: recorded.append(pair), "accuracy", 0.95, ">=", 0.9)
    assert recorded == [("accuracy", "0.95 >= 0.9")]
    with pytest.raises(AssertionError, match=r"accuracy: 0\.8 is not >= 0\.9"):
        check_margin(lambda *pair: recorded.append(pair), "accuracy", 0.8, ">=", 0.9)
    assert recorded[-1] == ("accuracy", "0.8 >= 0.9")  # recorded before it fails


def test_margins_table_is_generated_from_its_figures() -> None:
    spec = importlib.util.spec_from_file_location(
        "suite_margins", REPO / "benchmarks" / "suite_margins.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (REPO / "docs/testing/margins.md").read_text()
    header = text[: text.index("\n\n| test |")]
    rows = pd.read_csv(REPO / "docs/testing/margins.tsv", sep="\t")
    assert module.render(rows, header) == text
    assert rows.passed.all(), rows[~rows.passed]
