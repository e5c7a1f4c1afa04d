"""The README and docs stay true: one page that links every topic page, links that resolve inside
the repository, and generated tables that match their results files (ctprints.doctables)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO

from ctprints.doctables import TABLES, DocTableError, main, render

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_one_page_that_links_every_docs_page() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    linked = set(LINK.findall(readme))
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"docs/{page.name}" in linked, f"README does not link docs/{page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    text = page.read_text()
    assert "../shared" not in text
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path = (page.parent / target).resolve()
        assert path.is_relative_to(REPO), f"{page.name}: {target} leaves the repository"
        assert path.exists(), f"{page.name}: {target} does not exist"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_generated_tables_match_their_sources(page: Path) -> None:
    text = page.read_text()
    assert render(text, REPO, page.name) == text, f"{page.name}: run `make docs`"


def test_the_readme_and_the_configuration_page_carry_generated_tables() -> None:
    assert "<!-- generated: study_task2 -->" in (REPO / "README.md").read_text()
    configuration = (REPO / "docs/configuration.md").read_text()
    assert "<!-- generated: config_reference -->" in configuration
    # Every key of the schema, nested ones included, has its row.
    for key in ("seed", "task1.threshold", "task1.metric", "audit.budget.max_auc"):
        assert f"| `{key}` |" in configuration


def test_a_stale_table_is_regenerated_and_checked(tmp_path: Path) -> None:
    (tmp_path / "docs/study").mkdir(parents=True)
    source = REPO / TABLES["study_task2"][0]
    (tmp_path / TABLES["study_task2"][0]).write_text(source.read_text())
    page = tmp_path / "page.md"
    page.write_text(
        "intro\n<!-- generated: study_task2 -->\n| old |\n<!-- end generated -->\nend\n"
    )
    files = [str(page), "--root", str(tmp_path)]
    assert main([*files, "--check"]) == 1
    assert page.read_text().count("| old |") == 1  # --check writes nothing
    assert main(files) == 0
    text = page.read_text()
    assert "| old |" not in text and "| `seeds` | 0,1,2 | `novelty_residual` |" in text
    assert text.startswith("intro\n") and text.endswith("<!-- end generated -->\nend\n")
    assert main([*files, "--check"]) == 0


def test_bad_blocks_name_the_page_and_the_table(tmp_path: Path) -> None:
    unknown = "<!-- generated: leaderbord -->\n<!-- end generated -->\n"
    with pytest.raises(DocTableError, match="page.md: generated block 'leaderbord' is not a table"):
        render(unknown, REPO, "page.md")
    known = "<!-- generated: study_task2 -->\n<!-- end generated -->\n"
    with pytest.raises(DocTableError, match="source docs/study/leaderboard.tsv does not exist"):
        render(known, tmp_path, "page.md")


def test_the_study_table_names_what_stands_in_for_the_paper(tmp_path: Path) -> None:
    """A leaderboard with the baseline column marks the paper's run; an older one without it
    shows the run alone."""
    import pandas as pd

    from ctprints.doctables import study_task2

    source = REPO / TABLES["study_task2"][0]
    old = study_task2(source)
    assert "| `ensemble_64_round1` | 0.752 ± 0.014 |" in old and "stand-in" not in old
    board = pd.read_csv(source, sep="\t", keep_default_na=False, na_values=[""])
    board["baseline"] = [
        "random-weight stand-in" if run.startswith("ensemble") and paper else ""
        for run, paper in zip(board["run"], board["paper"].astype(str) == "True", strict=True)
    ]
    marked = tmp_path / "leaderboard.tsv"
    board.to_csv(marked, sep="\t", index=False)
    assert "| `ensemble_64_round1` (random-weight stand-in) | 0.752 ± 0.014 |" in (
        study_task2(marked)
    )
