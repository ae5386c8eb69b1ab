# The two commands of the README: `make report` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: env report test test-fast lint lab notebooks bench constraints clean help

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name salesnb --display-name "Python (salesnb)" >/dev/null
	touch $(STAMP)

env: $(STAMP)  ## create .venv with the pinned dependencies and salesnb installed (editable)

report: env  ## the main job: the report suite on the demo data, whole organisation and per region
	$(BIN)/salesnb report --data data/demo --by region --include-all

test: lint  ## lint, then the whole test suite (notebooks, Spark, PostgreSQL, browser included)
	$(BIN)/python -m pytest

test-fast: lint  ## the edit loop: lint and the tests not marked slow (under 2 minutes)
	$(BIN)/python -m pytest tests -m "not slow" -q

lint: env  ## ruff (style and docstrings) and mypy (types) on the package
	$(BIN)/ruff check .
	$(BIN)/mypy

notebooks: env  ## sync each notebooks/NN_*.ipynb with its py:percent pair (after editing either)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.ipynb

lab: env  ## JupyterLab in the project environment (kernel "Python (salesnb)")
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

bench: env  ## engine benchmark (1M and 10M rows; see benchmarks/README.md for 50M)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python benchmarks/engine_bench.py --rows 1000000 10000000

constraints: env  ## re-pin constraints.txt from the current .venv
	{ head -n 3 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt

clean:  ## remove the environment and caches (never data/ or reports/)
	rm -rf $(VENV) .pytest_cache .ruff_cache
