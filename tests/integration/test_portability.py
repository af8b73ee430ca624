"""The tool surface is portable: the MCP Inspector CLI's strict schema check (the second real client) reports no
error and no warning in either protocol era, and the tool list stays within its size budget.

`tests/run-all.sh` installs the Inspector (Node 22 from npm) and names it in MCP_INSPECTOR; without it these tests
are skipped locally and fail in CI.
"""

import json
import os
import subprocess

import pytest
from mcp_harness import server_binary

INSPECTOR = os.environ.get("MCP_INSPECTOR")


def inspector() -> str:
    if not INSPECTOR:
        if os.environ.get("CI"):
            pytest.fail("MCP_INSPECTOR is not set: tests/run-all.sh installs the Inspector CLI")
        pytest.skip("MCP_INSPECTOR is not set")
    return INSPECTOR


def list_tools(era: str) -> tuple[subprocess.CompletedProcess, list]:
    binary = str(server_binary())
    run = subprocess.run(
        [inspector(), "--cli", "--strict", "--protocol-era", era, "--method", "tools/list", binary],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AWS_REGION": "us-east-1", "RUST_LOG": "off"},
    )
    tools = json.loads(run.stdout)["tools"] if run.stdout.strip() else []
    return run, tools


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_the_strict_inspector_finds_no_portability_problem(era):
    run, tools = list_tools(era)
    problems = [line for line in run.stderr.splitlines() if line.startswith(("Warning:", "Error:"))]
    assert run.returncode == 0 and not problems, run.stderr[-4000:]
    assert len(tools) == 9


def test_the_tool_list_fits_its_budget():
    _, tools = list_tools("modern")
    compact = len(json.dumps(tools, separators=(",", ":")))
    without_outputs = len(json.dumps([{k: v for k, v in t.items() if k != "outputSchema"} for t in tools],
                                     separators=(",", ":")))
    print(f"tools/list: {compact} bytes compact, {without_outputs} without output schemas")
    # The targets are 32 KB and 16 KB; these bounds keep today's size from growing. The ninth tool
    # (PrepareWorkflowContainers, issue 10) adds ~2.8 KB, ~1.4 KB of it without its output schema.
    assert compact <= 37_000 and without_outputs <= 18_500
