# The course's commands (`make help` lists them). `make lab` to learn, `make test` to check
# everything; CI (.ci/run) runs the steps of CI_STEPS in order: `make test`, then `make ci`'s passes
# (the notebooks again with oneDNN on and off, under Colab's versions, the classroom and browser).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Lessons and their appendices (04_unet, then 04a_topic, ...): byte order is the course order.
NOTEBOOK_DIR ?= notebooks
NOTEBOOKS ?= $(sort $(wildcard $(NOTEBOOK_DIR)/*.ipynb))
LAB_ARGS ?=
# Jupyter refuses to run as root unless told (containers, CI): tell it only then.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)

# Colab's versions (Python 3.13, TensorFlow 2.20, Keras 3.13): a second environment, CI only.
COLAB_VENV ?= .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
# python3.13 on the PATH, else pyenv's 3.13 (these machines have it); override with COLAB_PYTHON=.
COLAB_PYTHON ?= $(shell for p in python3.13 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13; \
	do $$p -c "" >/dev/null 2>&1 && { echo $$p; break; }; done)
# Notebooks only (those in $(2), default notebooks/), tiny profile, each pass from an empty model
# cache (so every pass trains).
NBVAL_CI = COURSE_PROFILE=ci COURSE_CACHE=$$(mktemp -d) $(1) -m pytest $(or $(2),notebooks)
# A fresh, empty model cache for the command that follows, removed after it: tests never pass on
# models a stale cache kept.
FRESH_CACHE = cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && COURSE_CACHE=$$cache
# What `make unit` leaves out: the training-heavy tests and those CI runs in its own passes.
UNIT_MARKERS := not training and not classroom and not browser
# CI's steps, in order (.ci/run reads them with `make -s ci-steps`): the README's test command
# first, then the extra passes that are `make ci`.
CI_STEPS := test onednn-on onednn-off colab binder classroom browser

.PHONY: help venv lab test unit ci ci-steps onednn-on onednn-off colab binder classroom browser student \
	grade activities wheelhouse site lint format notebooks rerun-verdicts diff-outputs bench sync clean

venv: $(STAMP) ## create .venv and install the pinned packages (once)

# Installs once; again only when requirements.txt changes. With wheels in wheelhouse/ (`make
# wheelhouse`, for a class without internet) it installs from them alone, never from the network.
WHEELHOUSE ?= wheelhouse
PIP_SOURCE = $(if $(wildcard $(WHEELHOUSE)/*.whl),--no-index --find-links $(WHEELHOUSE))
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check $(PIP_SOURCE) -r requirements.txt
	touch $(STAMP)

# Every pinned package (and its dependencies) as files in wheelhouse/, for an offline class.
wheelhouse: ## download every pinned package into wheelhouse/, for a class without internet
	$(PYTHON) -m pip download --disable-pip-version-check -r requirements.txt \
		-r requirements-site.txt -d $(WHEELHOUSE)

# The website's tools (requirements-site.txt), on top of the course's: `make site` and `make browser`.
SITE_STAMP := $(VENV)/.site-installed
$(SITE_STAMP): requirements-site.txt $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check $(PIP_SOURCE) -r requirements-site.txt
	touch $(SITE_STAMP)

# The course as a static website in build/site/ (open build/site/index.html): the notebooks'
# stored outputs, nothing executed, nothing fetched (tools/site.py, site/conf.py).
site: $(SITE_STAMP) ## build the course as a static website in build/site/ (stored outputs)
	$(BIN)/python -m tools.site build/site

# CI's browser checks in headless Chromium (Debian's chromium and chromium-driver): every page of
# the built site, and 00_start_here.ipynb run in JupyterLab served by `make lab`.
browser: $(SITE_STAMP) ## CI: the website and JupyterLab checked in headless Chromium
	COURSE_PROFILE=ci $(BIN)/python -m pytest -m browser tests/test_site.py tests/test_lab.py

lab: $(STAMP) ## set up once, then open the course in JupyterLab (LAB_ARGS=... for the server)
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb $(ROOT_ARGS) $(LAB_ARGS)

test: $(STAMP) lint ## lint, the unit tests and every notebook under nbval (ci profile, empty cache)
	$(FRESH_CACHE) COURSE_PROFILE=ci $(BIN)/python -m pytest

# The unit tests in seconds to minutes: no training-heavy test (marked `training`), no notebook.
unit: $(STAMP) ## the fast unit tests: no notebooks, no training-heavy, classroom or browser tests
	$(FRESH_CACHE) COURSE_PROFILE=ci $(BIN)/python -m pytest -m "$(UNIT_MARKERS)" tests

# CI's extra passes after `make test`: proof that the checked outputs do not depend on the CPU's
# kernels (oneDNN on and off) nor on the versions (Colab's); and the classroom tools.
ci: $(filter-out test,$(CI_STEPS)) ## CI's extra passes after `make test` (the rest of CI_STEPS)

ci-steps: ## print CI's steps in order (CI_STEPS; .ci/run runs `make <step>` for each)
	@echo $(CI_STEPS)

# With oneDNN on, the student copies run (a class's notebooks: no solutions, exercises unanswered).
onednn-on: student ## CI: the student copies under nbval with oneDNN on (empty cache)
	TF_ENABLE_ONEDNN_OPTS=1 $(call NBVAL_CI,$(BIN)/python,students)

onednn-off: $(STAMP) ## CI: the notebooks under nbval with oneDNN off (empty cache)
	TF_ENABLE_ONEDNN_OPTS=0 $(call NBVAL_CI,$(BIN)/python)

$(COLAB_STAMP): requirements-colab.txt
	@test -n "$(COLAB_PYTHON)" || { echo "make colab needs Python 3.13: put python3.13 on the PATH or pass COLAB_PYTHON=/path/to/python3.13"; exit 1; }
	test -x $(COLAB_VENV)/bin/python || $(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --disable-pip-version-check -r requirements-colab.txt
	touch $(COLAB_STAMP)

# The unit tests and the notebooks under Colab's versions; the pin tests read requirements-colab.txt.
colab: $(COLAB_STAMP) ## CI: unit tests and notebooks under Colab's versions (.venv-colab, Python 3.13)
	$(FRESH_CACHE) COURSE_REQUIREMENTS=requirements-colab.txt COURSE_PROFILE=ci $(COLAB_VENV)/bin/python -m pytest \
		--ignore=tests/test_makefile.py tests
	COURSE_REQUIREMENTS=requirements-colab.txt $(call NBVAL_CI,$(COLAB_VENV)/bin/python)

# Binder's path, rehearsed: a fresh environment built from binder/ alone (pip, with the Python
# that binder/runtime.txt names), then the notebooks under nbval in it. Binder itself (its image
# build, its 2 GB and one core) cannot be reached from CI.
BINDER_VENV ?= .venv-binder
BINDER_VERSION := $(patsubst python-%,%,$(strip $(file < binder/runtime.txt)))
BINDER_PYTHON ?= $(shell for p in python$(BINDER_VERSION) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(BINDER_VERSION)*/bin/python$(BINDER_VERSION); \
	do $$p -c "" >/dev/null 2>&1 && { echo $$p; break; }; done)
binder: ## CI: a fresh environment from binder/ alone, then the notebooks under nbval in it
	@test -n "$(BINDER_PYTHON)" || { echo "make binder needs Python $(BINDER_VERSION) (binder/runtime.txt)"; exit 1; }
	rm -rf $(BINDER_VENV)
	$(BINDER_PYTHON) -m venv $(BINDER_VENV)
	$(BINDER_VENV)/bin/python -c "import sys; assert sys.version.startswith('$(BINDER_VERSION).'), sys.version"
	$(BINDER_VENV)/bin/python -m pip install --disable-pip-version-check -r binder/requirements.txt
	COURSE_REQUIREMENTS=binder/requirements.txt $(call NBVAL_CI,$(BINDER_VENV)/bin/python)

# Student copies of the notebooks in students/: worked solutions removed, exercise outputs cleared.
student: $(STAMP) ## write student copies of the notebooks into students/ (no solutions)
	$(BIN)/python -m tools.classroom student --out students

# Grade a folder of submitted notebooks: grades/grades.csv and grades/grades.md. Each submission
# runs in a sandbox (bubblewrap: `apt-get install bubblewrap`); where there is none, grading refuses
# unless UNSANDBOXED=1 says you accept running the students' code as yourself.
GRADE_TIMEOUT ?= 600
GRADE_MEMORY_GB ?= 4
GRADE_PROCESSES ?= 1024
grade: $(STAMP) ## grade a folder of submissions in a sandbox: make grade SUBMISSIONS=dir (into grades/)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder of notebooks>"; exit 1; }
	$(BIN)/python -m tools.classroom grade "$(SUBMISSIONS)" --out grades --timeout $(GRADE_TIMEOUT) \
		--memory-gb $(GRADE_MEMORY_GB) --max-processes $(GRADE_PROCESSES) $(if $(UNSANDBOXED),--unsandboxed)

# The class activities of TEACHING.md, run in the active profile (COURSE_PROFILE, cpu by default).
activities: $(STAMP) ## run TEACHING.md's class activities and print what each does
	$(BIN)/python -m tools.activities

# The grading tests: made-up submissions (right, wrong, raising, endless, corrupt) graded.
classroom: $(STAMP) ## CI: the sandbox, and grading made-up submissions (honest and hostile)
	@command -v bwrap >/dev/null || { echo "make classroom needs bubblewrap: apt-get install bubblewrap"; exit 1; }
	COURSE_PROFILE=ci $(BIN)/python -m pytest -m classroom tests/test_sandbox.py tests/test_classroom.py \
		tests/test_activities.py

lint: $(STAMP) ## ruff (lint and format check) and the notebooks' map, badges and setup cell
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tools.course check

format: $(STAMP) ## let ruff fix and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-execute every notebook top to bottom in the cpu profile and store the outputs; each one's wall
# time and its kernel's peak memory go into benchmarks/notebook_runs.json (`make bench` prints it).
notebooks: $(STAMP) ## re-execute the notebooks (cpu profile), store their outputs, record time and memory
	COURSE_PROFILE=cpu $(BIN)/python -m tools.notebook_runs $(NOTEBOOKS)

# Before storing outputs: rerun notebooks (cpu profile, empty cache, oneDNN as TF_ENABLE_ONEDNN_OPTS
# says, off by default) and compare their `Verdict:` lines with the stored ones. Stores nothing.
rerun-verdicts: $(STAMP) ## rerun notebooks from an empty cache and diff their Verdict: lines (NOTEBOOKS=...)
	$(BIN)/python -m tools.rerun_verdicts $(NOTEBOOKS)

# After a refactoring: the text outputs of two executions of the notebooks (folders OLD and NEW,
# e.g. from `jupyter nbconvert --execute --output-dir`), cell by cell; epoch times left out.
diff-outputs: $(STAMP) ## compare two executions' text outputs, cell by cell (OLD=dir NEW=dir)
	@test -n "$(OLD)" -a -n "$(NEW)" || { echo "usage: make diff-outputs OLD=<folder> NEW=<folder>"; exit 1; }
	$(BIN)/python -m tools.diff_outputs "$(OLD)" "$(NEW)"

# One or some with BENCH="seed_costs ..."; BENCH_CACHE=folder reads another run's model cache.
BENCH ?=
bench: $(STAMP) ## print the course's benchmarks (BENCH="name ..." for some; see tools/benchmarks.py)
	$(BIN)/python -m tools.benchmarks $(BENCH)

# Rewrite badges and the setup cell of every notebook from tools/course.py.
sync: $(STAMP) ## rewrite badges and the setup cell of every notebook from tools/course.py
	$(BIN)/python -m tools.course sync

clean: ## remove the virtual environments, tool caches, students/, grades/ and build/
	rm -rf $(VENV) $(COLAB_VENV) $(BINDER_VENV) .pytest_cache .ruff_cache .hypothesis students grades build

help: ## list the commands
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(firstword $(MAKEFILE_LIST))
