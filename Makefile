# zerodowntime.deploy — the two commands a user needs: `make demo` and `make test`.
# Both set up what they need on a fresh Debian machine (Python environment, Docker engine,
# test images) and reuse it when nothing changed.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

# The primary environment runs the NEWEST ansible-core (tests/requirements.txt), which needs
# Python 3.12+ on the controller: the first of PY_VERSIONS found on the machine makes the venv
# (tests/setup/find-python.sh: PATH, pyenv's versions, /usr/bin), or PYTHON=/path/to/python.
# A venv made by another Python version is made again.
PYTHON ?=
PY_VERSIONS ?= 3.12 3.13
VENV ?= .venv
TEST_REQUIREMENTS ?= tests/requirements.txt
# What this environment is, in messages (the legs set it).
LEG ?= the primary environment (newest ansible-core)
# The legs run the collection's unit tests only (tests/unit/plugins); bench/'s tests need the
# primary environment (ansible-runner, Python 3.11+).
UNIT_TESTS ?= tests/unit
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
$(BIN)/.installed: requirements.txt $(TEST_REQUIREMENTS)
	$(call say,Python environment in $(VENV) (requirements.txt + $(TEST_REQUIREMENTS)))
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] not in "$(PY_VERSIONS)".split())'; then \
	  echo "$(VENV) runs Python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'), not one of $(PY_VERSIONS): making it again"; \
	  rm -rf $(VENV); fi
	@if [ ! -x $(BIN)/python ]; then \
	  py="$(PYTHON)"; [ -n "$$py" ] || py=$$(WHO="$(LEG)" bash tests/setup/find-python.sh $(PY_VERSIONS)); \
	  echo "$$py -m venv $(VENV)"; "$$py" -m venv $(VENV); fi
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r $(TEST_REQUIREMENTS)
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
	cd $(SRC) && PYTHONPATH=$(SRC_ROOT) $(BIN)/python -m pytest -q -p no:cacheprovider $(UNIT_TESTS)

.PHONY: sanity
sanity: collection  ## ansible-test sanity, every test, no ignore entries
	$(call say,ansible-test sanity)
	@py=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  ver=$$($(BIN)/python -c "import ansible_test._internal.python_requirements as r, types; print(r.get_venv_packages(types.SimpleNamespace(version='$$py'))['pip'])"); \
	  mkdir -p ~/.ansible/test/cache; \
	  cp tests/setup/get_pip_standin.py ~/.ansible/test/cache/get_pip_$${ver//./_}.py; \
	  echo "ansible-core $$($(BIN)/python -c 'import ansible; print(ansible.__version__)') on Python $$py"; \
	  cd $(SRC) && $(BIN)/ansible-test sanity --color no --python $$py --requirements

.PHONY: lint
lint: collection  ## ansible-lint, production profile (resolves our modules from the installed copy)
	$(call say,ansible-lint (production profile))
	$(BIN)/ansible-lint --offline --profile production

.PHONY: integration integration-only
integration: setup integration-only  ## integration targets against the real engine and balancers
integration-only: collection
	$(call say,Integration targets (real engine, real balancers)$(if $(TARGETS),: $(TARGETS)))
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

# ---------------------------------------------------------------- older ansible-core legs
# Each supported ansible-core older than the newest runs units, sanity and one integration target
# in its own environment (.venv-<version>, tests/requirements-<version>.txt) and its own .tmp
# directory, on a controller Python that version supports (first of LEG_PYTHON_<version> found).
# The two legs share no ports (different integration targets) and no host settings.
LEGS := 2.16 2.19
LEG_PYTHON_2.16 := 3.10 3.11 3.12
LEG_TARGET_2.16 := wait_ready
LEG_PYTHON_2.19 := 3.11 3.12 3.13
LEG_TARGET_2.19 := balancer_member_haproxy

.PHONY: $(addprefix core-,$(LEGS))
$(addprefix core-,$(LEGS)): core-%: images  ## (core-2.16, core-2.19) units, sanity, one integration target on that ansible-core
	$(call say,ansible-core $* leg: units / sanity / integration $(LEG_TARGET_$*))
	@start=$$SECONDS; \
	  $(MAKE) --no-print-directory VENV=.venv-$* TMP=$(TMP)/core-$* TEST_REQUIREMENTS=tests/requirements-$*.txt \
	    PY_VERSIONS="$(LEG_PYTHON_$*)" PYTHON= LEG="the ansible-core $* leg" UNIT_TESTS=tests/unit/plugins \
	    units sanity integration-only TARGETS=$(LEG_TARGET_$*); \
	  echo "ansible-core $* leg passed in $$((SECONDS - start)) s"

# They could run at once (LEGS_JOBS=2), but on 2 cores that was slower: 221 s at once against
# 191 s one after the other (2026-12-02; sanity and the unit tests keep both cores busy).
.PHONY: legs
legs: images  ## every older-ansible-core leg, one after the other (LEGS_JOBS=2: at once)
	$(MAKE) --no-print-directory -j$(or $(LEGS_JOBS),1) --output-sync=recurse $(addprefix core-,$(LEGS))

.PHONY: test
test: setup units sanity lint integration awx molecule fault ssh legs  ## every layer, on a fresh machine too
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
