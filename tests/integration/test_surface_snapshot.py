"""The public tool surface pinned: names, titles, descriptions, input and output schemas and annotations of every
tool, as a client sees them over tools/list, against tests/snapshots/tools.json.

Any change of the contract is a reviewed diff: run with UPDATE_SNAPSHOTS=1 to rewrite the file, then read the diff.
"""

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "tools.json"


def surface(tools) -> list[dict]:
    return sorted(
        (tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools), key=lambda t: t["name"]
    )


async def test_tool_surface_matches_the_snapshot(mcp_client):
    async with mcp_client() as server:
        tools = (await server.session.list_tools()).tools
    current = surface(tools)
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text)
    assert SNAPSHOT.exists(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1"
    pinned = json.loads(SNAPSHOT.read_text())
    for before, now in zip(pinned, current):
        assert before == now, f"the surface of {now['name']} changed: review it, then UPDATE_SNAPSHOTS=1"
    assert [t["name"] for t in pinned] == [t["name"] for t in current]
