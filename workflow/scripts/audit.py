"""Rule audit_group: the membership audit of one Task 1 group, from its dev folders only.

Every candidate attack is cross-validated in every candidate feature space on the dev used and
not-used images (and on the member-vs-member control); the chosen one's scores become the risk
table. The evidence figure, the score histogram, the statistics with patient-bootstrap intervals,
the verdict against the budget and the one-page report follow (ctprints.audit).
"""

import json
import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ctprints import audit  # noqa: E402
from ctprints.attacks import MembershipError  # noqa: E402
from ctprints.io import read_image  # noqa: E402
from ctprints.manifest import read_manifest  # noqa: E402
from ctprints.membership import group_rows, part_features, read_patients  # noqa: E402
from ctprints.plan import input_key  # noqa: E402
from ctprints.runlog import configure  # noqa: E402

log = configure(snakemake.log[0])
params, output = snakemake.params, snakemake.output
dataset, group = snakemake.wildcards.dataset, snakemake.wildcards.group
budget = audit.check_budget(params.budget)
manifest = read_manifest(snakemake.input.manifest)
try:
    parts = group_rows(manifest, group, dataset, require_test=False)
    patients = read_patients(params.patients, parts) if params.patients else None
except MembershipError as error:
    raise audit.AuditError(f"task1 group {group}: {error}") from None
if patients:
    log.info("%d dev patients in %s", len(set(patients.values())), params.patients)
else:
    log.warning(
        "group %s has no patients file: the audit treats slices as independent, so its intervals "
        "are too narrow and its tests too confident; give datasets.%s.task1.%s.patients",
        group,
        dataset,
        group,
    )
dev, dev_patients = audit.dev_inputs(parts, patients, group)


def read_pixels(paths):
    return np.stack([read_image(path) for path in paths])


features = {
    embedder: pd.read_parquet(snakemake.input[input_key("embeddings", embedder)]).set_index("key")
    for embedder in params.embedders
}
candidates = audit.candidate_scores(
    parts,
    features,
    params.attacks,
    params.folds,
    params.seed,
    params.settings,
    read_pixels,
    patients,
)
attack, embedder, choice = audit.choose(candidates, params.attack, params.embedder, group)
choice.to_csv(output.attacks, sep="\t", index=False, float_format="%.4f")
log.info("attack %s in %s (cross-validated AUC %.3f)", attack, embedder, choice.cv_auc.iloc[0])

chosen = candidates[(candidates.attack == attack) & (candidates.embedder == embedder)]
dev_scores = chosen[chosen.split == "dev"].set_index("image_id").loc[list(dev.image_id)]
labels = dev_scores.label.astype(int).to_numpy()
scores = dev_scores.score.to_numpy()
synthetic = parts["generated"]
real_features = part_features(features[embedder], dev)
synthetic_features = part_features(features[embedder], synthetic)
real_pixels, synthetic_pixels = read_pixels(list(dev.path)), read_pixels(list(synthetic.path))
risk = audit.risk_table(
    dev,
    labels,
    scores,
    dev_patients,
    real_features,
    synthetic_features,
    list(synthetic.image_id),
    real_pixels,
    synthetic_pixels,
)
risk.to_csv(output.risk, index=False, float_format="%.6g")
per_patient = audit.patient_table(risk)
per_patient.to_csv(output.patients, index=False, float_format="%.6g")

settings = dict(
    n_boot=params.n_boot,
    n_permutations=params.n_permutations,
    seed=params.seed,
    alpha=budget["alpha"],
)
stats = audit.statistics(
    labels, scores, dev_patients, synthetic_features, real_features, **settings
)
# The member-vs-member control: the used images split in two halves, both members (halves of
# whole patients where there are enough used patients, else of images, with no patient column).
control_rows = chosen[chosen.split == "control"]
control = None
if len(control_rows):
    position = {image_id: i for i, image_id in enumerate(dev.image_id)}
    rows = [position[image_id] for image_id in control_rows.image_id]
    by_patient = control_rows.patient.notna().all()
    control = audit.statistics(
        control_rows.label.astype(int).to_numpy(),
        control_rows.score.to_numpy(),
        control_rows.patient.astype(str).to_numpy() if by_patient else None,
        synthetic_features,
        real_features[rows],
        **settings,
    )
    control["best_auc"] = float(choice.control_auc.max())
else:
    log.warning("too few used images for the member-vs-member control; reported without it")
# The chosen AUC's permutation p, adjusted for choosing the best of the candidates.
stats["selection_p"] = audit.selection_p(candidates, choice, params.n_permutations, params.seed)
audit.stats_frame(stats, control).to_csv(
    output.statistics, sep="\t", index=False, float_format="%.4f"
)
result = audit.verdict(
    stats,
    budget,
    control,
    selected_p=stats["selection_p"],
    dataset=dataset,
    group=group,
    attack=attack,
    embedder=embedder,
    patients_known=patients is not None,
)
with open(output.verdict, "w") as handle:
    json.dump(result, handle, indent=2)
log.info("%s", result["reason"])

by_id = dict(zip(dev.image_id, real_pixels, strict=True))
synthetic_by_id = dict(zip(synthetic.image_id, synthetic_pixels, strict=True))
audit.plot_evidence(risk, by_id, synthetic_by_id, params.k, output.evidence)
holdout = risk.score[risk.member == 0].to_numpy()
audit.plot_scores(risk, audit.threshold_at_fpr(holdout, 0.01), output.scores)
hashes = audit.folder_hashes(pd.concat([dev, synthetic]))
page = audit.report_markdown(
    group,
    result,
    audit.stats_frame(stats, control),
    choice,
    per_patient.head(10),
    {
        "dataset": dataset,
        "attack": attack,
        "feature space": embedder,
        "folds": params.folds,
        "seed": params.seed,
        "bootstrap resamples": params.n_boot,
        "permutations": params.n_permutations,
        "budget": json.dumps(budget),
    },
    hashes,
    {"evidence": "evidence.png", "scores": "scores.png"},
    patients is not None,
)
with open(output.report, "w") as handle:
    handle.write(page)
