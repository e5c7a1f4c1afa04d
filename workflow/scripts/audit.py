"""Rule audit_group: the membership audit of one Task 1 group, from its dev folders only.

Every candidate attack is cross-validated in every candidate feature space on the dev used and
not-used images (and on the member-vs-member control); the gate judges every candidate by
patient (pseudo-patients where no patients file is given), and the risk tables, figures,
evidence and the one-page report follow (ctprints.audit).
"""

import numpy as np
import pandas as pd

from ctprints import audit
from ctprints.attacks import MembershipError
from ctprints.io import read_image
from ctprints.manifest import read_manifest
from ctprints.membership import group_rows, read_patients
from ctprints.paths import AUDIT_FILES, input_key
from ctprints.pseudo_patients import dev_pseudo_patients
from ctprints.runlog import configure

log = configure(snakemake.log[0])
params, output = snakemake.params, snakemake.output
dataset, group = snakemake.wildcards.dataset, snakemake.wildcards.group
manifest = read_manifest(snakemake.input.manifest)
try:
    parts = group_rows(manifest, group, dataset, require_test=False)
    patients = read_patients(params.patients, parts) if params.patients else None
except MembershipError as error:
    raise audit.AuditError(f"task1 group {group}: {error}") from None


def read_pixels(paths):
    return np.stack([read_image(path) for path in paths])


pseudo = patients is None
if pseudo:
    patients = dev_pseudo_patients(parts, read_pixels)
    log.warning(
        "group %s has no patients file: its dev images were grouped into %d pseudo-patients "
        "(near-copies clustered); give datasets.%s.task1.%s.patients for an audit by patient",
        group,
        len(set(patients.values())),
        dataset,
        group,
    )
else:
    log.info("%d dev patients in %s", len(set(patients.values())), params.patients)
features = {
    embedder: pd.read_parquet(snakemake.input[input_key("embeddings", embedder)]).set_index("key")
    for embedder in params.embedders
}
result = audit.run_audit(
    parts,
    features,
    patients,
    read_pixels,
    group,
    params.attacks,
    params.budget,
    attack=params.attack,
    embedder=params.embedder,
    n_folds=params.folds,
    seed=params.seed,
    attack_settings=params.settings,
    n_boot=params.n_boot,
    n_permutations=params.n_permutations,
    n_groups=params.n_groups,
    pseudo=pseudo,
    dataset=dataset,
)
patients_file = (params.patients,) if params.patients else ()
audit.write_audit(result, {name: output[name] for name in AUDIT_FILES}, params.k, patients_file)
