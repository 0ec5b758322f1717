# jupyterhub-saturn: `make demo` runs a local hub, `make test` runs the whole suite on
# JupyterHub 6.1 and 5.5. Both install what they need (virtualenvs, npm packages,
# Chromium from Debian, kube-apiserver + etcd built from upstream Go modules, cached).

PYTHON ?= python3
VENV := .venv
VENV55 := .venv-jh55
JH_LATEST := jupyterhub==6.1.1
JH_55 := jupyterhub==5.5.4
PYTEST_ARGS ?=

.PHONY: demo demo-env test test-latest test-jh55 unit venv venv55 node chromium kube-binaries bench clean labextension labextension55

$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is required"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q "$(JH_LATEST)" -e ".[test]"
	touch $@

$(VENV55)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV55)
	$(VENV55)/bin/pip install -q --upgrade pip
	$(VENV55)/bin/pip install -q "$(JH_55)" -e ".[test]"
	touch $@

venv: $(VENV)/.installed
venv55: $(VENV55)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

node: node_modules/.installed
	@if [ -f tests/oidc/package.json ]; then \
		[ -f tests/oidc/node_modules/.installed ] || (npm ci --no-audit --no-fund --prefix tests/oidc && touch tests/oidc/node_modules/.installed); \
	fi

# The JupyterLab extension (time left, shutoff warning, keep a copy): TypeScript built with the
# ecosystem's own tooling (@jupyter/builder via jupyter-builder) into a prebuilt labextension inside
# the Python package, then linked into the venv's labextensions. Rebuilt only when its sources change.
LABEXT := jupyterhub_saturn/labextension
LABEXT_SRC := $(wildcard labextension/src/*.ts labextension/style/*.css) labextension/package.json labextension/tsconfig.json

labextension/node_modules/.installed: labextension/package.json labextension/package-lock.json
	npm ci --no-audit --no-fund --prefix labextension
	touch $@

$(LABEXT)/package.json: $(LABEXT_SRC) labextension/node_modules/.installed $(VENV)/.installed
	cd labextension && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx tsc && "$(CURDIR)/$(VENV)/bin/jupyter-builder" build .
	@touch $@

link_labext = mkdir -p $(1)/share/jupyter/labextensions && ln -sfn "$(CURDIR)/$(LABEXT)" $(1)/share/jupyter/labextensions/jupyterhub-saturn

labextension: $(LABEXT)/package.json
	@$(call link_labext,$(VENV))

labextension55: $(LABEXT)/package.json $(VENV55)/.installed
	@$(call link_labext,$(VENV55))

# `make demo`'s "Data science" environment: its own prefix (not the test venv) with numpy, pandas and
# matplotlib, JupyterLab, the jupyterhub-saturn CLI and the JupyterLab extension.
DEMO_DS := .demo-envs/datascience

$(DEMO_DS)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(DEMO_DS)
	$(DEMO_DS)/bin/pip install -q --upgrade pip
	$(DEMO_DS)/bin/pip install -q "$(JH_LATEST)" jupyterlab numpy pandas matplotlib -e .
	touch $@

demo-env: $(DEMO_DS)/.installed labextension
	@$(call link_labext,$(DEMO_DS))

chromium:
	@bash scripts/ensure-chromium.sh

kube-binaries: venv
	$(VENV)/bin/python -m tests.kube.build

demo: venv node_modules/.installed labextension demo-env
	@echo "Open http://127.0.0.1:8000 and log in as 'student' or 'instructor' with password 'saturn-demo'."
	$(VENV)/bin/jupyterhub -f config/jupyterhub_config.py

# the pure core and adapters' unit tests: no hub, no browser, no Go build
unit: venv
	$(VENV)/bin/python -m pytest -q -m "not e2e and not kube" $(PYTEST_ARGS)

test-latest: venv node chromium kube-binaries labextension
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# JupyterHub 5.5: the tests marked hub_versions (behaviour that differs between the versions)
test-jh55: venv55 node chromium kube-binaries labextension55
	$(VENV55)/bin/python -m pytest -q -p no:cacheprovider -m hub_versions $(PYTEST_ARGS)

# everything, phases timed, Go builds beside the installs (scripts/test-all.sh)
test:
	@PYTHON=$(PYTHON) VENV=$(VENV) VENV55=$(VENV55) PYTEST_ARGS="$(PYTEST_ARGS)" bash scripts/test-all.sh

bench: venv node kube-binaries
	$(VENV)/bin/python benchmarks/spawn_latency.py
	$(VENV)/bin/python benchmarks/launch_latency.py
	$(VENV)/bin/python benchmarks/culler_sweep.py
	$(VENV)/bin/python benchmarks/kube_spawn_latency.py

clean:
	rm -rf $(VENV) $(VENV55) node_modules tests/oidc/node_modules .demo .test-results .demo-envs labextension/node_modules labextension/lib $(LABEXT)
