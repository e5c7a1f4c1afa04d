"""One whole audit of one group: :func:`run_audit` finds, :func:`write_audit` writes (rule audit
and ``benchmarks/bench_audit.py`` call these two)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ctprints.audit.evidence import patient_table, risk_table, statistics
from ctprints.audit.gate import check_budget, gate_table, verdict, wide
from ctprints.audit.page import (
    folder_hashes,
    plot_evidence,
    plot_scores,
    report_markdown,
    stats_frame,
    threshold_at_fpr,
)
from ctprints.audit.scores import (
    candidate_scores,
    choose,
    dev_inputs,
    selection_p,
    unit_frame,
    unit_scores,
)
from ctprints.errors import AuditError

if TYPE_CHECKING:
    from pandas import DataFrame

log = logging.getLogger(__name__)


@dataclass
class Audit:
    """Everything one group's audit found (:func:`run_audit`); :func:`write_audit` writes it."""

    group: str
    dev: DataFrame  # the dev rows, used then not used
    synthetic: DataFrame  # the synthetic rows
    choice: DataFrame  # the candidates of :func:`choose`
    risk: DataFrame
    patients: DataFrame  # :func:`patient_table`
    stats: dict
    control: dict | None
    verdict: dict
    real_pixels: np.ndarray
    synthetic_pixels: np.ndarray
    settings: dict  # what the page lists under "Settings"
    patients_known: bool  # a patients file gave them (not pseudo-patients, not images)
    gate: DataFrame  # :func:`ctprints.audit.gate.gate_table`
    units: DataFrame  # :func:`ctprints.audit.scores.unit_frame`


# long: the audit's steps in order, each a function of its own
def run_audit(
    parts: dict,
    features_by_embedder: dict[str, DataFrame],
    patients: dict[str, str] | None,
    read_pixels: Callable,
    group: str,
    attacks: list[str],
    budget: dict,
    attack: str | None = None,
    embedder: str | None = None,
    n_folds: int = 5,
    seed: int = 0,
    attack_settings: dict | None = None,
    n_boot: int = 1000,
    n_permutations: int = 999,
    n_groups: int = 1,
    pseudo: bool = False,
    **context,
) -> Audit:
    """The whole audit of one group from its dev rows (``parts`` of
    :func:`ctprints.membership.group_rows`), its embeddings by embedder and its patients
    (image_id -> patient, or None: images): candidate scores, the choice, the gate's table and
    verdict (alpha split over ``n_groups``, the groups of this audit), the risk tables and the
    evidence beside the gate (``context`` goes into the verdict, e.g. the dataset). ``pseudo``:
    the patients are pseudo-patients (:func:`ctprints.pseudo_patients.dev_pseudo_patients`),
    which the verdict and the page say. ``budget`` is checked here."""
    from ctprints.membership import part_features

    budget = check_budget(budget)
    generated = parts["generated"]
    if "split" in generated.columns:  # the dev folder's synthetic images only, as documented
        parts = {**parts, "generated": generated[generated["split"] == "dev"]}
    if parts["generated"].empty:
        raise AuditError(f"task1 group {group}: no synthetic images in the dev folder")
    dev, dev_patients = dev_inputs(parts, patients, group)
    candidates = candidate_scores(
        parts, features_by_embedder, attacks, n_folds, seed, attack_settings, read_pixels, patients
    )
    attack, embedder, choice = choose(candidates, attack, embedder, group)
    matrix, _, unit_label, by_patient = unit_scores(candidates, choice)
    gate = gate_table(matrix, unit_label, choice, budget, n_groups)
    choice = choice.merge(wide(gate), on=["embedder", "attack"], how="left", sort=False)
    log.info("attack %s in %s (AUC by patient %.3f)", attack, embedder, choice.auc_by_patient[0])
    chosen = candidates[(candidates.attack == attack) & (candidates.embedder == embedder)]
    scored = chosen[chosen.split == "dev"].set_index("image_id").loc[list(dev.image_id)]
    labels, scores = scored.label.astype(int).to_numpy(), scored.score.to_numpy()
    synthetic = parts["generated"]
    real_features = part_features(features_by_embedder[embedder], dev)
    synthetic_features = part_features(features_by_embedder[embedder], synthetic)
    real_pixels, synthetic_pixels = read_pixels(list(dev.path)), read_pixels(list(synthetic.path))
    risk = risk_table(
        dev, labels, scores, dev_patients, real_features, synthetic_features,
        list(synthetic.image_id), real_pixels, synthetic_pixels,
    )  # fmt: skip
    # The distance test in every candidate feature space, corrected for looking in several:
    # in the chosen attack's space alone it would follow the choice (docs/task1-and-audit.md).
    spaces = {
        name: (part_features(frame, synthetic), part_features(frame, dev))
        for name, frame in features_by_embedder.items()
        if name in set(choice["embedder"])
    }
    resampling = dict(n_boot=n_boot, n_permutations=n_permutations, seed=seed)
    resampling["alpha"] = budget["alpha"]
    stats = statistics(
        labels, scores, dev_patients, synthetic_features, real_features, spaces=spaces, **resampling
    )
    stats["selection_p"] = selection_p(matrix, unit_label, n_permutations, seed)
    control = _control(chosen, dev, choice, real_features, synthetic_features, spaces, resampling)
    unit = ("pseudo-patients" if pseudo else "patients") if by_patient else "images"
    members, holdout = int(unit_label.sum()), int((unit_label == 0).sum())
    decision = verdict(
        gate, budget, members, holdout, n_groups, group=group, attack=attack, embedder=embedder,
        unit=unit, patients_known=patients is not None and not pseudo,
        selection_p=stats["selection_p"],
        **context,
    )  # fmt: skip
    log.info("%s", decision["reason"])
    settings = {
        **context,
        "attack shown": attack,
        "feature space shown": embedder,
        "candidates": len(choice),
        "groups in this audit (alpha is split over them)": n_groups,
        "folds": n_folds,
        "seed": seed,
        "bootstrap resamples": n_boot,
        "permutations": n_permutations,
        "budget": json.dumps(budget),
        "distance test p per feature space (uncorrected)": ", ".join(
            f"{name} {value:.3g}" for name, value in stats["permutation_p_spaces"].items()
        ),
    }
    return Audit(
        group, dev, synthetic, choice, risk, patient_table(risk), stats, control, decision,
        real_pixels, synthetic_pixels, settings, patients is not None and not pseudo, gate,
        unit_frame(candidates),
    )  # fmt: skip


