# Tocsin — `make help` lists the targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run worker test lint lint-ci format bench messages translations migrate seed clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

messages: $(STAMP) ## Compile the translations (.po -> .mo)
	$(PY) scripts/compile_messages.py

# No source locations in the catalogues: they change with every edit and make
# every branch's .po conflict with every other's.
# French spacing first: makemessages then wraps the lines as gettext does.
translations: $(STAMP) ## Collect new strings into locale/*/LC_MESSAGES/django.po (then translate them)
	$(PY) scripts/french_spacing.py
	$(PY) manage.py makemessages -l es -l fr --no-location --no-obsolete -i ".venv/*" -i "var/*" -i "bench/*" -i "tests/*"

migrate: $(STAMP) messages ## Apply database migrations
	$(PY) manage.py migrate --no-input

seed: migrate ## Load the demo content (idempotent)
	$(PY) manage.py seed_demo

# scripts/run.py migrates, loads the demo content and collects static files
# itself, so that tests/test_run.py exercises the same path as `make run`.
run: $(STAMP) messages ## Set up, then start web, workers, beat (and Redis and a mail catcher when needed)
	exec $(PY) scripts/run.py

# Another machine's workers: the same split as `make run` (urgent alone), no
# web, beat, migrations, Redis or mail catcher (scripts/worker.py).
worker: $(STAMP) messages ## Start only Celery workers (all queues, or QUEUES=...) for a machine sharing DATABASE_URL and REDIS_URL
	exec $(PY) scripts/worker.py

test: $(STAMP) messages ## Run the whole test suite
	CACHE_URL=$${CACHE_URL:-locmem://} $(BIN)/pytest

# Every step runs, so one pass shows every problem; the target fails if any did.
LINT_STEPS := \
	"$(BIN)/ruff check ." \
	"$(BIN)/ruff format --check ." \
	"$(BIN)/mypy" \
	"$(BIN)/lint-imports --no-cache" \
	"$(PY) scripts/check_sizes.py" \
	"$(PY) scripts/check_private_imports.py" \
	"$(PY) scripts/check_test_imports.py"

lint: $(STAMP) ## ruff (lint, complexity, format), mypy, layers and import circles, sizes, private names, tests importing tests
	@failed=""; for step in $(LINT_STEPS); do \
		echo "$$step"; $$step || failed="$$failed\n  $$step"; \
	done; \
	if [ -n "$$failed" ]; then printf "\nmake lint failed:$$failed\n"; exit 1; fi

lint-ci: $(STAMP) ## The lint steps CI enforces (ruff lint + format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Reformat the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) messages ## Run the benchmarks in bench/ and print their figures
	$(PY) bench/run_all.py

clean: ## Remove the virtualenv and local data under var/
	rm -rf $(VENV) var
