# jupyterhub-saturn: `make demo` runs a local hub, `make test` runs the whole suite on
# JupyterHub 6.1 and 5.5. Both install what they need (virtualenvs, npm packages,
# Chromium and bubblewrap from Debian, kube-apiserver + etcd built from upstream Go modules, cached).

PYTHON ?= python3
VENV := .venv
VENV55 := .venv-jh55
JH_LATEST := jupyterhub==6.1.1
# The Zero-to-JupyterHub chart whose hub image is the second supported version set (JupyterHub 5.5.0,
# KubeSpawner 7.0.0, oauthenticator 17.4.0, tornado 6.5.7, SQLAlchemy 2.0.50): .venv-jh55 is that image's
# pinned requirements, then this package installed on top, which must change none of them.
Z2JH_CHART_DIR ?= ../shared/z2jh-chart/4.4.0
HUB_IMAGE_PINS := $(Z2JH_CHART_DIR)/hub-image-requirements.txt
PYTEST_ARGS ?=

# installs print what needs a user's attention and nothing else: setuptools' generic notice about editable
# installs is silenced, and npm reports errors only (configurable-http-proxy 5.3's commander asks for Node 22 in
# its metadata and runs on Debian's Node 20, which the suites show; the labextension's build tools need no
# install scripts)
QUIET_PIP := PYTHONWARNINGS=ignore
NPM_FLAGS := --no-audit --no-fund --loglevel=error

.PHONY: demo demo-env test test-latest test-jh55 unit upstream upstream55 venv venv55 node chromium bubblewrap kube-binaries helm bench clean labextension labextension55

$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is required"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# idle-culler 2.0: the culler benchmark's peer; pycurl: the z2jh chart config selects tornado's curl client
	$(QUIET_PIP) $(VENV)/bin/pip install -q "$(JH_LATEST)" -e ".[test]" "jupyterhub-idle-culler==2.0.0" "pycurl==7.46.0"
	touch $@

# no forced upgrades: the hub image's exact set, the package (with the kube and oauth extras) on top,
# then a check that every pinned version is still the installed one; test tools are constrained to the pins
$(VENV55)/.installed: setup.cfg pyproject.toml $(HUB_IMAGE_PINS)
	$(PYTHON) -m venv $(VENV55)
	$(VENV55)/bin/pip install -q --upgrade pip
	$(VENV55)/bin/pip install -q -r "$(HUB_IMAGE_PINS)"
	$(QUIET_PIP) $(VENV55)/bin/pip install -q -e ".[kube,oauth]"
	$(VENV55)/bin/python -m tests.hub_image_pins "$(HUB_IMAGE_PINS)"
	$(QUIET_PIP) $(VENV55)/bin/pip install -q -c "$(HUB_IMAGE_PINS)" -e ".[test]"
	$(VENV55)/bin/python -m tests.hub_image_pins "$(HUB_IMAGE_PINS)"
	cp "$(HUB_IMAGE_PINS)" $(VENV55)/hub-image-pins.txt
	touch $@

venv: $(VENV)/.installed
venv55: $(VENV55)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci $(NPM_FLAGS)
	touch $@

node: node_modules/.installed
	@if [ -f tests/oidc/package.json ]; then \
		[ -f tests/oidc/node_modules/.installed ] || (npm ci $(NPM_FLAGS) --prefix tests/oidc && touch tests/oidc/node_modules/.installed); \
	fi

