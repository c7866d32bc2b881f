# Two commands set up a fresh machine (README):
#   make reports   install, generate the demo export, ingest it, render every report
#   make test      install (if needed) and run the test suite (.ci/run calls exactly this)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO   ?= data/demo
DB     ?= data/perf.duckdb
OUT    ?= reports

.PHONY: install bytecode reports demo ingest test clean

$(BIN)/perflib: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test]"
	touch $(BIN)/perflib

install: $(BIN)/perflib

# perflib's bytecode, written once: an editable install compiles nothing, and where the machine sets
# PYTHONDONTWRITEBYTECODE (this one does) every process that imports perflib (each `perflib run`, its
# kernels' zygote, each test's subprocess) would compile its 26,000 lines again (~0.15 s). Python
# still reads the cache under that setting and ignores any file whose source has changed since.
bytecode: install
	$(BIN)/python -m compileall -q perflib

demo: bytecode
	$(BIN)/perflib demo $(DEMO)

ingest: demo
	$(BIN)/perflib ingest $(DEMO) --db $(DB)

reports: ingest
	$(BIN)/perflib run --db $(DB) --out $(OUT) --jobs 2 --rules $(DEMO).rules.yaml --notices

test: bytecode
	$(BIN)/python -m pytest -q -n 2 --dist loadscope

clean:
	rm -rf $(VENV) $(DEMO) $(DEMO).rules.yaml $(DB) $(OUT)/*
