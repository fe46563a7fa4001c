# Two commands on a fresh machine: `make run` and `make test`; both set up first.
# A learner's `make run` installs the core dependencies only (what the notebooks and
# `fmtb run` need); `make test` and the other contributor's targets add `.[dev]`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev
PYTEST := $(BIN)/python -m pytest
# Python writes the bytecode of what it compiles (fmtb's modules, the tests as pytest
# rewrites them) for the next process to read, where the shell had said not to
unexport PYTHONDONTWRITEBYTECODE

.PHONY: alone setup dev dev-packages data run test lint unit kernel ray notebooks screenshots bench bench-sweep bench-memory site clean

# the learner's environment: the core dependencies and the data
setup: $(STAMP) data

# the contributor's: the learner's, plus .[dev] (tests, linter, Ray, Sphinx, Playwright),
# in one pip install
dev: $(DEV) data

# the contributor's packages alone, without the data (.ci/run: while apt-get installs)
dev-packages: $(DEV)

# uv installs what pip would, unpacking on every core: the contributor's packages in
# 21 s against pip's 87 s (2026-12-06). It reads its own configuration, not pip's: the
# constraints pip's names (this machine's: the torch on its disk) are passed on, and it
# trusts the system's certificates, as pip does (a registry behind a local authority).
# Both are expanded when an install runs, not at every make (pip config takes 0.6 s).
CONSTRAINTS = $(shell $(PYTHON) -m pip config list 2>/dev/null | sed -n "s/^[^=]*\.constraint='\(.*\)'$$/\1/p")
PIP = $(BIN)/uv pip install -q --system-certs --python $(BIN)/python \
	$(addprefix --constraint ,$(CONSTRAINTS))
# uv writes no bytecode (pip wrote it one file at a time: 54 s of its 114); compileall
# writes it on every core (29 s on two), once for every process after it, leaving out
# the packages' own tests (a ninth of the files). It goes on past the files written for
# another Python (torch has some): never imported here.
COMPILE := $(BIN)/python -m compileall -qq -j 0 -x "/tests/" $(VENV)/lib || true

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check 'uv>=0.13'
	$(PIP) -e .
	$(COMPILE)
	touch $(STAMP)

$(DEV): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check 'uv>=0.13'
	$(PIP) -e '.[dev]'
	$(COMPILE)
	touch $(STAMP) $(DEV)

data: $(STAMP)
	$(BIN)/fmtb data

# `make run EDITION=ko` runs the Korean edition (notebooks/ko).
EDITION ?= en
run: setup
	$(BIN)/fmtb run --lang $(EDITION)

# The unit layer first (seconds: a broken build stops there), then the rest (kernels,
# servers, Ray, the browser) with strict nbval of both editions; both on two workers, a
# module (or the notebooks of nbval) whole on one worker (conftest.py); the slowest are
# named at the end.
test: dev lint
	$(PYTEST) -p no:cacheprovider -n 2 --dist loadgroup -m unit tests -x -q
	$(PYTEST) -p no:cacheprovider -n 2 --dist loadgroup --no-loadscope-reorder \
	    -m "not unit and not alone" -x -q \
	    --durations=15 --nbval --nbval-current-env \
	    --nbval-sanitize-with notebooks/sanitize.cfg tests notebooks notebooks/ko

# This environment as the Jupyter kernel "Python (fmtb)", for a JupyterLab installed elsewhere.
kernel: setup
	$(BIN)/python -m ipykernel install --user --name fmtb --display-name "Python (fmtb)"

# Ray, for fmtb sweep --engine ray (make dev installs it too, for the tests).
ray: dev
	$(PIP) -e '.[ray]'
	$(COMPILE)

# ruff, configured in pyproject.toml (the notebooks are not linted: their code is the
# tutorial's). make test runs it first, so a new finding fails CI.
lint: dev
	$(BIN)/ruff check .

# Every notebook opened alone, as Colab opens it, in a Colab-like environment without
# fmtb, offline: all twelve, both editions (tests/test_alone.py; 8 to 12 minutes).
# make test runs one of them, 06 in English, the notebook that needs most from the others.
alone: dev
	$(PYTEST) -p no:cacheprovider tests/test_alone.py -q --durations=12

# The tests without kernels, servers or a browser: seconds, not minutes.
unit: dev
	$(PYTEST) -p no:cacheprovider -m unit tests -q

# Write pyproject's [project.urls] Repository into each notebook's first code cell and
# fmtb_helpers/tutorial.py from the notebooks' #@save cells (the notebooks import it);
# re-execute the notebooks in place: one clean top-to-bottom run each; then write the
# Korean edition (notebooks/ko) from them and notebooks/ko/translations.json.
notebooks: dev
	$(BIN)/python -m fmtb.maintainer.repository
	$(BIN)/python -m fmtb.maintainer.save
	$(BIN)/python -m fmtb.maintainer.store notebooks/0*.ipynb
	$(BIN)/python -m fmtb.maintainer.translate

# Regenerate docs/img/*.png (README and notebooks): each notebook's dashboards right
# after it, in a default run, and the HParams of a three-rate sweep.
screenshots: dev
	rm -rf build/screenshots-sweep
	$(BIN)/fmtb sweep --runs-dir build/screenshots-sweep --grid lr=0.001,0.003,0.01 \
	    -p train_subset 12000 --out build/executed/screenshots-sweep -q
	$(BIN)/python -m fmtb.maintainer.screenshots docs/img build/screenshots-sweep/sweep_1

# The seed script, the training floor and `fmtb run` side by side, three rounds, the
# ratios' medians (about 12 minutes; --rounds N: python -m fmtb.maintainer.bench --help).
bench: dev
	$(BIN)/python -m fmtb.maintainer.bench

# Four configurations on fmtb sweep's local engine, then on Ray: the ratio (about 3 minutes).
bench-sweep: dev
	$(BIN)/python -m fmtb.maintainer.bench --sweep

# The series as a static website in build/site (both editions, from the stored notebooks,
# nothing executed, nothing fetched); read it with `python -m http.server -d build/site`.
# docs/site.md says how and why.
site: $(DEV)
	$(BIN)/python site/build.py

# A learner's walk through the six notebooks in JupyterLab, kernels left running and
# shut down after each notebook: peak memory (PSS) side by side (about 5 minutes).
bench-memory: dev
	$(BIN)/python -m fmtb.maintainer.memory

clean:
	rm -rf build .pytest_cache
