"""Rules train_round0 / train_round1: train one fastai ResNet, export it, predict the test images.

The predictions come from the exported learner, loaded back, so the file on disk is what made
them.
"""

import pandas as pd

from ctprints.manifest import read_manifest
from ctprints.runlog import configure
from ctprints.train import (
    export_learner,
    load_trusted_learner,
    predict,
    task2_images,
    train_learner,
    with_pseudo_labels,
)

log = configure(snakemake.log[0])
params = snakemake.params
images = task2_images(read_manifest(snakemake.input.manifest))
if "pseudo" in snakemake.input.keys():
    pseudo = pd.read_csv(snakemake.input.pseudo, dtype={"image_id": str, "label": str})
    train = with_pseudo_labels(images, pseudo)
    log.info(
        "round 1: %d pseudo-labelled test images added as %s",
        len(pseudo),
        sorted(set(pseudo.label)),
    )
else:
    train = images[images["split"] == "train"]
learn, metrics = train_learner(
    train,
    arch=snakemake.wildcards.arch,
    size=int(snakemake.wildcards.size),
    epochs=params.epochs,
    lr=params.lr,
    weights=params.weights,
    batch_size=params.batch_size,
    valid_pct=params.valid_pct,
    seed=params.seed,
    device=params.device,
    threads=snakemake.threads,
    recipe=params.recipe,
)
metrics.to_csv(snakemake.output.metrics, index=False)
export_learner(learn, snakemake.output.learner)
device = learn.dls.device
trusted = load_trusted_learner(snakemake.output.learner, root="results", device=device)
trusted.dls.device = device
predictions = predict(trusted, images[images["split"] == "test"], params.batch_size)
predictions.to_csv(snakemake.output.predictions, index=False, float_format="%.6f")
log.info("final validation accuracy %.4f", metrics["accuracy"].iloc[-1])
log.info("test predictions: %s", predictions["label"].value_counts().to_dict())
