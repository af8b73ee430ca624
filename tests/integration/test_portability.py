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
    def sizes(listed) -> tuple[int, int]:
        without = [{k: v for k, v in t.items() if k != "outputSchema"} for t in listed]
        return len(json.dumps(listed, separators=(",", ":"))), len(json.dumps(without, separators=(",", ":")))

    compact, without_outputs = sizes(tools)
    eight = sizes([t for t in tools if t["name"] != "PrepareWorkflowContainers"])
    print(f"tools/list: {compact} bytes compact, {without_outputs} without output schemas; the eight: {eight}")
    # Every byte of tools/list is paid for in the assistant's context on every turn: the eight tools
    # of the Python server's contract within 32 KB and 16 KB, the ninth (PrepareWorkflowContainers)
    # within ~3.5 KB more.
    assert eight[0] <= 32_000 and eight[1] <= 16_000, eight
    assert compact <= 35_500 and without_outputs <= 17_500


def test_every_schema_reference_resolves():
    """Output schemas are spelled out in place (their $defs are dropped), so none may keep a $ref; an input
    schema's $refs point into its own $defs."""
    _, tools = list_tools("modern")
    for tool in tools:
        assert "$ref" not in json.dumps(tool.get("outputSchema", {})), tool["name"]
        schema = tool["inputSchema"]
        text = json.dumps(schema)
        for name in {part.split('"')[0] for part in text.split('"$ref": "#/$defs/')[1:]}:
            assert name in schema.get("$defs", {}), (tool["name"], name)
