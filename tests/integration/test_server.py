"""The server as a process and as an MCP peer: identity, the tool surface, flags, exit codes."""

import os
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
    "PrepareWorkflowContainers",
}
# Change the AWS account: hidden by --read-only.
MUTATING = {
    "GrantHealthOmicsRepositoryAccess",
    "CreatePullThroughCacheForHealthOmics",
    "CloneContainerToECR",
    "PrepareWorkflowContainers",
}
# Not read-only, but offered with --read-only: a pull through a cache on request (refused with
# --read-only). CreateContainerRegistryMap writes no file and is read-only.
WRITES_LOCAL_FILES = {"CheckContainerAvailability"}


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


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


def raw_session(lines: list[str], until_ids: list) -> list[dict]:
    """Feeds raw stdin lines to a fresh server, reads its JSON lines until every id in `until_ids` was answered
    (answers may come in any order), then closes stdin."""
    import json
    import select
    import time

    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    proc = subprocess.Popen(
        [server_binary()], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    answers = []
    try:
        proc.stdin.write(("\n".join(lines) + "\n").encode())
        proc.stdin.flush()
        deadline = time.monotonic() + 20
        buffer = b""
        while time.monotonic() < deadline and not all(any(a.get("id") == i for a in answers) for i in until_ids):
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    answers.append(json.loads(line))
        proc.stdin.close()
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    return answers


def test_unparseable_lines_get_a_parse_error_with_their_id():
    import json

    lines = [
        json.dumps(INITIALIZE),
        '{"jsonrpc":"2.0","method":"notifications/initialized"}',
        '{"jsonrpc":"2.0","id":7,"method":"tools/list"',  # cut off
        "garbage",
        '{"jsonrpc":"2.0","id":8,"method":"ping"}',
    ]
    answers = raw_session(lines, until_ids=[7, None, 8])
    by_id = {}
    for a in answers:
        by_id.setdefault(json.dumps(a.get("id")), []).append(a)
    assert by_id["7"][0]["error"]["code"] == -32700
    assert by_id["null"][0]["error"]["code"] == -32700
    assert "result" in by_id["8"][0], "the server still answers after bad lines"


def test_a_broken_stdout_stops_the_server():
    import json
    import os
    import time

    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [server_binary()], stdin=subprocess.PIPE, stdout=write_end, stderr=subprocess.PIPE, env=env
    )
    os.close(write_end)
    os.close(read_end)  # nobody reads the answers any more: the first write gets EPIPE
    try:
        proc.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
        proc.stdin.flush()
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is not None, "the server kept running with no one to answer"
    finally:
        proc.kill()
        proc.wait()


async def test_each_tool_call_is_logged_with_its_outcome_at_debug_level(mcp_client):
    async with mcp_client(env={"FASTMCP_LOG_LEVEL": "DEBUG", "RUST_LOG": None}) as server:
        await server.session.call_tool("ListECRRepositories", {"aws_region": "us-east-1"})
        await server.session.call_tool("ListECRRepositories", {"aws_region": "../../"})
        log = server.stderr()
    finished = [line for line in log.splitlines() if "tool call finished" in line]
    assert len(finished) == 2, log[-2000:]
    assert all("tool=ListECRRepositories" in line and "duration_ms=" in line for line in finished)
    assert "outcome=\"ok\"" in finished[0] or "outcome=ok" in finished[0], finished[0]
    assert "invalid_input" in finished[1]
