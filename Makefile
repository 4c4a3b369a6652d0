# Developer and CI entry points. `make setup` once, then `make test`.
# One molecule scenario: `make molecule SCENARIOS=roles` (see README).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
# Scenarios in the order CI runs them (one at a time: this machine has two cores).
SCENARIOS ?= roles default cluster
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
ARTIFACT := flasky-deploy-$(VERSION).tar.gz

.PHONY: setup test checks lint test-app test-unit build molecule changelog clean lab lab-down bench inventory

setup:
	bash scripts/setup.sh

# `make test` alone on a fresh clone: setup first (idempotent: seconds on a prepared machine),
# build, then the checks beside the molecule scenarios (at the lowest CPU priority), each phase
# with its time: scripts/test.sh.
test:
	bash scripts/test.sh

# The controller-side checks side by side (each is one process on one core; the machine has two):
# each one's output is printed whole when it ends, with its time; any failure fails `checks`.
checks:
	@$(MAKE) --no-print-directory -j3 --output-sync=target timed-lint timed-test-app timed-test-unit

timed-%:
	@start=$$(date +%s); $(MAKE) --no-print-directory $*; echo "=== $* took $$(( $$(date +%s) - start )) s"

lint:
	yamllint --strict .
	ansible-lint --profile production
	ruff check .
	python scripts/check-links.py
	python scripts/role_docs.py --check
	antsibull-changelog lint

test-app:
	cd app_src && python -m pytest -q
	bash scripts/app-smoke.sh

# Fast controller-side tests of the roles' input validation (no containers).
test-unit:
	python -m pytest -q tests

build:
	rm -f $(ARTIFACT)
	ansible-galaxy collection build --force .
	bash scripts/check-artifact.sh $(ARTIFACT)

molecule:
	for s in $(SCENARIOS); do \
	  echo "=== molecule test -s $$s"; \
	  start=$$(date +%s); \
	  molecule test -s $$s 2>&1 | python -u scripts/step-times.py; \
	  echo "=== scenario $$s passed in $$(( $$(date +%s) - start )) s"; \
	done

# The local lab: Debian containers deployed over SSH with playbooks/site.yml (README "Try it").
lab:
	bash scripts/lab.sh up

lab-down:
	bash scripts/lab.sh down

# A new inventory with random, vault-encrypted secrets: make inventory NAME=shop SERVER=shop.example.com
inventory:
	ansible-playbook playbooks/new-inventory.yml -e inventory_name=$(NAME) -e server_name=$(SERVER)

# Benchmarks (not part of `make test`): converge, serving, upgrade, fleet; about 40 minutes.
bench:
	python -m pip install -q -r benchmarks/requirements.txt
	python benchmarks/run.py

changelog:
	antsibull-changelog release

clean:
	rm -f flasky-deploy-*.tar.gz
	-molecule destroy --all
