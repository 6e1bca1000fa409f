# Two commands set everything up on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODEL  := models/current.tar.gz
SPACY_MODEL := var/spacy/en_tpi_sm
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONPATH := $(CURDIR)

# Everything the trained model is made of: a change to any of these retrains, nothing else does.
# The Rasa-server side of the package (clinic/nlu, red_flags, text) and the shared definitions.
MODEL_INPUTS := config.yml domain.yml clinic/settings.py clinic/topics.py \
  $(shell find data clinic/data clinic/nlu clinic/red_flags clinic/text \( -name '*.yml' -o -name '*.py' \) | sort)

help:
	@echo "make run      install, train if the data changed, start the bot, actions, console and demo page"
	@echo "make test     install, train, and run the whole test suite"
	@echo "make install  create $(VENV) with the locked dependencies"
	@echo "make train    train the model (only when its inputs changed)"
	@echo "make lint     ruff and mypy on our own code"
	@echo "make bench    speed, accuracy and memory figures against Rasa's default pipeline"
	@echo "make scale-out  replicas on PostgreSQL, Redis and nginx, tested under a burst and faults"
	@echo "make purge    delete handoffs, review items and feedback older than the retention period in clinic_settings.yml"
	@echo "make staff-user NAME=alex [ROLE=reviewer]   create a nurse console account"
	@echo "make staff-role NAME=alex ROLE=reviewer      give an account a role (REVOKE=1 takes it away)"
	@echo "make review-export  write the reviewed questions into data/nlu/reviewed/ (then make train)"

install: $(STAMP)

# Python 3.10 (Rasa 3.6 needs <3.11): python3.10 on PATH, or pyenv's 3.10.
$(STAMP): pyproject.toml requirements.lock
	@set -e; \
	if [ ! -x $(BIN)/python ]; then \
	  PY=$$(scripts/find_python310.sh); echo "creating $(VENV) with $$PY"; "$$PY" -m venv $(VENV); \
	fi; \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.9.5; \
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock; \
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .; \
	touch $@

# Regenerate the lock after changing pyproject.toml's dependencies.
lock: $(BIN)/python
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_28 -o requirements.lock

settings: $(STAMP)
	@$(BIN)/python -m clinic.tools.domain_settings

train: $(STAMP) settings $(SPACY_MODEL)/meta.json $(MODEL)

# The English spaCy pipeline without the parts nothing here reads, written from the installed
# package (no download); config.yml's SpacyNLP loads it by path.
$(SPACY_MODEL)/meta.json: $(STAMP) scripts/trim_spacy_model.py
	$(BIN)/python scripts/trim_spacy_model.py $(SPACY_MODEL)

$(MODEL): $(MODEL_INPUTS) $(SPACY_MODEL)/meta.json | $(STAMP)
	$(BIN)/rasa train --fixed-model-name current --out models

# Debian's Chromium for the browser tests (a test tool's own browser download cannot work here),
# and axe-core from the npm registry for the accessibility check.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# ruff (lint and format) and mypy on our own code; .ci/run runs it before the tests.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install train browser node_modules/.installed
	$(BIN)/python -m pytest -q

run: install train
	scripts/run.sh

bench: install train
	$(BIN)/python -m bench

# Two Rasa replicas on PostgreSQL + Redis behind nginx, with a burst and a fault case (README).
scale-out: install train
	scripts/scale_out.sh

purge: install
	$(BIN)/python -m clinic.console purge

# A nurse-line staff account for the console: make staff-user NAME=alex (asks for the password);
# ROLE=reviewer lets it use the review queue too.
staff-user: install
	@test -n "$(NAME)" || { echo "usage: make staff-user NAME=<name> [ROLE=reviewer]" >&2; exit 2; }
	$(BIN)/python -m clinic.console create-user "$(NAME)" $(if $(ROLE),--role "$(ROLE)")

staff-role: install
	@test -n "$(NAME)" -a -n "$(ROLE)" || { echo "usage: make staff-role NAME=<name> ROLE=reviewer [REVOKE=1]" >&2; exit 2; }
	$(BIN)/python -m clinic.console $(if $(REVOKE),revoke-role,grant-role) "$(NAME)" "$(ROLE)"

# The review loop (README): reviewers' decisions in the console become training examples in
# data/nlu/reviewed/<topic>.yml, checked by Rasa's validator; `make train` then learns from them.
review-export: install
	$(BIN)/python -m clinic.console review-export
	$(BIN)/rasa data validate

# Chart.js for the console's analytics page, copied from the npm registry's package (the copy is
# committed, so `make run` needs no npm); run after changing its version in package.json.
console-assets: node_modules/.installed
	cp node_modules/chart.js/dist/chart.umd.min.js clinic/console/static/vendor/chart.umd.min.js
	cp node_modules/chart.js/LICENSE.md clinic/console/static/vendor/chart.js-LICENSE.md

.PHONY: help install lock settings train browser lint test run bench scale-out purge staff-user staff-role review-export console-assets
