# The two commands of the quick start: `make demo` and `make test`. Both create .venv when it is
# missing and (re)install the project when pyproject.toml changed, so a fresh machine with only
# python3 and pip needs nothing else.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: demo test test-other-cpu lint report docs demo-docs install clean-results

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps record that the install matches the current pyproject.toml.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

## Run the default target on config.yaml (the built-in demo data).
demo: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)

## Unit and workflow tests, then the linters.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest
	$(MAKE) lint

## The tests that assert on trained models, again as on another CPU (docs/testing.md): torch,
## BLAS and every rule on one thread, and the tiny demo data built from seed 1, up to the run
## files those tests read.
TRAINS_TARGETS := $(foreach method,kmeans tsne_kmeans openset novelty,\
	results/demo/submissions/task2/$(method)_spectrum.csv)
test-other-cpu: $(VENV)/.installed-test
	CTPRINTS_TEST_THREADS=1 CTPRINTS_TEST_SEED=1 OMP_NUM_THREADS=1 \
	CTPRINTS_TEST_TARGETS="$(TRAINS_TARGETS)" $(BIN)/python -m pytest -m trains

lint: $(VENV)/.installed-test
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## The README's and docs' generated tables, rebuilt from their results files (ctprints.doctables;
## tests/test_docs.py fails while one is stale).
DOCS := README.md $(wildcard docs/*.md)
docs: $(VENV)/.installed
	$(BIN)/python -m ctprints.doctables $(DOCS)

## The docs' demo example (docs/demo/, the demo figures, the per-rule times), copied from a
## finished `make demo` in this checkout after running its audit_calibration target (group 2's
## rates, 8 + 8 patients), then `make docs`. DEMO_WALL: the run's wall seconds;
## DEMO_MACHINE: the machine in words; the date is today's.
DEMO := results/demo
demo-docs: $(VENV)/.installed
	@test -n "$(DEMO_WALL)" -a -n "$(DEMO_MACHINE)" || \
	  { echo "DEMO_WALL=<seconds of make demo> DEMO_MACHINE=<machine in words> are required"; exit 1; }
	mkdir -p docs/demo
	cp $(DEMO)/build/signal.tsv docs/demo/signal.tsv
	cp $(DEMO)/evaluation/task1.tsv docs/demo/task1.tsv
	cp $(DEMO)/evaluation/task2.tsv docs/demo/task2.tsv
	$(BIN)/python -c "import json, pathlib, sys; json.dump({p.parent.name: json.loads(p.read_text()) \
	  for p in sorted(pathlib.Path('$(DEMO)/audit').glob('*/verdict.json'))}, sys.stdout, indent=1)" \
	  > docs/demo/audit.json
	$(BIN)/python benchmarks/demo_time.py . --wall $(DEMO_WALL) --date $$(date +%F) \
	  --machine "$(DEMO_MACHINE)" > docs/demo/rule_times.tsv
	$(BIN)/snakemake --cores $(CORES) audit_calibration  # after the times: not part of make demo
	cp $(DEMO)/audit/group2/calibration/rates.tsv docs/demo/calibration_rates.tsv
	cp $(DEMO)/audit/group2/calibration/to_pass.tsv docs/demo/calibration_to_pass.tsv
	cp $(DEMO)/audit/family_calibration.tsv docs/demo/calibration_family.tsv
	cp $(DEMO)/audit/group2/calibration/rates.png docs/audit_calibration_group2.png
	cp $(DEMO)/contact_sheet.png docs/demo_contact_sheet.png
	cp $(DEMO)/task2/plots/tsne_panel.png docs/task2_tsne_panel.png
	cp $(DEMO)/evaluation/confusion/task2_openset_spectrum.png docs/task2_confusion_openset_spectrum.png
	cp $(DEMO)/evaluation/confusion/task2_ensemble_64_round0.png docs/task2_confusion_ensemble_round0.png
	cp $(DEMO)/evaluation/confusion/task2_ensemble_64_round1.png docs/task2_confusion_ensemble_round1.png
	cp $(DEMO)/evaluation/roc/task1_group1_resnet18.png docs/task1_roc_group1_resnet18.png
	cp $(DEMO)/audit/group1/evidence.png docs/audit_evidence_group1.png
	$(MAKE) docs

report: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --report report.html

clean-results:
	rm -rf results logs .snakemake/metadata