# The JupyterLab extension (time left, shutoff warning, keep a copy): TypeScript built with the
# ecosystem's own tooling (@jupyter/builder via jupyter-builder) into a prebuilt labextension inside
# the Python package, then linked into the venv's labextensions. Rebuilt only when its sources change.
LABEXT := jupyterhub_saturn/labextension
LABEXT_SRC := $(wildcard labextension/src/*.ts labextension/style/*.css) labextension/package.json labextension/tsconfig.json

labextension/node_modules/.installed: labextension/package.json labextension/package-lock.json
	npm ci $(NPM_FLAGS) --prefix labextension
	touch $@

# BUILD_VENV: the virtualenv whose jupyter-builder (a JupyterLab dependency) builds it: the test venv, or the
# demo's own hub venv under `make demo` (order-only: a reinstalled venv does not make the extension stale)
BUILD_VENV ?= $(VENV)

$(LABEXT)/package.json: $(LABEXT_SRC) labextension/node_modules/.installed | $(BUILD_VENV)/.installed
	cd labextension && PATH="$(CURDIR)/$(BUILD_VENV)/bin:$$PATH" npx tsc && "$(CURDIR)/$(BUILD_VENV)/bin/jupyter-builder" build .
	@touch $@

link_labext = mkdir -p $(1)/share/jupyter/labextensions && ln -sfn "$(CURDIR)/$(LABEXT)" $(1)/share/jupyter/labextensions/jupyterhub-saturn

labextension: $(LABEXT)/package.json
	@$(call link_labext,$(VENV))

labextension55: $(LABEXT)/package.json $(VENV55)/.installed
	@$(call link_labext,$(VENV55))

# `make demo` runs from virtualenvs of its own, with the runtime extras only (never the test tools):
# - DEMO_VENV: the hub, and the demo's "Python 3" environment: JupyterHub, the package, JupyterLab with
#   real-time collaboration (the `collab` extra), the jupyterhub-saturn CLI and the JupyterLab extension;
# - DEMO_DS: the "Data science" environment, the same plus numpy, pandas and matplotlib.
DEMO_VENV := .demo-envs/hub
DEMO_DS := .demo-envs/datascience

$(DEMO_VENV)/.installed: setup.cfg pyproject.toml
	@echo "make demo: installing the demo hub's environment into $(DEMO_VENV) (first run only)"
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is required"'
	@$(PYTHON) -m venv $(DEMO_VENV)
	@$(DEMO_VENV)/bin/pip install -q --upgrade pip
	@$(QUIET_PIP) $(DEMO_VENV)/bin/pip install -q "$(JH_LATEST)" -e ".[collab]"
	@touch $@

$(DEMO_DS)/.installed: setup.cfg pyproject.toml
	@echo "make demo: installing the \"Data science\" environment into $(DEMO_DS) (first run only)"
	@$(PYTHON) -m venv $(DEMO_DS)
	@$(DEMO_DS)/bin/pip install -q --upgrade pip
	@$(QUIET_PIP) $(DEMO_DS)/bin/pip install -q "$(JH_LATEST)" numpy pandas matplotlib -e ".[collab]"
	@touch $@

demo-env: $(DEMO_VENV)/.installed $(DEMO_DS)/.installed
	@$(MAKE) --no-print-directory $(LABEXT)/package.json BUILD_VENV=$(DEMO_VENV)
	@$(call link_labext,$(DEMO_VENV))
	@$(call link_labext,$(DEMO_DS))

chromium:
	@bash scripts/ensure-debian-package.sh chromium chromium "the browser tests drive it with Playwright"

bubblewrap:
	@bash scripts/ensure-debian-package.sh bwrap bubblewrap "saturn-local runs every server in its sandbox"

kube-binaries: venv
	$(VENV)/bin/python -m tests.kube.build

# helm from its Go module at the pinned version (tests/kube/versions.py), cached beside the apiserver;
# its own lock, so `make -j2 kube-binaries helm` builds both at once
helm: venv
	$(VENV)/bin/python -m tests.kube.helm

demo: node_modules/.installed bubblewrap demo-env
	@VENV=$(DEMO_VENV) bash scripts/demo.sh

# the pure core and adapters' unit tests, in seconds: no hub, no browser, no Go build, no process started
# (tests marked e2e, kube or processes run in `make test`), property tests at a tenth of their examples
# (tests/property_budget.py; the full suite tries them all)
unit: venv
	SATURN_TESTS=unit $(VENV)/bin/python -m pytest -q -p no:cacheprovider -m "not e2e and not kube and not processes" $(PYTEST_ARGS)

test-latest: venv node chromium bubblewrap kube-binaries helm labextension
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# JupyterHub 5.5 (the z2jh 4.4.0 hub image's set): the tests marked hub_versions
test-jh55: venv55 node chromium bubblewrap kube-binaries helm labextension55
	$(VENV55)/bin/python -m pytest -q -p no:cacheprovider -m hub_versions $(PYTEST_ARGS)

# upstream's own suites with the stock and the saturn classes, compared (tests/upstream; KubeSpawner's tests
# from $$SATURN_KUBESPAWNER_TESTS, default ../shared/upstream-tests)
upstream: venv node
	$(VENV)/bin/python -m tests.upstream $(PYTEST_ARGS)

upstream55: venv55 node
	$(VENV55)/bin/python -m tests.upstream --out .test-results/upstream-5.5 $(PYTEST_ARGS)

# everything, phases timed, Go builds beside the installs (scripts/test-all.sh)
test:
	@PYTHON=$(PYTHON) VENV=$(VENV) VENV55=$(VENV55) PYTEST_ARGS="$(PYTEST_ARGS)" bash scripts/test-all.sh

bench: venv node bubblewrap kube-binaries chromium labextension
	$(VENV)/bin/python benchmarks/spawn_latency.py
	$(VENV)/bin/python benchmarks/launch_latency.py
	$(VENV)/bin/python benchmarks/culler_sweep.py
	$(VENV)/bin/python benchmarks/kube_spawn_latency.py
	$(VENV)/bin/python benchmarks/collaboration_latency.py

clean:
	rm -rf $(VENV) $(VENV55) node_modules tests/oidc/node_modules .demo .test-results .demo-envs labextension/node_modules labextension/lib $(LABEXT)
