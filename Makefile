# Two commands do all set-up on a fresh machine (Python 3.10+ and the package registries):
#   make run    install into .venv, build the model and the index when missing, start the app
#   make test   install into .venv, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test index bench lint install

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# CPU PyTorch first: a plain `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kb rebuild
	$(BIN)/streamlit run app.py --server.headless true --browser.gatherUsageStats false

test: $(STAMP)
	$(BIN)/python -m pytest

index: $(STAMP)
	$(BIN)/kb rebuild

bench: $(STAMP) index
	$(BIN)/python -m pip install --quiet -e '.[bench]'  # txtai, the peer we compare against
	$(BIN)/python bench/performance.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/eval.py
	$(BIN)/python bench/tatoeba.py

lint: $(STAMP)
	$(BIN)/ruff check kb tests bench app.py
	$(BIN)/mypy kb app.py
