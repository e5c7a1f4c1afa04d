# The two commands of the quick start: `make demo` and `make test`. Both create .venv when it is
# missing and (re)install the project when pyproject.toml changed, so a fresh machine with only
# python3 and pip needs nothing else.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: demo test test-other-cpu lint report docs install clean-results

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

report: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --report report.html

clean-results:
	rm -rf results logs .snakemake/metadata
