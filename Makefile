# RHEL EKS worker AMIs. `make help` lists everything; `make 1.28 name=value …` builds.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory

# Every name=value given on the command line is handed to the scripts, which reject unknown names
# (with a suggestion) instead of silently dropping them. Values are single-quoted for the shell.
_cli_names := $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
_cli_args := $(foreach v,$(_cli_names),'$(v)=$(subst ','\'',$(value $(v)))')
TSX := node_modules/.bin/tsx

##@ Build
build: node_modules/.installed ## Build the newest supported minor found in the bucket (or k8s=<minor>)
	@$(TSX) scripts/build.ts $(_cli_args)

1.%: node_modules/.installed ## `make 1.28 [name=value …]`: build an AMI for that Kubernetes minor
	@$(TSX) scripts/build.ts $@ $(_cli_args)

versions: node_modules/.installed ## Print the Kubernetes version and build date a build would use (k8s=1.28 [arch=arm64])
	@$(TSX) scripts/versions.ts $(_cli_args)

##@ Develop
test: test-deps node_modules/.installed ## Install test prerequisites (as root on Debian/Ubuntu) and run every test
	@node_modules/.bin/mocha

test-deps: ## Install the tools the tests use (packer, shellcheck, shfmt, qemu, …) when missing
	@bash scripts/install-test-deps.sh

typecheck: node_modules/.installed ## Type-check the TypeScript
	@node_modules/.bin/tsc -p .

docs: node_modules/.installed ## Regenerate the README's variable table from the declarations
	@$(TSX) scripts/docs.ts --write

bench: node_modules/.installed ## Benchmark version discovery against the emulator; writes bench/RESULTS.md
	@$(TSX) bench/discovery.ts

clean: ## Remove build outputs
	rm -rf build

help: ## Show this help, the presets and the build variables
	@awk 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-z0-9.%-]+:.*## / {n = $$1; sub(/%/, "<minor>", n); printf "  %-14s %s\n", n, $$2}' $(MAKEFILE_LIST)
	@if [ -x $(TSX) ]; then $(TSX) scripts/help.ts; else echo; echo "Run 'npm ci' to see presets and build variables here."; fi

node_modules/.installed: package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: build versions test test-deps typecheck docs bench clean help
