# Tether: the two commands of the README, and the steps they are made of.
# Every target sets up what it needs first, so each works on a fresh Debian machine.
# Python packages come from requirements.lock.txt (exact versions and hashes); `make lock`
# rewrites it after pyproject.toml's dependencies changed, `make lock-upgrade` moves every
# package to its newest allowed version, and `make test-latest` tries those without locking.

.PHONY: run test setup setup-python setup-vscode test-python test-vscode test-latest lock \
	lock-upgrade bench

FOLDER ?= $(CURDIR)/.tether-demo

run: setup                     ## set up, then start code-server on 127.0.0.1 with Tether installed
	bash vscode-client/scripts/run.sh "$(FOLDER)"

# The test script sets up its own Python environment: .venv, or with CI=true a new one.
test: setup-vscode             ## set up, then run every test (Python, protocol, VS Code client)
	bash scripts/test.sh

setup: setup-python setup-vscode

setup-python:
	bash scripts/setup-python.sh

setup-vscode:
	bash vscode-client/scripts/setup.sh

# The client's npm packages hold json2ts, which the generated-files check needs.
test-python: setup-vscode
	bash scripts/test.sh python

test-vscode: setup-vscode
	bash scripts/test.sh vscode

test-latest: setup-vscode      ## the Python suites with the newest versions pyproject.toml allows
	TETHER_DEPS=latest bash scripts/test.sh python

lock: setup-python             ## rewrite requirements.lock.txt, keeping the versions still allowed
	bash scripts/lock.sh

lock-upgrade: setup-python     ## rewrite requirements.lock.txt with the newest allowed versions
	bash scripts/lock.sh --upgrade

bench: setup-python            ## speed and memory figures against Codex (bench/README.md)
	bash bench/setup.sh
	.venv/bin/python -m bench
