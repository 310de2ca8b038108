# Two commands do all the set-up on a fresh machine with Python and make:
#   make demo   creates .venv, installs allocator, solves the bundled campuses into out/demo (CSVs + report.html, report.xlsx)
#   make test   creates .venv, installs the test extras, runs the test suite
VENV    := .venv
PY      := $(VENV)/bin/python
PYTHON  ?=
export PYTHON

.PHONY: demo test bench venv clean

$(VENV)/.installed: pyproject.toml
	@base=$$(sh scripts/find_python.sh) || exit 1; \
	echo "using $$base ($$($$base --version))"; \
	[ -x $(PY) ] || $$base -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@# bytecode for the editable package, which imports would otherwise compile in every
	@# process where PYTHONDONTWRITEBYTECODE is set (as on this team's machines)
	$(PY) -m compileall -q allocator
	@touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/allocator validate sites/*.toml
	$(VENV)/bin/allocator solve sites/west_texas.toml sites/permian_hybrid.toml --out out/demo --force --report html,xlsx
	@echo; echo "allocator is installed in $(VENV): run '. $(VENV)/bin/activate' to type 'allocator ...' in this shell, or call $(VENV)/bin/allocator"

test: $(VENV)/.installed
	$(PY) -m pytest -q

# timings against HiGHS alone on the same matrices (README "Performance"); BENCH_SITES=1,10 for a shorter run
BENCH_SITES ?= 1,10,50
bench: $(VENV)/.installed
	$(PY) benchmarks/run.py --sites $(BENCH_SITES)

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
