"""Target audit_gate: exit non-zero, with one line per failing group, when any audited group
fails its budget or is inconclusive (verdict.json of rule audit_group), or when no group was
audited; otherwise say that every group passed."""

import json
import sys
from pathlib import Path

from ctprints.runlog import configure

log = configure(snakemake.log[0])
verdicts = [json.loads(Path(path).read_text()) for path in snakemake.input]
if not verdicts:  # a gate that checked nothing must not let a release through
    print("audit_gate: no group was audited (audit.groups is empty)", file=sys.__stderr__)
    sys.exit(1)
failed = [v for v in verdicts if v["verdict"] != "pass"]  # fail and inconclusive
for verdict in verdicts:
    log.info("%s/%s: %s", verdict["dataset"], verdict["group"], verdict["reason"])
if failed:
    log.error("%d of %d audited groups fail", len(failed), len(verdicts))
    lines = [f"audit_gate: {v['dataset']}/{v['group']}: {v['reason']}" for v in failed]
    print("\n".join(lines), file=sys.__stderr__)  # the terminal; the log has it too
    sys.exit(1)
print(f"audit_gate: all {len(verdicts)} audited groups pass their budget", file=sys.__stderr__)
