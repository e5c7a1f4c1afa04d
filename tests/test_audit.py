"""The membership audit: a generator that copied its members fails, one that did not passes; the
per-image evidence, the statistics and the verdict follow their definitions on small examples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ctprints.audit import (
    BUDGET_DEFAULTS,
    AuditError,
    candidate_scores,
    check_budget,
    choose,
    dev_inputs,
    distance_test,
    folder_hashes,
    gate_table,
    patient_table,
    plot_evidence,
    plot_scores,
    report_markdown,
    risk_table,
    run_audit,
    selection_p,
    statistics,
    stats_frame,
    threshold_at_fpr,
    unit_scores,
    verdict,
)
from ctprints.inference import p_floor
from ctprints.membership import MembershipError, group_rows, part_features, read_patients
from ctprints.metrics import tpr_at_fpr

ATTACKS = ["gan_leaks", "gan_leaks_cal"]


def _rows(role: str, ids: list[str]) -> pd.DataFrame:
    """Manifest rows of one task 1 role (the columns group_rows and the audit read)."""
    return pd.DataFrame(
        {
            "key": [f"k_{i}" for i in ids],
            "image_id": ids,
            "path": [f"g1/{role}/{i}.png" for i in ids],
            "task": "task1",
            "group": "group1",
            "role": role,
            "width": 16,
            "height": 16,
        }
    )


def _group(leaky: bool, patients: int = 20, slices: int = 4, dims: int = 8, seed: int = 0):
    """A group of ``patients`` member and holdout patients with ``slices`` correlated slices each.

    ``leaky``: the synthetic set holds every member slice plus tiny noise (and generic samples);
    otherwise it is drawn from the same distribution as every real patient, independently.
    Returns parts (as group_rows gives them), the features frame, image -> patient, synthetic.
    """
    rng = np.random.default_rng(seed)

    def slices_of(n: int) -> np.ndarray:
        centres = rng.normal(size=(n, dims))
        return np.repeat(centres, slices, axis=0) + 0.3 * rng.normal(size=(n * slices, dims))

    members, holdout = slices_of(patients), slices_of(patients)
    generic = slices_of(10)
    if leaky:
        synthetic = np.vstack([members + 0.01 * rng.normal(size=members.shape), generic])
    else:
        synthetic = slices_of(80)
    names = {
        "used": [f"u{i:03d}" for i in range(len(members))],
        "not_used": [f"n{i:03d}" for i in range(len(holdout))],
        "generated": [f"s{i:03d}" for i in range(len(synthetic))],
    }
    parts = {role: _rows(role, ids) for role, ids in names.items()}
    features = pd.DataFrame(
        np.vstack([members, holdout, synthetic]),
        columns=[f"f{j}" for j in range(dims)],
        index=[f"k_{i}" for ids in names.values() for i in ids],
    )
    patient = {
        image: f"{role[0]}p{index // slices}"
        for role in ("used", "not_used")
        for index, image in enumerate(names[role])
    }
    return parts, features, patient, synthetic


def _audit(leaky: bool, seed: int = 0, budget: dict | None = None, **group):
    """The audit of a :func:`_group`: candidate scores, choice, gate, statistics, verdict."""
    parts, features, patients, synthetic = _group(leaky, seed=seed, **group)
    dev, patient_ids = dev_inputs(parts, patients, "group1")
    candidates = candidate_scores(parts, {"demo": features}, ATTACKS, 5, 0, patients=patients)
    attack, embedder, table = choose(candidates, None, None, "group1")
    rows = candidates[
        (candidates.embedder == embedder)
        & (candidates.attack == attack)
        & (candidates.split == "dev")
    ]
    real = part_features(features, dev)
    stats = statistics(
        rows.label.to_numpy(), rows.score.to_numpy(), patient_ids, synthetic, real, 300, 499, seed=0
    )
    matrix, _, unit_label, _ = unit_scores(candidates, table)
    stats["selection_p"] = selection_p(matrix, unit_label, 199, seed=0)
    budget = check_budget(budget or {})
    gate = gate_table(matrix, unit_label, table, budget)
    members, holdout = int(unit_label.sum()), int((unit_label == 0).sum())
    result = verdict(gate, budget, members, holdout, group="group1", attack=attack)
    return stats, result, table, candidates


def test_a_generator_that_copied_its_members_fails_the_audit() -> None:
    stats, result, table, candidates = _audit(leaky=True)
    assert stats["auc_by_image"] > 0.99 and stats["auc_by_image_low"] > 0.95
    assert stats["permutation_p"] < 0.01
    assert stats["dcr_member_mean"] < stats["dcr_holdout_mean"]
    assert (stats["member_patients"], stats["holdout_patients"]) == (20, 20)
    assert stats["resampled"] == "patient"
    # no permutation of 20 + 20 patients comes close: (1 + 0) / (1 + 199)
    assert stats["selection_p"] == 1 / 200
    assert stats["p_floor"] == 1 / 500
    assert result["verdict"] == "fail" and result["failed"] == ["auc"]
    assert result["reason"].startswith("group1 fails: AUC by patient lower bound 0.")
    assert "(20 member and 20 holdout patients)" in result["reason"]
    assert "TPR at 1% FPR by patient not estimable (needs ≥ 100 holdout)" in result["reason"]
    json.dumps(result)  # plain data
    # The long frame: both attacks, dev and control, every dev image once per attack.
    assert set(candidates.split) == {"dev", "control"}
    assert (candidates[candidates.split == "dev"].groupby("attack").size() == 160).all()
    assert list(table.columns) == [
        "embedder", "attack", "auc_by_patient", "cv_auc", "control_auc", "chosen",
    ]  # fmt: skip
    assert table.control_auc.max() < 0.9  # both halves of the control are members


def test_a_generator_that_did_not_copy_never_fails_and_passes_with_enough_patients() -> None:
    """20 + 20 patients cannot show that an AUC stays under 0.6 (inconclusive); 150 + 150 can,
    but not that TPR at 1% FPR stays under 0.05: with the threshold an estimate, that needs
    more holdout patients (the gate's tests)."""
    stats, result, _, _ = _audit(leaky=False)
    assert stats["auc_by_image_low"] < 0.5 < stats["auc_by_image_high"]
    assert stats["permutation_p"] > 0.1
    assert result["verdict"] == "inconclusive", result["reason"]
    assert "needs about" in result["reason"]
    _, many, _, _ = _audit(leaky=False, patients=150, slices=2)
    assert many["verdict"] == "inconclusive", many["reason"]
    assert [c["name"] for c in many["criteria"]] == [
        "auc", "tpr_at_1pct_fpr", "tpr_at_0_1pct_fpr",
    ]  # fmt: skip
    auc, tpr = many["criteria"][:2]
    assert auc["under"] and auc["high"] < 0.6
    assert tpr["estimable"] and tpr["gated"] and not tpr["under"]  # 150 holdout >= 100
    assert 0.05 < tpr["high"] < 0.2
    _, auc_only, _, _ = _audit(
        leaky=False, patients=150, slices=2, budget={"max_tpr_at_1pct_fpr": None}
    )
    assert auc_only["verdict"] == "pass", auc_only["reason"]
    assert auc_only["reason"].startswith("group1 passes: AUC by patient upper bound 0.")


def test_candidate_scores_read_pixels_once_and_keep_controls_honest() -> None:
    parts, features, patients, _ = _group(leaky=True, patients=3, slices=2)
    rng = np.random.default_rng(0)
    calls = []

    def read_pixels(paths: list[str]) -> np.ndarray:
        calls.append(len(paths))
        return rng.integers(0, 256, size=(len(paths), 16, 16), dtype=np.uint8)

    candidates = candidate_scores(
        parts, {"a": features, "b": features}, ["ssim_max", "gan_leaks"], 3, 0, {}, read_pixels,
        patients,
    )  # fmt: skip
    assert calls == [12, len(parts["generated"])]  # dev, synthetic: once for both embedders
    assert candidates.score.notna().all()
    dev = candidates[(candidates.split == "dev") & (candidates.embedder == "a")]
    dev = dev[dev.attack == "gan_leaks"]
    assert dev.patient.notna().all() and dev.label.tolist() == [1] * 6 + [0] * 6
    # 3 used patients cannot be halved and cross-validated by patient: halves of images, so
    # the control names no patients.
    control = candidates[candidates.split == "control"]
    assert control.patient.isna().all() and sorted(set(control.label)) == [0, 1]
    # Two used images cannot be cross-validated at all: no control rows.
    few = {**parts, "used": parts["used"].head(2)}
    patients = {image: image for image in pd.concat([few["used"], few["not_used"]]).image_id}
    alone = candidate_scores(few, {"a": features}, ["gan_leaks"], 3, 0, patients=patients)
    assert set(alone.split) == {"dev"}
    assert choose(alone, None, None, "g")[2].control_auc.isna().all()


def _tiny():
    """Five real images against three synthetic ones, with scores worked out by hand."""
    dev = pd.DataFrame({"image_id": ["a", "b", "c", "d", "e"]})
    labels = np.array([1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.2, 0.5, 0.1, 0.5])
    synthetic = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    real = np.array([[10.0, 0.0], [1.0, 0.0], [0.0, 9.0], [0.0, 1.0], [9.0, 0.0]])
    rng = np.random.default_rng(1)
    synthetic_pixels = rng.integers(0, 256, size=(3, 16, 16), dtype=np.uint8)
    real_pixels = rng.integers(0, 256, size=(5, 16, 16), dtype=np.uint8)
    real_pixels[0] = synthetic_pixels[1]  # a is a copy of s1
    return dev, labels, scores, real, synthetic, real_pixels, synthetic_pixels


def test_risk_table_follows_its_definitions() -> None:
    dev, labels, scores, real, synthetic, real_pixels, synthetic_pixels = _tiny()
    patients = np.array(["p1", "p1", "p2", "p3", "p3"])
    risk = risk_table(
        dev, labels, scores, patients, real, synthetic, ["s0", "s1", "s2"], real_pixels,
        synthetic_pixels,
    )  # fmt: skip
    risk = risk.set_index("image_id")
    assert list(risk.index) == ["a", "c", "e", "b", "d"]  # by rank, ties in input order
    assert list(risk["rank"]) == [1, 2, 2, 4, 5]
    # Members against the three holdout scores (0.5, 0.1, 0.5); a holdout image leaves out its
    # own patient: c (p2) has one other holdout score >= 0.5 among two (d, e); d and e (p3) have
    # only c, which is >= both.
    expected = {"a": 1 / 4, "b": 3 / 4, "c": 2 / 3, "d": 2 / 2, "e": 2 / 2}
    for image, value in expected.items():
        assert risk.loc[image, "p_value_by_image"] == pytest.approx(value), image
    # Without patients a holdout image leaves out only itself: e has c among d and c.
    by_image = risk_table(
        dev, labels, scores, None, real, synthetic, ["s0", "s1", "s2"], None, None
    )
    assert by_image.set_index("image_id").loc["e", "p_value_by_image"] == pytest.approx(2 / 3)
    assert risk.loc["a", "percentile"] == 100 and risk.loc["c", "percentile"] == pytest.approx(
        100 / 3
    )
    assert dict(risk.nearest_synthetic) == {"a": "s1", "b": "s0", "c": "s2", "d": "s0", "e": "s1"}
    std = np.std([0.0, 10.0, 0.0])  # the synthetic set's spread, both columns
    assert risk.loc["a", "distance"] == pytest.approx(0, abs=1e-5)
    assert risk.loc["b", "distance"] == pytest.approx(1 / std, rel=1e-5)
    assert risk.loc["a", "ssim"] == pytest.approx(1.0)
    assert risk.loc["b", "ssim"] < 0.5
    assert list(risk.patient) == ["p1", "p2", "p3", "p1", "p3"]

    table = patient_table(risk.reset_index())
    assert list(table.patient) == ["p1", "p2", "p3"]  # by mean score: 0.55, 0.5, 0.3
    p1 = table.set_index("patient").loc["p1"]
    assert (p1.member, p1.slices) == (1, 2)
    assert p1.score == pytest.approx(0.55) and p1.max_score == 0.9
    assert p1.max_ssim == pytest.approx(1.0) and p1.min_distance == pytest.approx(0, abs=1e-5)
    # p1 against the holdout patients' 0.5 and 0.3: 1/3; p2 against p3 alone: 1/2; p3 against
    # p2: 2/2. Holm over three patients: 3 x 1/3, 2 x 1/2, 1 x 1, all 1.
    assert list(table.p_value) == pytest.approx([1 / 3, 1 / 2, 1.0])
    assert list(table.p_holm) == pytest.approx([1.0, 1.0, 1.0])
    assert not [c for c in risk.columns if "p_value" in c and not c.endswith("by_image")]
    # Without patients every image is its own patient.
    alone = risk_table(dev, labels, scores, None, real, synthetic, ["s0", "s1", "s2"], None, None)
    assert list(alone.patient) == list(alone.image_id) and alone.ssim.isna().all()


def test_statistics_are_seeded_and_fall_back_to_images() -> None:
    parts, features, patients, synthetic = _group(leaky=False, patients=6, slices=3)
    dev, patient_ids = dev_inputs(parts, patients, "group1")
    real = part_features(features, dev)
    labels = np.r_[np.ones(18), np.zeros(18)].astype(int)
    scores = np.random.default_rng(3).normal(size=36) + labels
    first = statistics(labels, scores, patient_ids, synthetic, real, 100, 99, seed=4)
    assert first == statistics(labels, scores, patient_ids, synthetic, real, 100, 99, seed=4)
    assert first != statistics(labels, scores, patient_ids, synthetic, real, 100, 99, seed=5)
    assert first["auc_by_image_low"] <= first["auc_by_image"] <= first["auc_by_image_high"]
    narrow = statistics(labels, scores, patient_ids, synthetic, real, 100, 99, seed=4, alpha=0.5)
    width = first["auc_by_image_high"] - first["auc_by_image_low"]
    assert narrow["auc_by_image_high"] - narrow["auc_by_image_low"] < width
    images = statistics(labels, scores, None, synthetic, real, 100, 99, seed=4)
    assert images["resampled"] == "image" and images["member_patients"] is None
    assert (images["n_members"], images["n_holdout"]) == (18, 18)
    assert images["auc_by_image"] == first["auc_by_image"]
    json.dumps(first)
    mixed = patient_ids.copy()
    mixed[0] = patient_ids[-1]
    with pytest.raises(AuditError, match="both member and holdout"):
        statistics(labels, scores, mixed, synthetic, real, 10, 9)


def test_budget_is_checked_and_completed() -> None:
    assert check_budget({}) == BUDGET_DEFAULTS
    assert check_budget({"max_auc": 0.7, "alpha": 0.1})["max_auc"] == 0.7
    with pytest.raises(AuditError, match=r"audit\.budget\.decide_on: not a budget key"):
        check_budget({"decide_on": "upper"})
    assert check_budget({"max_tpr_at_1pct_fpr": None})["max_tpr_at_1pct_fpr"] is None
    with pytest.raises(AuditError, match=r"audit\.budget\.max_fpr: unknown .*known: max_auc"):
        check_budget({"max_fpr": 0.1})
    bad = {
        "max_auc": 0.4,
        "max_tpr_at_1pct_fpr": 1.5,
        "max_tpr_at_0_1pct_fpr": -0.1,
        "alpha": 0.0,
    }
    for key, value in bad.items():
        with pytest.raises(AuditError, match=rf"x\.budget\.{key}: '?{value}'? is not"):
            check_budget({key: value}, "x.budget")
    with pytest.raises(AuditError, match="alpha: 0.6"):
        check_budget({"alpha": 0.6})
    with pytest.raises(AuditError, match="max_auc: None"):
        check_budget({"max_auc": None})


def test_dev_inputs_need_two_patients_on_each_side() -> None:
    parts, _, patients, _ = _group(leaky=False, patients=3, slices=2)
    dev, patient_ids = dev_inputs(parts, patients, "group1")
    assert list(dev.image_id[:6]) == list(parts["used"].image_id) and len(patient_ids) == 12
    one = {**patients, **dict.fromkeys(parts["used"].image_id, "up0")}
    with pytest.raises(
        AuditError,
        match=r"task1 group group1: the audit needs at least 2 used and 2 holdout patients, "
        r"found 1 used and 3 holdout",
    ):
        dev_inputs(parts, one, "group1")
    few = {**parts, "not_used": parts["not_used"].head(1)}
    with pytest.raises(AuditError, match="found 6 used and 1 holdout"):
        dev_inputs(few, None, "group1")
    assert dev_inputs(parts, None, "group1")[1] is None


def _candidates() -> pd.DataFrame:
    """Hand-made candidate scores: e2/b separates best, e1/a worst."""
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = {
        ("e1", "a"): [1, 2, 3, 4, 5, 6],
        ("e1", "b"): [6, 2, 4, 1, 5, 3],
        ("e2", "a"): [6, 5, 3, 4, 2, 1],
        ("e2", "b"): [6, 5, 4, 3, 2, 1],
    }
    frames = []
    for (embedder, attack), values in scores.items():
        for split in ("dev", "control"):
            frames.append(
                pd.DataFrame(
                    {
                        "embedder": embedder,
                        "attack": attack,
                        "split": split,
                        "image_id": [f"i{i}" for i in range(6)],
                        "label": labels,
                        "score": values if split == "dev" else [1, 2, 3, 4, 5, 6],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def test_choose_takes_the_best_auc_by_patient_in_either_direction() -> None:
    """Images are the units here (no patient column). e1/a ranks every member last: flipped, it
    separates them as well as e2/b, which wins the tie on its AUC by image."""
    candidates = _candidates()
    attack, embedder, table = choose(candidates, None, None, "group1")
    assert (attack, embedder) == ("b", "e2")
    assert list(table.auc_by_patient) == sorted(table.auc_by_patient, reverse=True)
    assert list(zip(table.embedder, table.attack, strict=True))[:2] == [("e2", "b"), ("e1", "a")]
    assert table.auc_by_patient.tolist()[:2] == [1.0, 1.0] and table.cv_auc.tolist()[:2] == [1, 0]
    assert table.chosen.tolist() == [True, False, False, False]
    assert (table.control_auc == 0.0).all()
    assert choose(candidates, "a", None, "group1")[:2] == ("a", "e1")
    attack, embedder, table = choose(candidates, None, "e1", "group1")
    assert (attack, embedder, len(table)) == ("a", "e1", 2)  # flipped, e1/a separates all
    with pytest.raises(AuditError, match=r"audit\.attack: 'domias' was not scored .*group1"):
        choose(candidates, "domias", None, "group1")
    with pytest.raises(AuditError, match=r"audit\.embedder: 'e3'"):
        choose(candidates, None, "e3", "group1")


def test_the_smallest_p_follows_the_patients_and_the_permutations() -> None:
    assert p_floor(np.array([1, 1, 0, 0]), 999) == pytest.approx(1 / 6)
    assert p_floor(np.array([1, 1, 1, 0, 0, 0]), 999) == pytest.approx(1 / 20)
    assert p_floor(np.array([1] * 20 + [0] * 20), 999) == pytest.approx(1 / 1000)
    # and a copying generator audited on 2 + 2 patients is inconclusive, not a pass
    parts, features, patients, synthetic = _group(leaky=True, patients=2, seed=3)
    blank = lambda paths: np.zeros((len(paths), 8, 8), dtype=np.uint8)  # noqa: E731
    result = run_audit(parts, {"demo": features}, patients, blank, "g", ATTACKS, {})
    assert result.stats["auc_by_image"] == 1.0
    assert result.verdict["verdict"] == "inconclusive", result.verdict["reason"]
    assert result.gate.criterion.tolist().count("auc") == len(result.choice) == 2


def test_selection_p_counts_every_candidate_under_permuted_patients() -> None:
    """Two candidates, 2 member and 6 holdout patients: one candidate ranks the members first.
    Under the 28 labellings of 2 of 8 patients, the true one is the only one that gives an AUC
    of 1, but a second candidate that ranks two other patients first doubles the p-value."""
    unit_label = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    honest = np.where(unit_label == 1, 1.0, 0.0) + np.arange(8) * 1e-3
    other = np.isin(np.arange(8), [5, 6]).astype(float)
    # 28 labellings <= 9999 permutations: every one is tried, and the p is exact
    assert selection_p(honest[None], unit_label, 9999, seed=1) == pytest.approx(1 / 28)
    both = np.vstack([honest, other])
    assert selection_p(both, unit_label, 9999, seed=1) == pytest.approx(2 / 28)
    # fewer permutations than labellings: random shuffles, (1 + count) / (1 + permutations),
    # which can never be 0 and reaches 1/28 only by luck
    shuffled = selection_p(both, unit_label, 27, seed=1)
    assert shuffled >= 1 / 28 and shuffled * 28 == pytest.approx(round(shuffled * 28))


def _report(patients_known: bool) -> str:
    candidates = _candidates()
    table = choose(candidates, None, None, "group1")[2]
    matrix, _, unit_label, _ = unit_scores(candidates, table)
    gate = gate_table(matrix, unit_label, table, check_budget({}))
    result = verdict(gate, check_budget({}), 3, 3, group="group1", unit="images")
    stats = {"auc_by_image": 0.62, "auc_by_image_low": 0.55, "auc_by_image_high": 0.7}
    stats |= {"n_members": 10, "member_patients": None}
    patients = pd.DataFrame({"patient": [f"p{i}" for i in range(12)], "score": range(12)})
    return report_markdown(
        "group1",
        result,
        stats_frame(stats, stats),
        table,
        patients,
        {"attack shown": "b", "feature space shown": "e2", "folds": 5},
        {"data/used": "ab" * 32, "data/generated": "cd" * 32},
        {"scores": "scores.png", "evidence": "evidence.png"},
        patients_known,
    )


def test_report_puts_the_verdict_first_and_names_its_limits() -> None:
    report = _report(patients_known=True)
    lines = [line for line in report.splitlines() if line.strip()]
    assert lines[0] == "# Membership audit: group1"
    # 3 + 3 images with one perfect candidate of four: too few to decide either way
    assert lines[1].startswith("**Verdict: INCONCLUSIVE**: group1 is inconclusive: best AUC ")
    assert "## The gate" in report and "| AUC by patient | b in e2 | 1 |" in report
    assert "not estimable" in report
    assert "## Limitations" in report and "not a proof of privacy" in report
    assert "ab" * 32 in report and "cd" * 32 in report
    assert "![evidence](evidence.png)" in report
    assert "| p9 |" in report and "| p10 |" not in report  # the top 10 patients
    assert "| AUC by image (patients resampled), attack shown | 0.62 | 0.55 to 0.7 |" in report
    assert "treated as an independent patient" not in report
    warned = _report(patients_known=False)
    assert "**Warning.**" in warned.splitlines()[4]
    assert "treated as an independent patient" in warned


def test_frames_and_figures(tmp_path) -> None:
    frame = stats_frame({"auc_by_image": 0.6, "auc_by_image_low": 0.55}, None)
    assert list(frame.columns) == [
        "measure", "value", "low", "high", "control", "control_low", "control_high",
    ]  # fmt: skip
    assert frame.set_index("measure").loc["auc_by_image", "low"] == 0.55
    assert frame.control.isna().all()

    dev, labels, scores, real, synthetic, real_pixels, synthetic_pixels = _tiny()
    ids = ["s0", "s1", "s2"]
    risk = risk_table(
        dev, labels, scores, None, real, synthetic, ids, real_pixels, synthetic_pixels
    )
    holdout = scores[labels == 0]
    threshold = threshold_at_fpr(holdout, 0.01)
    assert threshold == 0.5  # the highest holdout score: nothing above it
    assert np.mean(scores[labels == 1] > threshold) == tpr_at_fpr(labels, scores, 0.01)
    assert threshold_at_fpr(holdout, 0.34) == 0.5 and threshold_at_fpr(holdout, 0.67) == 0.1
    assert threshold_at_fpr(holdout, 1.0) == -np.inf
    plot_scores(risk, threshold, tmp_path / "scores.png")
    plot_evidence(
        risk,
        dict(zip(dev.image_id, real_pixels, strict=True)),
        dict(zip(ids, synthetic_pixels, strict=True)),
        3,
        tmp_path / "figures" / "evidence.png",
    )
    plot_evidence(risk, {}, {}, 0, tmp_path / "empty.png")
    for name in ("scores.png", "figures/evidence.png", "empty.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG", name


def test_group_rows_without_test_images_and_repeated_patients(tmp_path) -> None:
    parts, _, _, _ = _group(leaky=False, patients=2, slices=2)
    manifest = pd.concat(parts.values(), ignore_index=True)
    assert set(group_rows(manifest, "group1", "d", require_test=False)) == {
        "generated", "used", "not_used",
    }  # fmt: skip
    with pytest.raises(MembershipError, match="no test real images"):
        group_rows(manifest, "group1", "d")
    table = tmp_path / "patients.csv"
    rows = ["image_id,patient", "u000,a", "u001,a", "u000,b", "u000,c"]
    table.write_text("\n".join(rows) + "\n")
    with pytest.raises(MembershipError, match=rf"{table}: image u000 is listed 3 times"):
        read_patients(str(table), parts)
    table.write_text("image_id,patient\nu000,a\n")
    with pytest.raises(MembershipError, match=rf"{table}: no patient for \d+ dev images, e\.g\. "):
        read_patients(str(table), parts)


def test_folder_hashes_change_with_any_image() -> None:
    rows = pd.DataFrame(
        {"path": ["d/used/a.png", "d/used/b.png", "d/gen/s.png"], "sha256": ["1", "2", "3"]}
    )
    hashes = folder_hashes(rows)
    assert list(hashes) == ["d/gen", "d/used"] and len(hashes["d/used"]) == 64
    assert folder_hashes(rows.iloc[::-1]) == hashes  # order does not matter
    changed = rows.assign(sha256=["1", "9", "3"])
    assert folder_hashes(changed)["d/used"] != hashes["d/used"]
    assert folder_hashes(changed)["d/gen"] == hashes["d/gen"]
    renamed = rows.assign(path=["d/used/a.png", "d/used/c.png", "d/gen/s.png"])
    assert folder_hashes(renamed)["d/used"] != hashes["d/used"]


def test_the_distance_test_corrects_for_looking_in_several_feature_spaces() -> None:
    """2 member and 6 holdout patients of 2 slices. In one space the members are the closest to
    the synthetic set (the most extreme of 28 labellings); in the other, two holdout patients are.
    Alone, each space's p is 1/28; looked at together, two labellings reach the smallest p."""
    patients = np.repeat([f"p{i}" for i in range(8)], 2)
    labels = np.isin(patients, ["p0", "p1"]).astype(int)
    synthetic = np.zeros((3, 1))
    closest_members = np.where(labels == 1, 1.0, 5.0 + np.arange(16))[:, None]
    closest_others = np.where(np.isin(patients, ["p6", "p7"]), 1.0, 5.0 + np.arange(16))[:, None]
    one = {"a": (synthetic, closest_members)}
    corrected, raw = distance_test(labels, patients, one, 999)
    assert raw == {"a": pytest.approx(1 / 28)} and corrected == pytest.approx(1 / 28)
    both = {**one, "b": (synthetic, closest_others)}
    corrected, raw = distance_test(labels, patients, both, 999)
    assert raw["a"] == pytest.approx(1 / 28) and raw["b"] > 1 / 28
    assert corrected == pytest.approx(2 / 28)
