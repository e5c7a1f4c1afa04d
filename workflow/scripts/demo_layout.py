"""Rule demo_layout: write data/<dataset>/ (ImageCLEF layout) and its ground truth."""

from pathlib import Path

from ctprints.demo.generate import load_demo_data
from ctprints.demo.layout import write_layout
from ctprints.demo.scenarios import Plan
from ctprints.runlog import configure

log = configure(snakemake.log[0])
plan = Plan.from_dict(snakemake.params.plan)
real, samples = load_demo_data(snakemake.input.real, snakemake.input.samples)
root = Path(snakemake.output.task1).parent
write_layout(
    plan,
    real,
    samples,
    root,
    Path(snakemake.output.task2_truth).parent,
    task1_truth=snakemake.output.task1_truth,
)
# A Task 2 dataset has no Task 1 groups, but the rule's folder output must exist.
Path(snakemake.output.task1).mkdir(parents=True, exist_ok=True)
counts = {str(p.relative_to(root)): len(list(p.glob("*.png"))) for p in sorted(root.rglob("*"))}
log.info("wrote the demo layout: %s", {k: v for k, v in counts.items() if v})
