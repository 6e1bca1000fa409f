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
MODEL_INPUTS := config.yml domain.yml $(shell find data clinic/data -name '*.yml' | sort) \
  $(addprefix clinic/,nlu_components.py red_flags.py red_flag_backstop.py vocabulary.py topic_gate.py \
  safety_policy.py topics.py sentence_features.py nlu/sentence_encoder.py)

help:
	@echo "make run      install, train if the data changed, start the bot, actions, console and demo page"
	@echo "make test     install, train, and run the whole test suite"
	@echo "make install  create $(VENV) with the locked dependencies"
	@echo "make train    train the model (only when its inputs changed)"
	@echo "make bench    speed, accuracy and memory figures against Rasa's default pipeline"
	@echo "make scale-out  replicas on PostgreSQL, Redis and nginx, tested under a burst and faults"
	@echo "make purge    delete handoffs older than the retention period in clinic_settings.yml"
	@echo "make staff-user NAME=alex   create a nurse console account"

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
	@$(BIN)/python -m clinic.domain_settings

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

# A nurse-line staff account for the console: make staff-user NAME=alex (asks for the password).
staff-user: install
	@test -n "$(NAME)" || { echo "usage: make staff-user NAME=<name>" >&2; exit 2; }
	$(BIN)/python -m clinic.console create-user "$(NAME)"

.PHONY: help install lock settings train browser test run bench scale-out purge staff-user
