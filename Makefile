# The course's commands. `make lab` to learn, `make test` to check everything (CI runs it).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS ?= $(sort $(wildcard notebooks/*.ipynb))
LAB_ARGS ?=
# Jupyter refuses to run as root unless told (containers, CI): tell it only then.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: venv lab test lint format notebooks bench sync clean

venv: $(STAMP)

# Installs once; again only when requirements.txt changes.
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb $(ROOT_ARGS) $(LAB_ARGS)

test: $(STAMP) lint
	COURSE_PROFILE=ci $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m utils.course check

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-execute every notebook top to bottom in the cpu profile and store the outputs.
notebooks: $(STAMP)
	COURSE_PROFILE=cpu $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.record_timing=False $(NOTEBOOKS)

bench: $(STAMP)
	$(BIN)/python -m utils.benchmarks

# Rewrite badges and the setup cell of every notebook from utils/course.py.
sync: $(STAMP)
	$(BIN)/python -m utils.course sync

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
