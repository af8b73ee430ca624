"""Client side of the server under test: spawn the real binary over stdio with the official MCP Python SDK.

`ClientSession` checks structuredContent against each tool's outputSchema on every successful call, so every
integration test is also a contract test of the schemas the server publishes.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO_ROOT / "target" / "debug" / "healthomics-ecr-mcp"
CALL_TIMEOUT_S = 60  # a hung server fails its test instead of hanging the run


def server_binary() -> Path:
    """The binary under test: $HEALTHOMICS_ECR_MCP_BIN, else the debug build (run `cargo build` first)."""
    binary = Path(os.environ.get("HEALTHOMICS_ECR_MCP_BIN", DEFAULT_BINARY))
    if not binary.is_file():
        pytest.fail(f"server binary {binary} not found: run `cargo build` or set HEALTHOMICS_ECR_MCP_BIN")
    return binary


def hermetic_env(aws_endpoint: str, region: str, scratch: Path) -> dict[str, str]:
    """An environment that lets the server reach the testbed and nothing else of this machine's AWS setup."""
    missing = scratch / "no-such-aws-file"
    return {
        "HOME": str(scratch),
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(missing),
        "AWS_SHARED_CREDENTIALS_FILE": str(missing),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    }


def mirrors_env(testbed) -> str:
    """HEALTHOMICS_ECR_REGISTRY_MIRRORS sending each upstream host to the testbed's stand-in registry for it."""
    return ",".join(f"{h}={u}" for h, u in testbed.upstreams.items())


@dataclass
class McpServer:
    """A running server: its initialized MCP session and the file its stderr goes to."""

    session: ClientSession
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@asynccontextmanager
async def run_server(args: list[str], env: dict[str, str], cwd: Path, stderr_path: Path) -> AsyncIterator[McpServer]:
    """Starts the server with exactly `env` (plus the SDK's HOME/PATH/USER/... defaults that `env` does not set).

    stdio_client passes on only those few variables of our own environment, so RUST_BACKTRACE and the AWS_*
    variables of the machine running the tests never reach the server. On exit the SDK closes the server's stdin
    and waits for it, then kills it.
    """
    parameters = StdioServerParameters(command=str(server_binary()), args=args, env=env, cwd=str(cwd))
    with open(stderr_path, "w") as errlog:
        async with (
            stdio_client(parameters, errlog=errlog) as (read, write),
            ClientSession(read, write, read_timeout_seconds=CALL_TIMEOUT_S) as session,
        ):
            await session.initialize()
            yield McpServer(session, stderr_path)


async def call(session: ClientSession, tool: str, args: dict | None = None) -> tuple[bool, dict | None, str]:
    """Calls `tool`; returns (isError, structuredContent, the text content joined by newlines)."""
    result = await session.call_tool(tool, args or {})
    text = "\n".join(block.text for block in result.content if block.type == "text")
    return result.is_error, result.structured_content, text
