# zerodowntime.deploy — the two commands a user needs: `make demo` and `make test`.
# Both set up what they need on a fresh Debian machine (Python environment, Docker engine,
# test images) and reuse it when nothing changed.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
TMP := $(abspath .tmp)
# ansible-test needs the collection under .../ansible_collections/<namespace>/<name>/:
# SRC is a copy of the working tree (sanity, units), INSTALLED is the built tarball installed
# with ansible-galaxy (integration, Molecule, demo: what users run).
SRC_ROOT := $(TMP)/src
SRC := $(SRC_ROOT)/ansible_collections/zerodowntime/deploy
INSTALLED_ROOT := $(TMP)/installed
INSTALLED := $(INSTALLED_ROOT)/ansible_collections/zerodowntime/deploy
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(TMP)/dist/zerodowntime-deploy-$(VERSION).tar.gz

# Local runs: modules execute with this project's Python (see ENVIRONMENT notes in README).
export ANSIBLE_PYTHON_INTERPRETER := $(BIN)/python
export ANSIBLE_COLLECTIONS_PATH := $(INSTALLED_ROOT)
export ANSIBLE_NOCOLOR := 1
export PATH := $(BIN):$(PATH)

say = @printf '\n==> %s\n' "$(1)"

.PHONY: help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 20

# ---------------------------------------------------------------- setup
$(BIN)/.installed: requirements.txt tests/requirements.txt
	$(call say,Python environment in $(VENV) (requirements.txt + tests/requirements.txt))
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r tests/requirements.txt
	touch $@

.PHONY: venv
venv: $(BIN)/.installed  ## create the Python environment

.PHONY: host-packages
host-packages:  ## Debian tools the tests use (shellcheck, wrk, ab, socat, debootstrap), when missing
	$(call say,Host packages)
	bash tests/setup/host-packages.sh

.PHONY: engine
engine:  ## make sure a Docker engine answers (installs and starts one only where none does)
	$(call say,Docker engine)
	bash tests/setup/docker-engine.sh

.PHONY: images
images: engine  ## build the test images (base image made offline when it cannot be pulled)
	$(call say,Test images)
	bash tests/setup/base-image.sh
	bash tests/setup/images.sh

.PHONY: collection
collection: venv  ## copy the working tree and install the built collection under .tmp
	$(call say,Collection: working-tree copy and built tarball)
	rm -rf $(SRC) $(INSTALLED_ROOT) $(TMP)/dist && mkdir -p $(SRC) $(TMP)/dist
	git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(SRC)
	@# A repository of its own, or ansible-test would ask the enclosing checkout (where .tmp is ignored).
	cd $(SRC) && git init -q && git add -A
	cd $(SRC) && $(BIN)/ansible-galaxy collection build --force --output-path $(TMP)/dist >/dev/null
	$(BIN)/ansible-galaxy collection install --force -p $(INSTALLED_ROOT) $(TARBALL) >/dev/null
	cd $(INSTALLED) && git init -q && git add -A
	@echo "built $(TARBALL), installed to $(INSTALLED)"

.PHONY: setup
setup: venv host-packages images collection  ## everything the tests and the demo need

# ---------------------------------------------------------------- test layers
.PHONY: units
units: collection  ## unit tests (pure logic, fakes, no engine)
	$(call say,Unit tests)
	cd $(SRC) && PYTHONPATH=$(SRC_ROOT) $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

