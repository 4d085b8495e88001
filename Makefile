# IT Hub. `make run` and `make test` install what they need (moto into .venv) and start what they use.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
MOTO_VERSION := 5.1.22
MOTO_STAMP := $(VENV)/.moto-$(MOTO_VERSION)
WITH_MOTO := infra/local/with-moto.sh
SCHEMATHESIS_VERSION := 4.32.5
CLIENT_GENERATOR_VERSION := 0.28.1
SCIM_TESTER_VERSION := 0.5.2
# The template's checkers, in a virtualenv of their own inside .venv (their pins differ from moto's).
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := 1.58.0
CHECKOV_VERSION := 3.2.459
INFRA_VENV := $(VENV)/infra
LINT_STAMP := $(INFRA_VENV)/.tools-$(SAM_CLI_VERSION)-$(CFN_LINT_VERSION)-$(CHECKOV_VERSION)
API_TOOLS_STAMP := $(VENV)/.api-tools-$(SCHEMATHESIS_VERSION)-$(CLIENT_GENERATOR_VERSION)-$(SCIM_TESTER_VERSION)
WITH_STACK := infra/local/with-stack.sh
# Schemathesis makes a connection with every valid example it sends, far past a company's cap: its stack allows
# more, so a valid request it sends is never refused for the cap (its positive-data check would count that).
SCHEMATHESIS_STACK := ITHUB_MAX_CONNECTIONS_PER_TENANT=10000 $(WITH_MOTO) $(WITH_STACK)
CARGO_LAMBDA_VERSION := 1.9.2
ZIG_VERSION := 0.14.1
LAMBDA_STAMP := $(VENV)/.cargo-lambda-$(CARGO_LAMBDA_VERSION)-zig-$(ZIG_VERSION)
FUNCTIONS := webhook poller worker admin-api
# The console's browser tests: Debian's chromium and chromedriver (installed when missing) and axe-core from npm.
AXE_VERSION := 4.11.0
BROWSER_STAMP := $(VENV)/.browser-axe-$(AXE_VERSION)
# make deploy: the stack, its region and who is told of alarms (infra/samconfig.toml holds the rest).
STACK ?= ithub
REGION ?= eu-west-1
ALARM_EMAIL ?=

.PHONY: run test xmllint iam-evidence schemathesis lint fmt bench bench-cold soak fuzz package deploy openapi docs clean help

help:
	@echo "make run      run IT Hub locally: moto, every function in one process, a sandbox HR system"
	@echo "make test     run every test against a private moto server, Schemathesis and scim2-tester included"
	@echo "make iam-evidence  make test, then rewrite infra/aws-calls.tsv (each function's AWS calls) from its record"
	@echo "make lint     rustfmt --check, clippy -D warnings; cfn-lint, sam validate --lint and checkov on the template"
	@echo "make bench    run the benchmarks (see BENCHMARKS.md); make bench-cold runs only the cold-start one"
	@echo "make soak     the fault-injection scenario at full size (2,000 people, 200 changes), then the load test"
	@echo "make fuzz     the hostile-input property tests at 100,000 cases each"
	@echo "make package  build the Lambda zips for arm64 with cargo-lambda"
	@echo "make deploy   package, then sam deploy with infra/samconfig.toml (STACK, REGION, ALARM_EMAIL)"
	@echo "make openapi  rewrite functions/admin-api/openapi.json from the code"
	@echo "make docs     rewrite the OpenAPI document and docs/events.md from the code"

