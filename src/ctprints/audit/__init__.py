"""The membership audit: does a generator's synthetic set give away which real patients trained it?

A data owner holds the synthetic CT images of a generator, the real patients that trained it
(members, the "used" folder) and real holdout patients (the "not used" folder). The audit scores
every real image with the black-box attacks of :mod:`ctprints.attacks`, cross-validated as in
:mod:`ctprints.membership`, and compares members with holdout patients. By concern:

- :mod:`ctprints.audit.scores`: the candidate attacks' scores by image and by patient, the
  choice, the p-value of the best against no leak;
- :mod:`ctprints.audit.evidence`: per image and per patient risk, the evidence beside the gate;
- :mod:`ctprints.audit.gate`: the budget and the three-valued gate with its error rates;
- :mod:`ctprints.audit.page`: the figures and the one-page report;
- :mod:`ctprints.audit.run`: one whole audit (:func:`run_audit`, :func:`write_audit`).

The resampling and tests themselves are :mod:`ctprints.inference`'s. Every failure is an
:class:`AuditError` whose message names the group (and file or key).
"""

from ctprints.audit.evidence import distance_test, patient_table, risk_table, statistics
from ctprints.audit.gate import BUDGET_DEFAULTS, check_budget, gate_table, verdict
from ctprints.audit.page import (
    folder_hashes,
    plot_evidence,
    plot_scores,
    report_markdown,
    stats_frame,
    threshold_at_fpr,
)
from ctprints.audit.run import Audit, run_audit, write_audit
from ctprints.audit.scores import (
    candidate_scores,
    choose,
    dev_inputs,
    selection_p,
    unit_scores,
)
from ctprints.errors import AuditError

__all__ = [
    "BUDGET_DEFAULTS",
    "Audit",
    "AuditError",
    "candidate_scores",
    "check_budget",
    "choose",
    "dev_inputs",
    "distance_test",
    "folder_hashes",
    "gate_table",
    "patient_table",
    "plot_evidence",
    "plot_scores",
    "report_markdown",
    "risk_table",
    "run_audit",
    "selection_p",
    "statistics",
    "stats_frame",
    "threshold_at_fpr",
    "unit_scores",
    "verdict",
    "write_audit",
]
