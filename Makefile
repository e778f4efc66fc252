# The course's commands. `make lab` to learn, `make test` to check everything; CI runs `make test`
# and then `make ci` (the notebooks again with oneDNN on and off, and under Colab's versions).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS ?= $(sort $(wildcard notebooks/*.ipynb))
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

.PHONY: venv lab test ci onednn-on onednn-off colab classroom browser student grade activities \
	wheelhouse site lint format notebooks bench sync clean

venv: $(STAMP)

# Installs once; again only when requirements.txt changes. With wheels in wheelhouse/ (`make
# wheelhouse`, for a class without internet) it installs from them alone, never from the network.
WHEELHOUSE ?= wheelhouse
PIP_SOURCE = $(if $(wildcard $(WHEELHOUSE)/*.whl),--no-index --find-links $(WHEELHOUSE))
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check $(PIP_SOURCE) -r requirements.txt
	touch $(STAMP)

# Every pinned package (and its dependencies) as files in wheelhouse/, for an offline class.
wheelhouse:
	$(PYTHON) -m pip download --disable-pip-version-check -r requirements.txt \
		-r requirements-site.txt -d $(WHEELHOUSE)

# The website's tools (requirements-site.txt), on top of the course's: `make site` and `make browser`.
SITE_STAMP := $(VENV)/.site-installed
$(SITE_STAMP): requirements-site.txt $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check $(PIP_SOURCE) -r requirements-site.txt
	touch $(SITE_STAMP)

# The course as a static website in build/site/ (open build/site/index.html): the notebooks'
# stored outputs, nothing executed, nothing fetched (tools/site.py, site/conf.py).
site: $(SITE_STAMP)
	$(BIN)/python -m tools.site build/site

# CI's browser checks in headless Chromium (Debian's chromium and chromium-driver): every page of
# the built site, and 00_start_here.ipynb run in JupyterLab served by `make lab`.
browser: $(SITE_STAMP)
	COURSE_PROFILE=ci $(BIN)/python -m pytest -m browser tests/test_site.py tests/test_lab.py

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb $(ROOT_ARGS) $(LAB_ARGS)

test: $(STAMP) lint
	COURSE_PROFILE=ci $(BIN)/python -m pytest

# CI's extra passes after `make test`: proof that the checked outputs do not depend on the CPU's
# kernels (oneDNN on and off) nor on the versions (Colab's); and the classroom tools.
ci: onednn-on onednn-off colab classroom browser

# With oneDNN on, the student copies run (a class's notebooks: no solutions, exercises unanswered).
onednn-on: student
	TF_ENABLE_ONEDNN_OPTS=1 $(call NBVAL_CI,$(BIN)/python,students)

onednn-off: $(STAMP)
	TF_ENABLE_ONEDNN_OPTS=0 $(call NBVAL_CI,$(BIN)/python)

$(COLAB_STAMP): requirements-colab.txt
	@test -n "$(COLAB_PYTHON)" || { echo "make colab needs Python 3.13: put python3.13 on the PATH or pass COLAB_PYTHON=/path/to/python3.13"; exit 1; }
	test -x $(COLAB_VENV)/bin/python || $(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --disable-pip-version-check -r requirements-colab.txt
	touch $(COLAB_STAMP)

# The unit tests and the notebooks under Colab's versions; the pin tests read requirements-colab.txt.
colab: $(COLAB_STAMP)
	COURSE_REQUIREMENTS=requirements-colab.txt COURSE_PROFILE=ci $(COLAB_VENV)/bin/python -m pytest \
		--ignore=tests/test_makefile.py tests
	COURSE_REQUIREMENTS=requirements-colab.txt $(call NBVAL_CI,$(COLAB_VENV)/bin/python)

# Student copies of the notebooks in students/: worked solutions removed, exercise outputs cleared.
student: $(STAMP)
	$(BIN)/python -m tools.classroom student --out students

# Grade a folder of submitted notebooks: grades/grades.csv and grades/grades.md.
GRADE_TIMEOUT ?= 600
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder of notebooks>"; exit 1; }
	$(BIN)/python -m tools.classroom grade "$(SUBMISSIONS)" --out grades --timeout $(GRADE_TIMEOUT)

# The class activities of TEACHING.md, run in the active profile (COURSE_PROFILE, cpu by default).
activities: $(STAMP)
	$(BIN)/python -m tools.activities

# The grading tests: made-up submissions (right, wrong, raising, endless, corrupt) graded.
classroom: $(STAMP)
	COURSE_PROFILE=ci $(BIN)/python -m pytest -m classroom tests/test_classroom.py tests/test_activities.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tools.course check

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-execute every notebook top to bottom in the cpu profile and store the outputs.
notebooks: $(STAMP)
	COURSE_PROFILE=cpu $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.record_timing=False $(NOTEBOOKS)

bench: $(STAMP)
	$(BIN)/python -m tools.benchmarks

# Rewrite badges and the setup cell of every notebook from tools/course.py.
sync: $(STAMP)
	$(BIN)/python -m tools.course sync

clean:
	rm -rf $(VENV) $(COLAB_VENV) .pytest_cache .ruff_cache .hypothesis students grades build
