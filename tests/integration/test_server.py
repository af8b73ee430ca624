"""The server as a process and as an MCP peer: identity, the tool surface, flags, exit codes."""

import subprocess

from mcp_harness import server_binary

EXPECTED_TOOLS = {
    "ValidateHealthOmicsECRConfig",
    "ListPullThroughCacheRules",
    "ListECRRepositories",
    "GrantHealthOmicsRepositoryAccess",
    "CreatePullThroughCacheForHealthOmics",
    "CreateContainerRegistryMap",
    "CheckContainerAvailability",
    "CloneContainerToECR",
}
# Change the AWS account: hidden by --read-only.
MUTATING = {"GrantHealthOmicsRepositoryAccess", "CreatePullThroughCacheForHealthOmics", "CloneContainerToECR"}
# Not read-only, but offered with --read-only: a local file written on request, a pull through a
# cache on request (refused with --read-only).
WRITES_LOCAL_FILES = {"CreateContainerRegistryMap", "CheckContainerAvailability"}


async def test_identity_instructions_and_tool_surface(mcp_client):
    async with mcp_client() as server:
        init = await server.session.initialize()  # the SDK returns the cached result
        assert init.capabilities.tools is not None
        assert init.server_info.name == "healthomics-ecr-mcp"
        assert "ListECRRepositories" in (init.instructions or "")
        tools = (await server.session.list_tools()).tools
        names = {t.name for t in tools}
        assert names == EXPECTED_TOOLS
        for tool in tools:
            assert tool.title, tool.name
            assert tool.description and len(tool.description) > 100, tool.name
            assert tool.output_schema and tool.output_schema.get("type") == "object", tool.name
            assert tool.input_schema.get("additionalProperties") is False, tool.name
            for prop, schema in tool.input_schema.get("properties", {}).items():
                assert schema.get("description"), f"{tool.name}.{prop} has no description"
                assert schema.get("type") != ["string", "null"], f"{tool.name}.{prop} is nullable"
            annotations = tool.annotations
            assert annotations is not None
            assert annotations.read_only_hint is (tool.name not in MUTATING | WRITES_LOCAL_FILES), tool.name
            assert annotations.open_world_hint is True
        for name in MUTATING:
            tool = next(t for t in tools if t.name == name)
            assert tool.annotations.destructive_hint is False, name
            assert tool.annotations.idempotent_hint is True, name
            assert "dry_run" in tool.input_schema["properties"], name
        for name in WRITES_LOCAL_FILES:
            tool = next(t for t in tools if t.name == name)
            assert tool.annotations.destructive_hint is False, name


async def test_read_only_hides_mutating_tools(mcp_client):
    async with mcp_client("--read-only") as server:
        names = {t.name for t in (await server.session.list_tools()).tools}
        assert names == EXPECTED_TOOLS - MUTATING


async def test_unknown_argument_is_a_tool_error(mcp_client):
    async with mcp_client() as server:
        result = await server.session.call_tool("ListECRRepositories", {"max_result": 5})
        assert result.is_error


def test_version_and_help():
    out = subprocess.run([server_binary(), "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("healthomics-ecr-mcp ")
    out = subprocess.run([server_binary(), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "--read-only" in out.stdout and "--region" in out.stdout


def test_bad_flag_exits_nonzero_with_one_line():
    out = subprocess.run([server_binary(), "--no-such-flag"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--no-such-flag" in lines[0]
    assert out.stdout == ""


def test_closing_stdin_before_initialize_exits_cleanly():
    env = {"RUST_BACKTRACE": "1", "PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1"}
    out = subprocess.run([server_binary()], input="", capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 0
    assert "panicked" not in out.stderr and "backtrace" not in out.stderr.lower()
    assert out.stdout == ""


def test_logs_go_to_stderr_and_fastmcp_levels_are_understood():
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "FASTMCP_LOG_LEVEL": "DEBUG"}
    out = subprocess.run([server_binary()], input="", capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 0 and out.stdout == ""
    assert "disconnected before initialization" in out.stderr
    env["FASTMCP_LOG_LEVEL"] = "WARNING"
    out = subprocess.run([server_binary()], input="", capture_output=True, text=True, timeout=30, env=env)
    assert out.stderr == ""
