"""How well pseudo-patients recover the patients of a demo-built dataset: per folder of real
images (Task 1 dev used, dev not used and test, per group), the adjusted Rand index of
:func:`ctprints.pseudo_patients.pseudo_patients` against the patients the demo recorded
(``data/<dataset>/ground_truth/patients.csv``), and the number of pseudo-patients against the
number of patients.

    python benchmarks/pseudo_patients.py WORKDIR [--dataset demo] > table.tsv

WORKDIR is a finished run (its manifest and demo data); the table goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from ctprints.embed import pixel_features
from ctprints.io import read_image
from ctprints.manifest import read_manifest
from ctprints.pseudo_patients import pseudo_patients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--dataset", default="demo")
    args = parser.parse_args()
    root = args.workdir
    truth = pd.read_csv(root / f"data/{args.dataset}/ground_truth/patients.csv")
    truth = truth[truth.task == "task1"].assign(image_id=lambda t: t.key.str.split("/").str[-1])
    # the folders Task 1 and the audit cluster: dev used, dev not used, and all test images
    truth["folder"] = np.where(truth.split == "test", "test", truth.split + " " + truth.role)
    manifest = read_manifest(root / f"results/{args.dataset}/manifest.parquet")
    real = manifest[
        (manifest.task == "task1") & manifest.role.isin(["used", "not_used", "real_unknown"])
    ]
    path_of = {(g, i): p for g, i, p in zip(real.group, real.image_id, real.path, strict=True)}
    rows = []
    for (group, folder), part in truth.groupby(["group", "folder"], sort=True):
        paths = [root / path_of[group, image_id] for image_id in part.image_id]
        labels = pseudo_patients(pixel_features(np.stack([read_image(p) for p in paths])))
        rows.append(
            {
                "group": group,
                "folder": folder,
                "images": len(part),
                "patients": part.patient_id.nunique(),
                "pseudo_patients": len(set(labels)),
                "ari": adjusted_rand_score(part.patient_id, labels),
            }
        )
    table = pd.DataFrame(rows)
    table.to_csv(sys.stdout, sep="\t", index=False, float_format="%.3f")
    summary = f"mean ARI {table.ari.mean():.3f}, lowest {table.ari.min():.3f}"
    print(f"# {summary} over {len(table)} folders", file=sys.stderr)


if __name__ == "__main__":
    main()