def _control(chosen, dev, choice, real_features, synthetic_features, spaces, resampling):
    """The member-vs-member control's statistics: the used images in two halves, both members
    (halves of whole patients where there are enough used patients, else of images, without a
    patient column); None, with a warning, where there are too few used images."""
    control_rows = chosen[chosen.split == "control"]
    if not len(control_rows):
        log.warning("too few used images for the member-vs-member control; reported without it")
        return None
    position = {image_id: i for i, image_id in enumerate(dev.image_id)}
    by_patient = control_rows.patient.notna().all()
    rows = [position[image_id] for image_id in control_rows.image_id]
    control = statistics(
        control_rows.label.astype(int).to_numpy(),
        control_rows.score.to_numpy(),
        control_rows.patient.astype(str).to_numpy() if by_patient else None,
        synthetic_features,
        real_features[rows],
        spaces={name: (syn, real[rows]) for name, (syn, real) in spaces.items()},
        **resampling,
    )
    control["best_auc"] = float(choice.control_auc.max())
    return control


def write_audit(
    result: Audit, outputs: dict[str, str | Path], k: int = 12, files: tuple[str, ...] = ()
) -> None:
    """Every file of one audit (``outputs``: the names of ``ctprints.paths.AUDIT_FILES`` -> path;
    the page links the figures by their file names, so they belong beside it). ``files`` (for
    example the patients file, which decides membership) are hashed on the page beside the
    image folders."""
    import hashlib

    import pandas as pd

    result.choice.to_csv(outputs["attacks"], sep="\t", index=False, float_format="%.4f")
    result.units.to_csv(outputs["units"], sep="\t", index=False, float_format="%.6g")
    result.risk.to_csv(outputs["risk"], index=False, float_format="%.6g")
    result.patients.to_csv(outputs["patients"], index=False, float_format="%.6g")
    table = stats_frame(result.stats, result.control)
    table.to_csv(outputs["statistics"], sep="\t", index=False, float_format="%.4f")
    Path(outputs["verdict"]).write_text(json.dumps(result.verdict, indent=2))
    plot_evidence(
        result.risk,
        dict(zip(result.dev.image_id, result.real_pixels, strict=True)),
        dict(zip(result.synthetic.image_id, result.synthetic_pixels, strict=True)),
        k,
        outputs["evidence"],
    )
    holdout = result.risk.score[result.risk.member == 0].to_numpy()
    plot_scores(result.risk, threshold_at_fpr(holdout, 0.01), outputs["scores"])
    page = report_markdown(
        result.group,
        result.verdict,
        table,
        result.choice,
        result.patients.head(10),
        result.settings,
        folder_hashes(pd.concat([result.dev, result.synthetic]))
        | {path: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in files},
        {name: Path(outputs[name]).name for name in ("evidence", "scores")},
        result.patients_known,
    )
    Path(outputs["report"]).write_text(page)
