#!/usr/bin/env bash
# One command to see the server answer through a real MCP client, with no AWS account:
# prepares .venv (testbed + MCP client), builds the server, and runs examples/try_it.py, which prints each
# call and a few lines of its answer (--json: the full answers too).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
cargo build --quiet
exec .venv/bin/python examples/try_it.py "$@" "$PWD/target/debug/healthomics-ecr-mcp"
