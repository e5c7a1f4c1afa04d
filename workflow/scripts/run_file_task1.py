"""Rule run_file_task1: hard labels of one attack's test scores, thresholded on dev labels only.

The dev scores are out of fold and the test scores cross-fitted (ctprints.membership), so the
threshold applies on the scale of the scores it cuts. Where the test rows carry patients (or
pseudo-patients), every slice of one takes one label."""

import pandas as pd

from ctprints.labelling import constant_defect, label_images
from ctprints.runlog import configure
from ctprints.submission import write_run

log = configure(snakemake.log[0])
# The score column: the attack's, `autogluon` or `paper` (the AutoGluon runs).
attack = snakemake.params.column
rule = snakemake.params.threshold
scores = pd.read_csv(snakemake.input.scores, dtype={"image_id": str, "patient": str})
dev = scores[scores.split == "dev"]
test = scores[scores.split == "test"]
if len(set(dev.label)) < 2:
    # fraction 1: every dev image trained the model, so none is left to choose a threshold on
    threshold, labels = 0.5, (test[attack] >= 0.5).astype(int).to_numpy()
    log.info("no held-out dev images: threshold 0.5 on the predicted probability")
else:
    by_patient = "patient" in test and test.patient.notna().all() and dev.patient.notna().all()
    labels, threshold, rank_share = label_images(
        dev[attack],
        dev.label.astype(int),
        test[attack],
        rule,
        dev.patient if by_patient else None,
        test.patient if by_patient else None,
    )
    if by_patient:
        log.info("one label per patient: %d test patients", test.patient.nunique())
    if rank_share is not None:
        log.warning(
            "the %s threshold %.6g labels every test image alike: the top %.3f of them, the "
            "share it labels used on dev, are labelled used by rank",
            rule,
            threshold,
            rank_share,
        )
    defect = constant_defect(dev[attack], dev.label.astype(int), labels)
    if defect:
        log.warning("DEFECT: %s", defect)
write_run(snakemake.output.run, list(test.image_id), list(labels), task=1)
log.info(
    "%s threshold %.6g from %d dev images; %d of %d test images labelled used",
    rule,
    threshold,
    len(dev),
    int(labels.sum()),
    len(labels),
)
