# The two quickstart commands: `make demo` and `make test`. Both create/reuse .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kgan-installed

.PHONY: demo test bench clean-runs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kgan pipeline pipelines/mnist_dcgan.toml

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15

bench: $(STAMP)
	$(BIN)/python bench/train_throughput.py

clean-runs:
	rm -rf runs
