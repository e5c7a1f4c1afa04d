"""Rule evaluate_task1: every attack x feature space x group, on dev (cross-validated), the
member-vs-member control and the test images, with bootstrap CIs and permutation p-values."""

import sys

# Under `--sdm conda` the rule's environment has the dependencies but not ctprints itself, so
# import the library from this checkout.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

import pandas as pd  # noqa: E402

from ctprints.membership import task1_scores  # noqa: E402
from ctprints.runlog import configure  # noqa: E402
from ctprints.submission import read_run  # noqa: E402

log = configure(snakemake.log[0])
params = snakemake.params
truths = dict(zip(params.groups, snakemake.input.truth, strict=True))
score_files = iter(snakemake.input.scores)
run_files = iter(snakemake.input.runs)
settings = {"n_boot": params.n_boot, "n_permutations": params.n_permutations, "seed": params.seed}
rows = []


def patients_of(frame):
    """Patients for a cluster bootstrap, where the rows were cross-validated by patient."""
    if frame.grouping.iloc[0] == "patient" and frame.patient.notna().all():
        return frame.patient.astype(str).to_numpy()
    return None


for group in params.groups:
    for embedder in params.embedders:
        scores = pd.read_csv(next(score_files), dtype={"image_id": str})
        dev = scores[scores.split == "dev"]
        control = scores[scores.split == "control"]
        test = scores[scores.split == "test"]
        truth = read_run(truths[group], task=1, expected_ids=test.image_id)
        test_labels = [int(truth[i]) for i in test.image_id]
        for attack in params.attacks:
            predicted = read_run(next(run_files), task=1, expected_ids=test.image_id)
            common = {"group": group, "attack": attack, "features": embedder}
            for split, frame, labels, hard in (
                ("cv_dev", dev, dev.label.astype(int), None),
                ("control", control, control.label.astype(int), None),
                ("test", test, test_labels, [int(predicted[i]) for i in test.image_id]),
            ):
                groups = patients_of(frame)
                result = task1_scores(labels, frame[attack], hard, groups=groups, **settings)
                rows.append(
                    {**common, "split": split, "grouping": frame.grouping.iloc[0], **result}
                )
            log.info("%s %s %s: test AUC %.3f", group, embedder, attack, rows[-1]["auc"])
paper_files = iter(snakemake.input.paper)
paper_runs = iter(snakemake.input.paper_runs)
for group in params.groups:
    for embedder, fraction in params.paper:
        scores = pd.read_csv(next(paper_files), dtype={"image_id": str})
        predicted = read_run(next(paper_runs), task=1)
        test = scores[scores.split == "test"]
        dev = scores[scores.split == "dev"]
        truth = read_run(truths[group], task=1, expected_ids=test.image_id)
        common = {
            "group": group,
            "attack": f"paper_autogluon_f{fraction}",
            "features": embedder,
            "autogluon_val_auc": scores.autogluon_val_auc.iloc[0],
        }
        if len(set(dev.label)) == 2:  # the honest hold-out (empty at fraction 1)
            result = task1_scores(
                dev.label.astype(int), dev.paper, None, groups=patients_of(dev), **settings
            )
            rows.append(
                {**common, "split": "holdout_dev", "grouping": dev.grouping.iloc[0], **result}
            )
        labels = [int(truth[i]) for i in test.image_id]
        hard = [int(predicted[i]) for i in test.image_id]
        result = task1_scores(labels, test.paper, hard, **settings)
        rows.append({**common, "split": "test", "grouping": scores.grouping.iloc[0], **result})
        log.info(
            "%s paper f%s %s: AutoGluon's validation AUC %.3f, test AUC %.3f",
            group,
            fraction,
            embedder,
            common["autogluon_val_auc"],
            result["auc"],
        )
table = pd.DataFrame(rows)
table.to_csv(snakemake.output.table, sep="\t", index=False, float_format="%.4f")
