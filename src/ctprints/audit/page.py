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

from ctprints.audit.gate import BOUND_WORDS, CRITERIA

if TYPE_CHECKING:
    from pandas import DataFrame


def _pyplot():
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
    plt = _pyplot()
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
    plt = _pyplot()
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
    "auc": "AUC",
    "tpr_at_1pct_fpr": "TPR at 1% FPR",
    "tpr_at_0_1pct_fpr": "TPR at 0.1% FPR",
    "selection_p_auc": "AUC permutation p, adjusted for the choice of attack",
    "selection_p_tpr_at_1pct_fpr": "TPR at 1% FPR permutation p, adjusted likewise",
    "selection_p_tpr_at_0_1pct_fpr": "TPR at 0.1% FPR permutation p, adjusted likewise",
    "p_floor": "smallest p-value these patients allow",
    "permutation_p": "permutation p (members closer; every feature space, min-P corrected)",
    "dcr_share": "synthetic images nearest a member",
    "dcr_expected": "expected without leakage",
    "dcr_member_mean": "mean distance, members",
    "dcr_holdout_mean": "mean distance, holdout",
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


# long: the page top to bottom, one section after another
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
    """The audit's one-page Markdown report: the verdict and its reason first, the statistics
    (:func:`stats_frame`) beside the control's and the budget, the figures (``figures``: caption
    -> file name relative to the report), the riskiest patients (top 10 of ``patients_top``),
    the attack choice (:func:`choose`), the settings, the sha256 of every input folder and the
    limitations. Without a patients file (``patients_known`` False) a warning near the top says
    that slices were treated as independent."""
    budget = verdict.get("budget", {})
    alpha = budget.get("alpha")
    independence = (
        "No patients file was given: every slice was treated as an independent patient. Slices "
        "of one patient are correlated, so the intervals are too narrow and the p-value too "
        "small; give a patients file (image_id,patient) for an honest audit."
    )
    lines = [f"# Membership audit: {group}", ""]
    lines += [f"**Verdict: {verdict['verdict'].upper()}**: {verdict['reason']}", ""]
    if not patients_known:
        lines += [f"> **Warning.** {independence}", ""]
    for criterion in verdict.get("criteria", []):
        word = "within budget" if criterion["passed"] else "over budget"
        if criterion["name"] == "permutation":
            lines.append(
                f"- permutation p {_cell(criterion['value'])}: {word} "
                f"(fails below alpha {_cell(criterion['budget'])})"
            )
        else:
            which = BOUND_WORDS[criterion["compared"]].strip() or "value"
            over = criterion["compared_value"] > criterion["budget"]
            if criterion["passed"] and over:
                word = "over budget, but within chance after the choice of attack"
            guard = criterion.get("selected_p")
            lines.append(
                f"- {MEASURES.get(criterion['name'], criterion['name'])}: {which} "
                f"{_cell(criterion['compared_value'])}, budget {_cell(criterion['budget'])}"
                + ("" if guard is None else f", selection-adjusted p {_cell(guard)}")
                + f": {word}"
            )
    lines += ["", "## Statistics", ""]
    limits = {
        name: f"<= {_cell(budget[key])}"
        for name, key in CRITERIA.items()
        if budget.get(key) is not None
    }
    if alpha is not None:
        limits["permutation_p"] = f">= {_cell(alpha)}"
        for name in CRITERIA:
            limits[f"selection_p_{name}"] = f"guards {MEASURES[name]} at {_cell(alpha)}"
        limits["p_floor"] = f"< {_cell(alpha)}, or no test can fail"
    level = f"{100 * (1 - alpha):g}% " if alpha is not None else ""
    header = ["measure", "value", f"{level}interval", "control", "control interval", "budget"]
    rows = [
        [
            MEASURES.get(row.measure, row.measure),
            row.value,
            _interval(row.low, row.high),
            row.control,
            _interval(row.control_low, row.control_high),
            limits.get(row.measure, ""),
        ]
        for row in stats_table.itertuples(index=False)
    ]
    lines += _table(header, rows)
    lines += [
        "",
        "The control splits the members into two halves, both used: an attack that separates "
        "them measures something other than membership. It has half as many patients a side "
        "(and splits images, not patients, where there are fewer than 4 members), so it shows "
        "how noisy these numbers are rather than a calibrated chance level; the "
        "selection-adjusted p-values are the calibrated test.",
    ]
    floor = stats_table.set_index("measure")["value"].get("p_floor")
    if floor is not None and not math.isnan(floor):
        lines += [
            "",
            f"With these patients no permutation p-value can be below {_cell(floor)}"
            + (
                f", which is not below alpha {_cell(alpha)}: no test could fail this group, "
                "and its verdict is inconclusive."
                if alpha is not None and floor >= alpha
                else "."
            ),
        ]
    if figures:
        lines += ["", "## Figures"]
        for caption, name in figures.items():
            lines += ["", f"![{caption}]({name})"]
    lines += ["", "## Riskiest patients", ""]
    top = patients_top.head(10)
    lines += _table(list(top.columns), top.to_numpy(dtype=object).tolist())
    lines += ["", "## Attack choice", ""]
    lines += _table(list(choice.columns), choice.to_numpy(dtype=object).tolist())
    control_best = choice["control_auc"].max() if "control_auc" in choice else math.nan
    lines += [
        "",
        f"The chosen attack is the best of {len(choice)} by cross-validated AUC, which biases "
        f"its AUC upward; the best control AUC over the same candidates is "
        f"{_cell(control_best) or 'not available'}. The verdict judges the AUC and TPR only "
        "where their permutation p, adjusted for this choice (max-T), is below alpha.",
        "",
        "## Settings",
        "",
    ]
    lines += [f"- {name}: {value}" for name, value in settings.items()]
    if "budget" not in settings:
        judged = {k: "not judged" if v is None else v for k, v in budget.items()}
        lines += [f"- budget: {', '.join(f'{k} {v}' for k, v in judged.items())}"]
    lines += ["", "## Inputs (sha256)", ""]
    lines += _table(["folder", "sha256"], [[folder, digest] for folder, digest in hashes.items()])
    lines += [
        "",
        "## Limitations",
        "",
        "- A black-box attack that finds nothing is not a proof of privacy: a stronger attack, "
        "or one with access to the generator, may still find members.",
        "- The result holds only for this feature space and these attacks.",
        "- Choosing the best of several attacks biases its AUC upward; the selection-adjusted "
        "p-values correct for it, and the distance test is corrected for running in every "
        "feature space.",
        "- Any failed criterion fails the group, so without leakage a group fails somewhat more "
        "often than alpha. The permutation tests hold the out-of-fold scores fixed although "
        "their cross-validation used the true labels, so their p-values are approximate.",
        "- The interval's lower end of a two-sided (1 - alpha) interval is a one-sided test at "
        "alpha / 2: decide_on lower is conservative in that respect.",
        "- PASS means that these attacks found no leakage beyond chance on these patients; it "
        "does not mean private.",
    ]
    if not patients_known:
        lines.append(f"- {independence}")
    return "\n".join(lines) + "\n"
