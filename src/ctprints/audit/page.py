"""The audit's figures and its one-page report.

- :func:`threshold_at_fpr`, :func:`plot_evidence`, :func:`plot_scores`: figures.
- :func:`stats_frame`, :func:`folder_hashes`, :func:`report_markdown`: the statistics table,
  the digest of every input folder and the one-page report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ctprints.audit.gate import NAMES

if TYPE_CHECKING:
    from pandas import DataFrame


def pyplot():
    """matplotlib's pyplot, writing files only."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on clusters or CI
    import matplotlib.pyplot as plt

    return plt


def threshold_at_fpr(scores_holdout: np.ndarray, fpr: float = 0.01) -> float:
    """The score above which (strictly) at most ``fpr`` of the holdout images lie: the
    (k+1)-th highest holdout score, k = floor(fpr x holdout), as in
    :func:`ctprints.metrics.tpr_at_fpr`; -inf where every holdout image may lie above."""
    negatives = np.sort(np.asarray(scores_holdout, dtype=np.float64))[::-1]
    allowed = int(math.floor(fpr * len(negatives) + 1e-9))
    return float(negatives[allowed]) if allowed < len(negatives) else -math.inf


def plot_evidence(
    risk: DataFrame,
    real_pixels_by_id: dict[str, np.ndarray],
    synthetic_pixels_by_id: dict[str, np.ndarray],
    k: int,
    path: str | Path,
) -> None:
    """The ``k`` riskiest real images (the top of a :func:`risk_table`), one row each: the real
    image, its nearest synthetic image and their absolute difference, captioned with the image,
    patient, member or holdout, distance, SSIM and score rank."""
    plt = pyplot()
    top = risk.sort_values("rank", kind="stable").head(max(k, 0))
    rows = max(len(top), 1)
    figure, axes = plt.subplots(rows, 3, figsize=(7.2, 2.75 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    if top.empty:
        axes[0, 1].text(0.5, 0.5, "no images", ha="center", va="center")
    for row, item in enumerate(top.itertuples(index=False)):
        real = np.asarray(real_pixels_by_id[item.image_id])
        synthetic = np.asarray(synthetic_pixels_by_id[item.nearest_synthetic])
        difference = np.abs(real.astype(np.int16) - synthetic.astype(np.int16))
        panels = (
            (real, f"real {item.image_id}", 255),
            (synthetic, f"synthetic {item.nearest_synthetic}", 255),
            (difference, f"|difference| (max {int(difference.max())})", max(difference.max(), 1)),
        )
        for axis, (image, title, top_value) in zip(axes[row], panels, strict=True):
            axis.imshow(image, cmap="gray", vmin=0, vmax=top_value, interpolation="nearest")
            axis.set_title(title, fontsize=7)
        side = "member" if item.member == 1 else "holdout"
        axes[row, 1].set_xlabel(
            f"{item.image_id}, patient {item.patient}, {side}: distance {item.distance:.3g}, "
            f"SSIM {item.ssim:.3f}, score rank {item.rank}",
            fontsize=7,
        )
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_scores(
    risk: DataFrame, threshold: float, path: str | Path, label: str = "threshold"
) -> None:
    """Overlaid histograms of the member and holdout scores of a :func:`risk_table`, with a
    vertical line at ``threshold`` (e.g. :func:`threshold_at_fpr`) named ``label``."""
    plt = pyplot()
    scores = risk["score"].to_numpy(dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    bins = np.histogram_bin_edges(finite if len(finite) else [0.0, 1.0], bins=30)
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    for member, name, colour in ((1, "members (used)", "C3"), (0, "holdout (not used)", "C0")):
        values = risk.loc[risk["member"] == member, "score"].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        axis.hist(values, bins=bins, alpha=0.55, color=colour, label=f"{name}, n={len(values)}")
    if np.isfinite(threshold):
        axis.axvline(threshold, color="black", lw=1.0, ls="--", label=f"{label} {threshold:.3g}")
    axis.set_xlabel("attack score (higher: more likely used)")
    axis.set_ylabel("images")
    axis.legend(fontsize=7, loc="best", frameon=False)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


MEASURES = {  # statistics key -> what the report calls it
    "auc_by_image": "AUC by image (patients resampled), attack shown",
    "selection_p": "p of the best AUC by patient against no leak, adjusted for the choice (max-T)",
    "p_floor": "smallest p-value these patients allow",
    "permutation_p": "p of members closer to the synthetic set (every feature space, min-P)",
    "dcr_member_mean": "mean distance to the nearest synthetic image, members",
    "dcr_holdout_mean": "mean distance to the nearest synthetic image, holdout",
    "n_members": "member images",
    "n_holdout": "holdout images",
    "member_patients": "member patients",
    "holdout_patients": "holdout patients",
}


def folder_hashes(rows: DataFrame) -> dict[str, str]:
    """folder -> sha256 of the manifest rows' images in it, for the report: the digest of the
    sorted lines "file name<TAB>file sha256" (the manifest's digests of the files' bytes), so
    that it changes when any image is added, removed, renamed or changed."""
    import hashlib

    lines: dict[str, list[str]] = {}
    for path, digest in zip(rows["path"], rows["sha256"], strict=True):
        folder, _, name = str(path).replace("\\", "/").rpartition("/")
        lines.setdefault(folder, []).append(f"{name}\t{digest}\n")
    return {
        folder: hashlib.sha256("".join(sorted(entries)).encode()).hexdigest()
        for folder, entries in sorted(lines.items())
    }


def stats_frame(stats: dict, control: dict | None) -> DataFrame:
    """The statistics table (statistics.tsv): measure, value, low, high, control, control_low,
    control_high, one row per :data:`MEASURES` key (NaN where a number does not apply)."""
    import pandas as pd

    def number(source: dict | None, key: str) -> float:
        value = None if source is None else source.get(key)
        return math.nan if value is None else float(value)

    return pd.DataFrame(
        [
            {
                "measure": measure,
                "value": number(stats, measure),
                "low": number(stats, f"{measure}_low"),
                "high": number(stats, f"{measure}_high"),
                "control": number(control, measure),
                "control_low": number(control, f"{measure}_low"),
                "control_high": number(control, f"{measure}_high"),
            }
            for measure in MEASURES
        ]
    )


def _cell(value) -> str:
    """A table cell: numbers with 3 significant digits, integers whole, NaN and None empty."""
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and float(value).is_integer() and abs(value) >= 1
    ):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list]) -> list[str]:
    """Markdown table lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]


def _interval(low, high) -> str:
    """ "low to high", or nothing where there is no interval."""
    return "" if _cell(low) == "" else f"{_cell(low)} to {_cell(high)}"


LIMITATIONS = (
    "A black-box attack that finds nothing is not a proof of privacy: a stronger attack, or one "
    "with access to the generator, may still find members.",
    "The result holds only for these feature spaces and these attacks.",
    "The bounds hold the out-of-fold scores fixed although their cross-validation used the true "
    "labels, and treat patients as independent: their error rates are approximate (the "
    "audit_calibration target measures them).",
    "PASS means that no candidate's leak can reach the budget on these patients; it does not "
    "mean private against every attack.",
)


def _gate_lines(verdict: dict) -> list[str]:
    """The gate's table: per criterion the best candidate's value and the bounds compared."""
    share = verdict.get("alpha_group", verdict.get("alpha"))
    groups = verdict.get("n_groups", 1)
    lines = [
        "## The gate",
        "",
        f"Units: {verdict.get('members')} members and {verdict.get('holdout')} holdout "
        f"{verdict.get('unit', 'patients')}; a unit's score is the mean of its slices' scores. "
        f"Alpha {_cell(verdict.get('alpha'))} is split over the audit's {groups} group(s): "
        f"{_cell(share)} here. A group fails when the best candidate's lower bound, "
        "simultaneous over every candidate and criterion, is above the budget; it passes when "
        "every candidate's upper bound is below it; otherwise it is inconclusive.",
        "",
    ]
    rows = []
    for c in verdict["criteria"]:
        if c["budget"] is None:
            note = "reported, not gated (no budget)"
        elif not c["estimable"]:
            note = "not estimable (needs more holdout units), not gated"
        else:
            note = "over budget" if c["over"] else "within budget" if c["under"] else "undecided"
        rows.append(
            [NAMES[c["name"]], c.get("candidate"), c["value"], c["low"], c["high"],
             c["budget"], note]
        )  # fmt: skip
    header = ["criterion", "best candidate", "value", "highest lower bound"]
    header += ["highest upper bound", "budget", "judged"]
    return lines + _table(header, rows)


def _no_patients_file(unit: str) -> str:
    """What the page says where no patients file was given."""
    if unit == "pseudo-patients":
        return (
            "No patients file was given: the dev images were grouped into pseudo-patients "
            "(near-copies clustered, their number estimated from the images). The bounds are as "
            "good as that grouping; give a patients file (image_id,patient) for an audit by "
            "patient."
        )
    return (
        "No patients file was given: every slice was treated as an independent patient. Slices "
        "of one patient are correlated, so the bounds are too narrow and the p-values too "
        "small; give a patients file (image_id,patient) for an honest audit."
    )


def report_markdown(
    group: str,
    verdict: dict,
    stats_table: DataFrame,
    choice: DataFrame,
    patients_top: DataFrame,
    settings: dict,
    hashes: dict[str, str],
    figures: dict[str, str],
    patients_known: bool,
) -> str:
    """The audit's one-page Markdown report: the verdict and its reason first, the gate's table,
    the evidence beside it (:func:`stats_frame`, with the control's), the figures
    (``figures``: caption -> file name relative to the report), the riskiest patients (top 10 of
    ``patients_top``), every candidate (:func:`ctprints.audit.scores.choose` with its bounds),
    the settings, the sha256 of every input folder and the limitations. Without a patients file
    (``patients_known`` False) a warning near the top says that slices were treated as
    independent."""
    alpha = verdict.get("alpha")
    independence = _no_patients_file(verdict.get("unit", "patients"))
    lines = [f"# Membership audit: {group}", ""]
    lines += [f"**Verdict: {verdict['verdict'].upper()}**: {verdict['reason']}", ""]
    if not patients_known:
        lines += [f"> **Warning.** {independence}", ""]
    lines += _gate_lines(verdict)
    level = f"{100 * (1 - alpha):g}% " if alpha is not None else ""
    lines += ["", "## Evidence beside the gate", ""]
    header = ["measure", "value", f"{level}interval", "control", "control interval"]
    rows = [
        [
            MEASURES.get(row.measure, row.measure),
            row.value,
            _interval(row.low, row.high),
            row.control,
            _interval(row.control_low, row.control_high),
        ]
        for row in stats_table.itertuples(index=False)
    ]
    lines += _table(header, rows)
    lines += [
        "",
        "These figures describe the data; only the gate decides. The control splits the members "
        "into two halves, both used: an attack that separates them measures something other "
        "than membership.",
    ]
    if figures:
        lines += ["", "## Figures"]
        for caption, name in figures.items():
            lines += ["", f"![{caption}]({name})"]
    lines += ["", "## Riskiest patients", ""]
    top = patients_top.head(10)
    lines += _table(list(top.columns), top.to_numpy(dtype=object).tolist())
    lines += [
        "",
        "p_value compares a patient's score with the holdout patients'; p_holm adjusts it over "
        "every patient (Holm), so a p_holm below alpha singles the patient out.",
        "",
        "## Candidates",
        "",
    ]
    lines += _table(list(choice.columns), choice.to_numpy(dtype=object).tolist())
    lines += ["", "## Settings", ""]
    lines += [f"- {name}: {value}" for name, value in settings.items()]
    lines += ["", "## Inputs (sha256)", ""]
    lines += _table(["folder", "sha256"], [[folder, digest] for folder, digest in hashes.items()])
    lines += ["", "## Limitations", "", *(f"- {line}" for line in LIMITATIONS)]
    if not patients_known:
        lines.append(f"- {independence}")
    return "\n".join(lines) + "\n"
