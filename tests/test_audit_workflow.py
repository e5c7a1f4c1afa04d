"""The membership audit end to end on a small custom dataset: a memorising generator's group fails
the budget, a leakage-free one is inconclusive at 12 + 12 patients (and passes a budget its
bounds can show), `audit_gate` exits non-zero naming each group that does not pass, and bad
input (a patients file naming an image twice, too few patients, a bad budget or group)
stops with a clear error that names the group and leaves no audit output behind."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_snakemake, save, write_config
from scipy.ndimage import gaussian_filter

pytestmark = pytest.mark.workflow

SIZE, SLICES = 32, 4
# One cheap feature space pair and three attacks; quick statistics.
SETTINGS = {
    "embed": {"embedders": ["pixels", "spectrum"]},
    "task1": {
        "attacks": ["gan_leaks", "gan_leaks_cal", "domias"],
        "run": {"attack": "gan_leaks", "embedder": "pixels"},
        "paper": {"embedders": []},
        "n_boot": 100,
        "n_permutations": 99,
    },
    "audit": {"n_boot": 200, "n_permutations": 199, "k": 4},
}
AUDIT_FILES = [
    "risk.csv",
    "patients.csv",
    "attacks.tsv",
    "units.tsv",
    "statistics.tsv",
    "verdict.json",
    "evidence.png",
    "scores.png",
    "report.md",
]


def _patient(rng: np.random.Generator) -> np.ndarray:
    """SLICES adjacent slices of one smooth random 'patient', uint8."""
    base = gaussian_filter(rng.normal(size=(SIZE, SIZE)), 3)
    slices = [base + 0.3 * gaussian_filter(rng.normal(size=(SIZE, SIZE)), 2) for _ in range(SLICES)]
    stack = np.stack(slices)
    stack = (stack - stack.min()) / (stack.max() - stack.min())
    return (40 + 170 * stack).astype(np.uint8)


def _group(
    root: Path, name: str, leak: bool, seed: int, used: int = 12, not_used: int = 12, test=True
) -> dict:
    """A Task 1 group: dev used and not-used patients, test real images (unless ``test`` is
    false: dev folders only, which the audit takes), a patients file, and 60 synthetic images:
    noisy copies of the used slices (leak) or slices of other patients."""
    rng = np.random.default_rng(seed)
    base = root / "clef" / name
    rows = ["image_id,patient"]
    used_slices = []
    for role, count in (("used", used), ("not_used", not_used)):
        for p in range(count):
            for s, pixels in enumerate(_patient(rng)):
                image_id = f"{role}_{p:02d}_{s}"
                save(base / role / f"{image_id}.png", pixels)
                rows.append(f"{image_id},{name}_{role}_{p:02d}")
                if role == "used":
                    used_slices.append(pixels)
    (base / "patients.csv").write_text("\n".join(rows) + "\n")
    test_images = _patient(rng)  # drawn either way, so that both variants get the same images
    for i, pixels in enumerate(test_images if test else []):
        save(base / "test_real" / f"test_{i}.png", pixels)
    if leak:
        picks = rng.integers(0, len(used_slices), 60)
        synthetic = [
            np.clip(used_slices[i] + rng.normal(0, 3, (SIZE, SIZE)), 0, 255).astype(np.uint8)
            for i in picks
        ]
    else:
        synthetic = [image for _ in range(15) for image in _patient(rng)]
    for i, pixels in enumerate(synthetic):
        save(base / "generated" / f"synthetic_{i:03d}.png", pixels)
    return {
        "root": f"clef/{name}",
        "generated": "generated",
        "used": "used",
        "not_used": "not_used",
        "test_real": "test_real" if test else False,
        "patients": "patients.csv",
    }


def _dataset(root: Path, **groups) -> dict:
    return {"image_size": SIZE, "task1": groups}


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Path:
    """The audit of a leaky group and a leakage-free one that has dev folders only (an audit
    needs no test split); `audit_gate` run once."""
    workdir = tmp_path_factory.mktemp("audit")
    spec = _dataset(
        workdir,
        leaky=_group(workdir, "leaky", leak=True, seed=1),
        clean=_group(workdir, "clean", leak=False, seed=2, test=False),
    )
    write_config(workdir, {"clef": spec}, ["clef"], **SETTINGS)
    result = run_snakemake(workdir, "--cores", "2", "audit_gate", check=False)
    (workdir / "gate.txt").write_text(f"{result.returncode}\n{result.stdout}\n{result.stderr}")
    return workdir


def _verdict(workdir: Path, group: str) -> dict:
    return json.loads((workdir / f"results/clef/audit/{group}/verdict.json").read_text())


def test_the_gate_fails_on_a_memorising_generator_and_names_the_group(audited) -> None:
    returncode, output = (audited / "gate.txt").read_text().split("\n", 1)
    assert returncode != "0"
    assert "audit_gate: clef/leaky: leaky fails: AUC by patient lower bound" in output
    assert "audit_gate: clef/clean: clean is inconclusive" in output
    for group in ("leaky", "clean"):
        for name in AUDIT_FILES:
            assert (audited / f"results/clef/audit/{group}/{name}").stat().st_size > 0
    leaky, clean = _verdict(audited, "leaky"), _verdict(audited, "clean")
    assert leaky["verdict"] == "fail" and leaky["failed"] == ["auc"]
    auc = next(c for c in leaky["criteria"] if c["name"] == "auc")
    assert auc["low"] > 0.6 and auc["value"] == 1.0
    assert (leaky["members"], leaky["holdout"], leaky["unit"]) == (12, 12, "patients")
    assert leaky["n_groups"] == 2 and leaky["alpha_group"] == pytest.approx(0.025)
    # 12 + 12 patients cannot show an AUC under 0.6: never a fail, and not a pass either
    assert clean["verdict"] == "inconclusive", clean["reason"]
    clean_auc = next(c for c in clean["criteria"] if c["name"] == "auc")
    assert clean_auc["low"] < 0.6 < clean_auc["high"]
    attacks = (audited / "results/clef/audit/leaky/attacks.tsv").read_text().splitlines()
    assert len(attacks) == 1 + 6  # 3 attacks x 2 feature spaces


def test_the_risk_table_ranks_members_first_when_the_generator_memorised(audited) -> None:
    import pandas as pd

    risk = pd.read_csv(audited / "results/clef/audit/leaky/risk.csv")
    assert len(risk) == 24 * SLICES and risk["rank"].min() == 1
    top = risk.sort_values("rank").head(SLICES * 12)
    assert top.member.mean() > 0.9
    # a memorised slice's nearest synthetic image is its noisy copy
    assert risk[risk.member == 1].ssim.median() > 0.8
    assert (risk.p_value_by_image > 0).all() and (risk.p_value_by_image <= 1).all()
    patients = pd.read_csv(audited / "results/clef/audit/leaky/patients.csv")
    assert len(patients) == 24 and set(patients.member) == {0, 1}
    # every p-value column says what it is over: by image, or a patient's (patients.csv)
    assert [c for c in risk.columns if "p_value" in c] == ["p_value_by_image"]
    assert [c for c in patients.columns if c.startswith("p_")] == ["p_value", "p_holm"]
    members = patients[patients.member == 1]
    # every member above all 12 holdout patients (the CSV keeps 6 significant digits)
    assert members.p_value.tolist() == pytest.approx([1 / 13] * 12, rel=1e-4)
    # Holm over 24 patients: 24 x 1/13 > 1, so 12 holdout patients cannot single one out
    assert (members.p_holm == 1.0).all() and (patients.p_holm >= patients.p_value).all()
    page = (audited / "results/clef/audit/leaky/report.md").read_text()
    assert page.index("FAIL") < page.index("Limitations")
    assert "sha256" in page.lower()


def test_the_gate_passes_a_budget_the_leakage_free_group_can_show(audited) -> None:
    """The clean group alone, against a budget its 12 + 12 patients' bounds can show (AUC at
    most 0.99): every group passes and the gate exits 0."""
    config = audited / "config.yaml"
    import yaml

    settings = yaml.safe_load(config.read_text())
    settings["audit"]["groups"] = ["clean"]
    settings["audit"]["budget"] = {"max_auc": 0.99}
    (audited / "clean.yaml").write_text(yaml.safe_dump(settings))
    result = run_snakemake(audited, "audit_gate", configfile="clean.yaml")
    assert "audit_gate: all 1 audited groups pass their budget" in result.stderr
    # A gate that checked nothing must not let a release through.
    settings["audit"]["groups"] = []
    (audited / "none.yaml").write_text(yaml.safe_dump(settings))
    result = run_snakemake(audited, "audit_gate", configfile="none.yaml", check=False)
    assert result.returncode != 0
    assert "audit_gate: no group was audited (audit.groups is empty)" in result.stderr


def _assert_no_audit_output(workdir: Path, group: str) -> None:
    folder = workdir / f"results/clef/audit/{group}"
    assert not folder.exists() or not [p for p in folder.iterdir() if p.name in AUDIT_FILES]


def _list_an_image_twice(root: Path, name: str) -> None:
    patients = root / f"clef/{name}/patients.csv"
    lines = patients.read_text().splitlines()
    patients.write_text("\n".join([*lines, lines[1].split(",")[0] + ",someone_else"]) + "\n")


@pytest.mark.parametrize(
    ("used", "spoil", "message"),
    [
        (6, _list_an_image_twice, "used_00_0 is listed 2 times"),  # a patients file's duplicate
        (1, None, "at least 2 used and 2 holdout patients"),  # one used patient
    ],
)
def test_bad_audit_input_stops_naming_the_group_and_writes_nothing(
    tmp_path, used, spoil, message
) -> None:
    group = _group(tmp_path, "bad", leak=True, seed=3, used=used)
    if spoil:
        spoil(tmp_path, "bad")
    write_config(tmp_path, {"clef": _dataset(tmp_path, bad=group)}, ["clef"], **SETTINGS)
    result = run_snakemake(tmp_path, "audit", check=False)
    assert result.returncode != 0
    log = (tmp_path / "logs/audit_group/clef_bad.log").read_text()
    assert "task1 group bad" in log and message in log
    _assert_no_audit_output(tmp_path, "bad")


@pytest.mark.parametrize(
    ("audit", "message"),
    [
        ({"budget": {"max_leak": 0.1}}, r"audit\.budget.*max_leak"),
        ({"budget": {"max_auc": 2}}, r"audit\.budget\.max_auc: 2 is greater than the maximum"),
        ({"groups": ["group9"]}, r"audit\.groups: group9 is not a Task 1 group of dataset clef"),
    ],
)
def test_a_bad_audit_config_stops_before_any_job(tmp_path, audit, message) -> None:
    import re

    group = _group(tmp_path, "g", leak=True, seed=5)
    settings = {**SETTINGS, "audit": {**SETTINGS["audit"], **audit}}
    write_config(tmp_path, {"clef": _dataset(tmp_path, g=group)}, ["clef"], **settings)
    result = run_snakemake(tmp_path, "audit", check=False)
    assert result.returncode != 0
    assert re.search(message, result.stdout + result.stderr), result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