$(MOTO_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	touch $@

run: $(MOTO_STAMP) xmllint
	cargo build --release -p local --bin ithub-local
	ITHUB_LOG_FORMAT=$${ITHUB_LOG_FORMAT:-text} $(WITH_MOTO) target/release/ithub-local run

# Schemathesis, openapi-python-client for the generated-client check, and scim2-tester (SCIM compliance).
$(API_TOOLS_STAMP): $(MOTO_STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
	  'schemathesis==$(SCHEMATHESIS_VERSION)' 'openapi-python-client==$(CLIENT_GENERATOR_VERSION)' \
	  'scim2-tester[httpx2]==$(SCIM_TESTER_VERSION)'
	touch $@

# Debian's chromium and chromium-driver when either is missing (as root, or through sudo), and axe-core into
# .venv/browser. The browser tests find them at /usr/bin and through ITHUB_AXE_JS.
$(BROWSER_STAMP):
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi
	mkdir -p $(VENV)/browser
	npm install --prefix $(VENV)/browser --no-save --no-audit --no-fund --loglevel=error 'axe-core@$(AXE_VERSION)'
	touch $@

# libxml2's xmllint (Debian's libxml2-utils) when missing (as root, or through sudo): the fake Workday (the tests'
# and make run's sandbox) holds every SOAP request and answer to Workday's XML Schema with it (tests/contracts/
# workday). Checked every time.
xmllint:
	@if ! command -v xmllint >/dev/null; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libxml2-utils; \
	fi

# The API checks run first, each on a private local stack, so that the test runner's summary is the last thing
# printed. cargo-nextest ships with the Rust machines; plain cargo test is the fallback. Every AWS call each
# function makes is recorded in front of moto (infra/local/aws_calls.py); a call that infra/aws-calls.tsv, the
# evidence the template's IAM policies are tested against, does not list fails the run (`make iam-evidence`
# rewrites the file from a run: AWS_CALLS_MODE=write).
AWS_CALLS := target/aws-calls.tsv
AWS_CALLS_MODE ?= check
test: export ITHUB_AWS_CALL_LOG := $(CURDIR)/$(AWS_CALLS)
test: export ITHUB_AXE_JS := $(CURDIR)/$(VENV)/browser/node_modules/axe-core/axe.min.js
test: $(MOTO_STAMP) $(API_TOOLS_STAMP) $(BROWSER_STAMP) xmllint
	cargo build --workspace --all-targets
	rm -f $(AWS_CALLS)
	$(SCHEMATHESIS_STACK) infra/local/schemathesis.sh
	$(WITH_MOTO) $(WITH_STACK) infra/local/generated-client.sh
	$(WITH_MOTO) $(WITH_STACK) $(VENV)/bin/python infra/local/scim_compliance.py
	status=0; \
	if command -v cargo-nextest >/dev/null; then \
	  $(WITH_MOTO) cargo nextest run --workspace --lib --bins --tests --no-fail-fast || status=$$?; \
	else \
	  $(WITH_MOTO) cargo test --workspace --lib --bins --tests --no-fail-fast || status=$$?; \
	fi; \
	$(VENV)/bin/python infra/local/aws_calls.py $(AWS_CALLS_MODE) $(AWS_CALLS) infra/aws-calls.tsv || status=$$?; \
	exit $$status

# Rewrites infra/aws-calls.tsv from a whole run's record (written even when the cargo tests fail, the IAM test
# among them when the evidence changed: run `make test` again after fixing the template; not when an API check
# before them fails).
iam-evidence:
	$(MAKE) test AWS_CALLS_MODE=write

# The admin API's OpenAPI document and the domain-event catalogue are generated from the code; a test fails when
# a committed copy is stale.
openapi:
	UPDATE_OPENAPI=1 cargo test -p admin-api --lib routes::tests::the_committed_document_is_current

docs: openapi
	UPDATE_DOCS=1 cargo test -p integration-tests --test it events::the_committed_event_catalogue_is_current

# Schemathesis alone, against a private local stack (SCHEMATHESIS_EXAMPLES=200 for a deeper run).
schemathesis: $(API_TOOLS_STAMP)
	cargo build -p local --bin ithub-local
	$(SCHEMATHESIS_STACK) infra/local/schemathesis.sh

$(LINT_STAMP):
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check \
	  'aws-sam-cli==$(SAM_CLI_VERSION)' 'cfn-lint==$(CFN_LINT_VERSION)' 'checkov==$(CHECKOV_VERSION)'
	touch $@

# The template: cfn-lint, the SAM CLI's validation (with its lint) and checkov (skips and their reasons in
# infra/checkov.yaml). None of them needs an AWS account.
lint: $(LINT_STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(INFRA_VENV)/bin/cfn-lint infra/template.yaml
	cd infra && SAM_CLI_TELEMETRY=0 ../$(INFRA_VENV)/bin/sam validate --lint --template-file template.yaml --region us-east-1
	$(INFRA_VENV)/bin/checkov --config-file infra/checkov.yaml -f infra/template.yaml

fmt:
	cargo fmt --all

# The pipeline's per-call figures, freshness per provider (HR change to visible task, webhook and poll paths, and
# webhook intake throughput: FRESHNESS_CHANGES, FRESHNESS_DELIVERIES), SCIM intake (a first push of SCIM_USERS
# users, then hires, then the provider's import read), then the scale benchmark for each size in BENCH_PEOPLE,
# each on a fresh moto.
# BENCH_CHURN: people changed for the churn resync (empty: 1% of each size). The defaults fit moto on this
# machine in minutes; 100,000 people take about 35 minutes on moto here (BENCHMARKS.md has both).
BENCH_PEOPLE ?= 10000
BENCH_CHURN ?= 20
FRESHNESS_CHANGES ?= 100
FRESHNESS_DELIVERIES ?= 1000
# SCIM intake: users in the identity provider's first push.
SCIM_USERS ?= 1000
bench: $(MOTO_STAMP)
	$(WITH_MOTO) cargo bench -p integration-tests --bench pipeline
	cargo bench -p fake-hr --bench contract
	$(WITH_MOTO) cargo bench -p integration-tests --bench freshness -- --changes $(FRESHNESS_CHANGES) --deliveries $(FRESHNESS_DELIVERIES)
	$(WITH_MOTO) cargo bench -p integration-tests --bench scim -- --users $(SCIM_USERS)
	for n in $(BENCH_PEOPLE); do \
	  $(WITH_MOTO) cargo bench -p integration-tests --bench scale -- --people $$n $(if $(BENCH_CHURN),--churn $(BENCH_CHURN)); \
	done
	$(MAKE) bench-cold

# The fault-injection scenario at full size (SOAK_PEOPLE people, SOAK_CHANGES changes; `make test` runs a short one),
# then the load test (LOAD_RATE webhook deliveries a second for LOAD_SECONDS, admins reading meanwhile); and the
# hostile-input property tests, with the SCIM filter's and PATCH's, at FUZZ_CASES cases each. BENCHMARKS.md records a run of each.
SOAK_PEOPLE ?= 2000
SOAK_CHANGES ?= 200
LOAD_RATE ?= 5
LOAD_SECONDS ?= 60
FUZZ_CASES ?= 100000
# Each case of the HR-answer property runs every connector over real HTTP (about 30 ms a case).
HR_FUZZ_CASES ?= 5000
soak: $(MOTO_STAMP)
	SOAK_PEOPLE=$(SOAK_PEOPLE) SOAK_CHANGES=$(SOAK_CHANGES) $(WITH_MOTO) cargo test -p integration-tests --test it \
	  faults::soak_the_full_scenario_under_faults -- --ignored --nocapture
	$(WITH_MOTO) cargo bench -p integration-tests --bench load -- --rate $(LOAD_RATE) --seconds $(LOAD_SECONDS)

# In the dev profile: its overflow checks turn an arithmetic overflow on hostile input into a finding.
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) cargo test -p ithub --test hostile_input -- --nocapture
	PROPTEST_CASES=$(HR_FUZZ_CASES) cargo test -p ithub --test hr_answers_fuzz
	PROPTEST_CASES=$(FUZZ_CASES) cargo test -p ithub --lib --features dynamodb -- scim::filter::tests scim::patch::tests store::cursor::props

$(LAMBDA_STAMP): $(MOTO_STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'cargo-lambda==$(CARGO_LAMBDA_VERSION)' 'ziglang==$(ZIG_VERSION)'
	touch $@

# One build per function: built together, Cargo would unify the shared crate's features and link every AWS client
# into every function. Built with the `lambda-release` profile (opt-level z, whole-program LTO, panic abort;
# Cargo.toml). LAMBDA_ARCH=x86-64 builds x86_64 zips, to check sizes on a machine without the arm64 standard
# library; the template's functions are arm64, so `make deploy` always builds arm64. Each is built with its
# `lean-logs` feature: nothing below info is compiled in. Fails if a zip is over 3 MiB
# (OVERSIZE=warn only says so: `make deploy` does not refuse to deploy over this project's own size goal).
LAMBDA_ARCH ?= arm64
OVERSIZE ?= fail
MAX_ZIP_BYTES := 3145728
package: $(LAMBDA_STAMP)
	if [ "$(LAMBDA_ARCH)" = arm64 ]; then rustup target add aarch64-unknown-linux-gnu; fi
	for f in $(FUNCTIONS); do \
	  PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --profile lambda-release --$(LAMBDA_ARCH) --output-format zip -p $$f --features lean-logs; \
	done
	@over=0; for f in $(FUNCTIONS); do \
	  size=$$(stat -c %s target/lambda/$$f/bootstrap.zip); \
	  awk -v f=$$f -v s=$$size -v max=$(MAX_ZIP_BYTES) 'BEGIN { printf "%-10s %9d bytes%s\n", f, s, (s > max ? "  over 3 MiB" : "") }'; \
	  if [ $$size -gt $(MAX_ZIP_BYTES) ]; then over=1; fi; \
	done; [ $$over = 0 ] || [ "$(OVERSIZE)" = warn ]

# Cold start (BENCHMARKS.md): each function's release binary, one cargo build each as for the zips, and the
# hello-world Lambda, started COLD_RUNS times against a stand-in for the Lambda Runtime API (the measuring
# program itself is built in the dev profile: its speed is not measured).
COLD_RUNS ?= 20
bench-cold:
	for f in hello-lambda $(FUNCTIONS); do cargo build --release -p $$f; done
	cargo bench --profile dev -p integration-tests --bench cold_start -- --runs $(COLD_RUNS)

# Deploys to the AWS account of the usual credentials (AWS_PROFILE, or the environment). The change set waits for a
# yes. Then it prints the API URL and the commands that make the first tenant and admin key.
deploy: override LAMBDA_ARCH := arm64
deploy: override OVERSIZE := warn
deploy: package $(LINT_STAMP)
	SAM_CLI_TELEMETRY=0 $(INFRA_VENV)/bin/sam deploy --config-file $(CURDIR)/infra/samconfig.toml \
	  --template-file $(CURDIR)/infra/template.yaml --stack-name $(STACK) --region $(REGION) \
	  $(if $(ALARM_EMAIL),--parameter-overrides AlarmEmail=$(ALARM_EMAIL))
	@api=$$($(INFRA_VENV)/bin/python -c 'import boto3,sys; o=boto3.client("cloudformation",region_name=sys.argv[2]).describe_stacks(StackName=sys.argv[1])["Stacks"][0]["Outputs"]; print(next(x["OutputValue"] for x in o if x["OutputKey"]=="ApiUrl"))' $(STACK) $(REGION)); \
	  table=$$($(INFRA_VENV)/bin/python -c 'import boto3,sys; r=boto3.client("cloudformation",region_name=sys.argv[2]).describe_stack_resource(StackName=sys.argv[1],LogicalResourceId="Table"); print(r["StackResourceDetail"]["PhysicalResourceId"])' $(STACK) $(REGION)); \
	  echo; echo "IT Hub is deployed: $$api"; \
	  echo "First tenant and admin key:"; \
	  echo "  AWS_REGION=$(REGION) cargo run -p operator -- --table $$table create-tenant \"Your company\""; \
	  echo "  AWS_REGION=$(REGION) cargo run -p operator -- --table $$table issue-key <tenant id> --label admin"; \
	  echo "Then: curl -H 'Authorization: Bearer <key>' $$api/v1/employees"

clean:
	cargo clean
	rm -rf $(VENV) .local