.PHONY: sanity
sanity: collection  ## ansible-test sanity, every test, no ignore entries
	$(call say,ansible-test sanity)
	@ver=$$($(BIN)/python -c "import ansible_test._internal.python_requirements as r, types; print(r.get_venv_packages(types.SimpleNamespace(version='3.11'))['pip'])"); \
	  mkdir -p ~/.ansible/test/cache; \
	  cp tests/setup/get_pip_standin.py ~/.ansible/test/cache/get_pip_$${ver//./_}.py
	cd $(SRC) && $(BIN)/ansible-test sanity --color no --python 3.11 --requirements

.PHONY: lint
lint: collection  ## ansible-lint, production profile (resolves our modules from the installed copy)
	$(call say,ansible-lint (production profile))
	$(BIN)/ansible-lint --offline --profile production

.PHONY: integration
integration: setup  ## integration targets against the real engine and balancers
	$(call say,Integration targets (real engine, real balancers))
	cd $(INSTALLED) && $(BIN)/ansible-test integration --color no --python-interpreter $(BIN)/python $(TARGETS)

.PHONY: awx
awx: setup  ## the playbooks through ansible-runner, the engine AWX runs jobs with
	$(call say,Playbooks through ansible-runner (AWX's engine))
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/awx

.PHONY: fault
fault: setup  ## kill deploys anywhere, race them, feed them garbage (SLOW=1: random kill points too)
	$(call say,Fault injection: kill points / rollback paths / races / bad inputs$(if $(filter 1 yes true,$(SLOW)), / random kill points))
	$(BIN)/python -m pytest -q -rfx -p no:cacheprovider -n 2 --dist loadfile --basetemp $(TMP)/fault tests/fault $(if $(filter 1 yes true,$(SLOW)),--run-slow)

.PHONY: molecule
# Every scenario in molecule/*/ whose name does not start with '_' (molecule/_shared holds the
# playbooks they share), or only those of SCENARIOS="a b". All of them run, also after a failure;
# a summary with each one's wall time ends the output, and the target fails if any failed.
molecule: setup  ## Molecule scenarios (roles end to end under load); SCENARIOS="a b" runs only those
	$(call say,Molecule scenarios)
	@scenarios="$(SCENARIOS)"; \
	  [ -n "$$scenarios" ] || scenarios=$$(ls molecule/*/molecule.yml 2>/dev/null | xargs -rn1 dirname | xargs -rn1 basename | grep -v '^_' || true); \
	  if [ -z "$$scenarios" ]; then echo "no Molecule scenario yet"; exit 0; fi; \
	  summary=""; failed=""; all=$$SECONDS; \
	  for s in $$scenarios; do \
	    echo "--- molecule test -s $$s"; start=$$SECONDS; \
	    if $(BIN)/molecule test -s $$s; then result=passed; else result=FAILED; failed="$$failed $$s"; fi; \
	    summary="$$summary$$(printf '%-28s %-6s %5ss' "$$s" "$$result" "$$((SECONDS - start))")\n"; \
	  done; \
	  printf '\n%b%-28s %-6s %5ss\n' "$$summary" "all" "" "$$((SECONDS - all))"; \
	  if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

.PHONY: ssh
# As root: tests/ssh/host.sh installs openssh-server, sudo, python3-docker and python3-requests
# when missing, creates the deploy accounts and starts an sshd on 127.0.0.1:18860 (stopped after).
ssh: setup  ## the Docker host over SSH as a non-root user with Debian's Python libraries; a TLS engine
	$(call say,Remote Docker hosts: over SSH (non-root, distro docker SDK) and over TCP with TLS)
	$(BIN)/python -m pytest -q -s -rfx -p no:cacheprovider tests/ssh

.PHONY: test
test: setup units sanity lint integration awx molecule fault ssh  ## every layer, on a fresh machine too
	$(call say,make test: every layer passed)

# ---------------------------------------------------------------- the main job
.PHONY: demo
demo: setup  ## the main job on the local engine
	$(call say,Demo)
	PYTHONPATH=$(SRC_ROOT) $(BIN)/python bench/demo.py --out $(TMP)/demo $(if $(KEEP),--keep)

# ---------------------------------------------------------------- benchmark
.PHONY: bench
bench: setup  ## strategies side by side under load -> bench/results/latest/ (QUICK=1: smoke run)
	$(call say,Benchmark$(if $(filter 1 yes true,$(QUICK)), (quick run)))
	PYTHONPATH=$(SRC_ROOT) $(BIN)/python bench/run.py $(if $(filter 1 yes true,$(QUICK)),--quick) $(BENCH_ARGS)

.PHONY: clean
clean:  ## remove build output (keeps the Python environment and images)
	rm -rf $(TMP)
