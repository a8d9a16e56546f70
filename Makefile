# Tether: the two commands of the README, and the steps they are made of.
# Every target sets up what it needs first, so each works on a fresh Debian machine.

.PHONY: run test setup setup-python setup-vscode test-python test-vscode bench

FOLDER ?= $(CURDIR)

run: setup                     ## set up, then start code-server on 127.0.0.1 with Tether installed
	bash vscode-client/scripts/run.sh "$(FOLDER)"

test: setup                    ## set up, then run every test (Python, protocol, VS Code client)
	bash scripts/test.sh

setup: setup-python setup-vscode

setup-python:
	bash scripts/setup-python.sh

setup-vscode: setup-python
	bash vscode-client/scripts/setup.sh

test-python: setup-python
	bash scripts/test.sh python

test-vscode: setup
	bash scripts/test.sh vscode

bench: setup-python            ## speed and memory figures against Codex (bench/README.md)
	bash bench/setup.sh
	.venv/bin/python -m bench
