# RHEL EKS worker AMIs. `make help` lists everything; `make 1.28 name=value …` builds.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory

# Every name=value given on the command line is handed to the scripts, which reject unknown names
# (with a suggestion) instead of silently dropping them. Values are single-quoted for the shell.
_cli_names := $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
_cli_args := $(foreach v,$(_cli_names),'$(v)=$(subst ','\'',$(value $(v)))')
# Node with tsx's loader, not the tsx command: that one starts a second Node process (~0.15 s per command).
TSX := node --import tsx

##@ Build
build: node_modules/.installed ## Build the newest supported minor found in the bucket (or k8s=<minor>)
	@$(TSX) scripts/build.ts $(_cli_args)

# With another goal (`make rehearse 1.36`, `make stage 1.28`), the minor is that goal's argument, not a build.
_minor_goals := rehearse stage versions upstream
ifeq ($(filter $(_minor_goals),$(MAKECMDGOALS)),)
1.%: node_modules/.installed ## `make 1.28 [name=value …]`: build an AMI for that Kubernetes minor
	@$(TSX) scripts/build.ts $@ $(_cli_args)
else
_goal_minor := $(filter 1.%,$(MAKECMDGOALS))
1.%: ; @:
endif

rehearse: node_modules/.installed ## `make rehearse 1.36 [stage=true] [join=true] [name=value …]`: the whole build offline against an emulator with real upstream binaries (root); stage=true stages into a mirror and replays the lock; join=true boots the image as a node and joins it
	@$(TSX) scripts/rehearse.ts $(_goal_minor) $(_cli_args)

upstream: node_modules/.installed ## `make upstream k8s=1.36 [name=value …]`: build the real binaries that configuration installs (and its rehearsal runs) from pinned Go source, cached
	@$(TSX) scripts/upstream.ts $(_goal_minor) $(_cli_args)

versions: node_modules/.installed ## Print the Kubernetes version and build date a build would use (k8s=1.28 [arch=arm64])
	@$(TSX) scripts/versions.ts $(_goal_minor) $(_cli_args)

stage: node_modules/.installed ## `make stage k8s=1.28 binary_bucket_name=B binary_bucket_region=R [arch=…]`: mirror every artifact into B, verified; writes build.lock.json
	@$(TSX) scripts/stage.ts $(_goal_minor) $(_cli_args)

##@ Lifecycle
matrix: node_modules/.installed ## Print the image matrix (data/matrix.json) as JSON for CI [k8s=… rhel_version=… arch=… variant=…]
	@$(TSX) scripts/matrix.ts $(_cli_args)

all: node_modules/.installed ## Build every matrix cell, jobs=N at a time, logs in build/matrix/ [emulator=true dry_run=true …]
	@$(TSX) scripts/all.ts $(_cli_args)

sweep: node_modules/.installed ## List old images per cell not in use (keep=3 regions=… ssm_prefix=…); apply=true removes them
	@$(TSX) scripts/sweep.ts $(_cli_args)

nodegroup: node_modules/.installed ## Write a managed node group or Karpenter EC2NodeClass for an image: cluster=C ami=AMI [node_role=… format=eksctl|karpenter apply=true]
	@$(TSX) scripts/nodegroup.ts $(_cli_args)

cluster-proxy: node_modules/.installed ## Check the cluster, then switch kube-proxy (disruptive): cluster=C mode=ipvs|nftables [scheduler=rr dry_run=true]
	@$(TSX) scripts/cluster-proxy.ts $(_cli_args)

cluster-ipvs: node_modules/.installed ## Alias of cluster-proxy mode=ipvs: cluster=C [scheduler=rr dry_run=true]
	@$(TSX) scripts/cluster-ipvs.ts $(_cli_args)

##@ Develop
# The loop: make lint, make test-unit, one file (node_modules/.bin/mocha --config .mocharc.files.json FILE: the same
# options as .mocharc.json without its spec, which would add every test), then make test. See README "Tests".
lint: test-deps node_modules/.installed ## Lint: oxlint with type information (floating promises, import cycles, unused code), prettier, shfmt on every shell file
	@node_modules/.bin/oxlint --type-aware --deny-warnings src scripts test bench
	@node_modules/.bin/prettier --check --log-level warn 'src/**/*.ts' 'scripts/**/*.ts' 'test/**/*.ts' 'bench/**/*.ts'
	@files=$$(git ls-files -co --exclude-standard | grep -v '^build/' | xargs shfmt -f); shfmt -d -i 2 -ci $$files

test-unit: node_modules/.installed ## The pure-logic tests (test/unit): no emulator, no root, a few seconds
	@node_modules/.bin/mocha --config .mocharc.files.json --reporter dot 'test/unit/**/*.test.ts'

test: test-deps test-upstream node_modules/.installed ## Install test prerequisites (as root on Debian/Ubuntu) and run every test
	@node_modules/.bin/mocha

# The upstream binaries the tests and their rehearsals run (cached: a cold machine builds them once, ~30 min on 2 cores).
test-upstream: node_modules/.installed
	@$(TSX) scripts/upstream.ts 1.36
	@$(TSX) scripts/upstream.ts 1.35 containerd_version=1.7.27

test-deps: ## Install the tools the tests use (packer, shellcheck, shfmt, qemu, …) when missing
	@bash scripts/install-test-deps.sh

typecheck: node_modules/.installed ## Type-check the TypeScript
	@node_modules/.bin/tsc -p .

docs: node_modules/.installed ## Regenerate the README's variable table from the declarations
	@$(TSX) scripts/docs.ts --write

bench: node_modules/.installed ## Benchmark discovery, staging and plan latency against the emulator, next to the old approach, and the join rehearsal; writes bench/RESULTS.md
	@$(TSX) bench/discovery.ts
	@$(TSX) bench/stage.ts
	@$(TSX) bench/plan.ts f604fb9 # the last commit before the plan-latency work (issue 14, item 7)
	@$(TSX) bench/join.ts 1.36 # seconds to Ready and the join rehearsal's total (root; upstream binaries built first)

clean: ## Remove build outputs
	rm -rf build

help: ## Show this help, the presets and the build variables
	@awk 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-z0-9.%-]+:.*## / {n = $$1; sub(/%/, "<minor>", n); printf "  %-14s %s\n", n, $$2}' $(MAKEFILE_LIST)
	@if [ -x node_modules/.bin/tsx ]; then $(TSX) scripts/help.ts; else echo; echo "Run 'npm ci' to see presets and build variables here."; fi

node_modules/.installed: package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error >&2
	@touch $@

.PHONY: build rehearse stage matrix all sweep nodegroup cluster-proxy cluster-ipvs versions lint test-unit test test-deps test-upstream typecheck docs bench clean help
