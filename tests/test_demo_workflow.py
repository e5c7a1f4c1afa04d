"""The demo data built by snakemake at the tiny scale, in temporary directories."""

import csv
import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import TEST_SEED, run_snakemake, tiny_config

pytestmark = pytest.mark.workflow

DEMO = "data/demo"


def _png_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.png"))
    }


# `built` is conftest's session fixture: the tiny demo run to `all` (its demo data, manifests and
# contact sheet included), from the same tiny_config as the rebuild below.


def _read_csv(path: Path) -> list[list[str]]:
    with open(path) as handle:
        return list(csv.reader(handle))


def test_identical_seed_gives_byte_identical_pngs(built, tmp_path) -> None:
    tiny_config(tmp_path)
    run_snakemake(tmp_path, "--cores", "2", "demo_data")
    first, second = _png_hashes(built / DEMO), _png_hashes(tmp_path / DEMO)
    assert len(first) > 100
    assert first == second


def test_folders_counts_and_2023_style_ids(built) -> None:
    from ctprints.demo.scenarios import SCALES

    scale = SCALES["tiny"]
    root = built / DEMO
    for group in ("group1", "group2"):
        base = root / "task1" / group
        assert sorted(p.name for p in base.iterdir()) == [
            "dev_patients.csv",
            "generated",
            "generated_1",
            "not_used",
            "real_unknown_1",
            "used",
        ]
        # The patient of every dev image, and of no test image.
        patients = pd.read_csv(base / "dev_patients.csv", dtype=str)
        dev = {p.stem for role in ("used", "not_used") for p in (base / role).glob("*.png")}
        assert set(patients.image_id) == dev
        truth = pd.read_csv(built / DEMO / "ground_truth" / "patients.csv", dtype=str)
        truth = truth[(truth.group == group) & (truth.split == "dev")]
        expected = dict(zip(truth.key.str.split("/").str[-1], truth.patient_id, strict=True))
        assert dict(zip(patients.image_id, patients.patient, strict=True)) == expected
        assert len(list((base / "generated").glob("*.png"))) == scale.task1_generated
        assert all(re.fullmatch(r"generated_\d{4}\.png", p.name) for p in base.glob("generated/*"))
        assert all(
            re.fullmatch(r"generated_\d{5}\.png", p.name) for p in base.glob("generated_1/*")
        )
        assert all(re.fullmatch(r"used_\d{4}\.png", p.name) for p in base.glob("used/*"))
        assert all(
            re.fullmatch(r"real_unknown_\d{4}\.png", p.name) for p in base.glob("real_unknown_1/*")
        )
    from ctprints.demo.scenarios import plan_demo

    config = yaml.safe_load((built / "config.yaml").read_text())["demo"]
    config["task1"] = {g: {"family": "vae"} for g in ("group1", "group2")}
    config["task2"] = {"families": ["upconv_gan", "resize_gan", "vae", "ddpm"], "unseen": 1}
    plan = plan_demo({"steps": None, "slices_per_patient": None, **config}, seed=TEST_SEED)
    for group in ("group1", "group2"):
        slices = {role_split: 0 for role_split in ("used dev", "not_used dev", "test")}
        for task, g, role, split in plan.assignment.values():
            if task == "task1" and g == group:
                slices["test" if split == "test" else f"{role} dev"] += plan.slices_per_patient
        base = root / "task1" / group
        assert len(list((base / "used").glob("*.png"))) == slices["used dev"]
        assert len(list((base / "not_used").glob("*.png"))) == slices["not_used dev"]
        assert len(list((base / "real_unknown_1").glob("*.png"))) == slices["test"]
    train = sorted(p.name for p in (root / "task2" / "train").iterdir())
    assert train == ["model_1", "model_2", "model_3"]
    for label in train:
        assert len(list((root / "task2" / "train" / label).glob("*.png"))) == scale.task2_train
    test = list((root / "task2" / "test" / "generated_unknown").glob("*.png"))
    assert len(test) == 4 * scale.task2_test


def test_ground_truth_matches_the_images_on_disk(built) -> None:
    root = built / DEMO
    truth = _read_csv(root / "ground_truth" / "task2.csv")
    on_disk = {p.stem for p in (root / "task2" / "test" / "generated_unknown").glob("*.png")}
    assert {row[0] for row in truth} == on_disk
    assert {row[1] for row in truth} == {"model_1", "model_2", "model_3", "model_4"}
    for group in ("group1", "group2"):
        rows = _read_csv(root / "ground_truth" / f"task1_{group}.csv")
        folder = root / "task1" / group / "real_unknown_1"
        assert {row[0] for row in rows} == {p.stem for p in folder.glob("*.png")}
        labels = [row[1] for row in rows]
        assert labels.count("1") == labels.count("0") > 0


def test_patients_are_disjoint_and_test_patients_not_in_dev(built) -> None:
    table = pd.read_csv(built / DEMO / "ground_truth" / "patients.csv")
    for _, group in table.groupby("group"):
        used = set(group[group.role == "used"].patient_id)
        not_used = set(group[group.role == "not_used"].patient_id)
        assert not used & not_used
        assert not set(group[group.split == "dev"].patient_id) & set(
            group[group.split == "test"].patient_id
        )
    # Real images in the folders are exactly the ones the table describes.
    manifest = pd.read_parquet(built / "results" / "demo" / "manifest.parquet")
    real = manifest[manifest.role.isin(["used", "not_used", "real_unknown"])]
    assert set(real.key) == set(table.key)


def test_contact_sheet_is_written(built) -> None:
    from PIL import Image

    with Image.open(built / "results" / "demo" / "contact_sheet.png") as sheet:
        assert sheet.width > 400 and sheet.height > 400


def test_analysis_rules_never_read_ground_truth(built) -> None:
    result = run_snakemake(built, "-n", "--forceall", "all")
    # Only the demo's own rules and the evaluation (tables, confusion, ROC) may read the truth
    # files or the demo's internals (rendered patients with their IDs, trained generators):
    # anything else could learn the answer from them.
    allowed = re.compile(r"^(demo_|evaluate|confusion|roc|all$)")  # all: a target, runs nothing
    forbidden = re.compile(r"ground_truth|results/demo/build")
    job_rule = None
    checked = 0
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith("rule ") or line.startswith("localrule "):
            job_rule = line.split()[-1].rstrip(":")
        elif line.startswith("input:") and job_rule and not allowed.match(job_rule):
            checked += 1
            assert not forbidden.search(line), f"rule {job_rule} reads ground truth: {line}"
    assert checked >= 2  # manifest and all were inspected


@pytest.mark.parametrize(
    ("demo", "message"),
    [
        ({"task2": {"families": ["upconv_gan", "stylegan9"]}}, r"demo\.task2\.families\[1\]"),
        ({"task1": {"group1": {"patients": 0}}}, r"demo\.task1\.group1\.patients: 0 is less"),
        (
            {"task1": {"group1": {"patients": 5, "used_patients": 5}}},
            r"demo\.task1\.group1\.used_patients: 5 used patients",
        ),
        ({"scale": "huge"}, r"demo\.scale: unknown scale 'huge'"),
    ],
)
def test_bad_demo_config_stops_before_any_job(tmp_path, demo, message) -> None:
    tiny_config(tmp_path)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["demo"].update(demo)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "demo_data", check=False)
    assert result.returncode != 0
    assert re.search(message, result.stderr), result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()
