"""Start-up: the server answers initialize while its tool router is still being built on a thread of its own, so
whatever a client asks first after initialize must wait for that router, and what initialize said about the tools
(its instructions, written without the router) must agree with what tools/list then offers."""

import asyncio
import re

import pytest
from mcp_harness import call

TOOL_LINE = re.compile(r"^- (\w+): ", re.MULTILINE)


async def test_calls_and_lists_sent_at_once_right_after_initialize_are_all_answered(mcp_client):
    async with mcp_client() as server:
        # Nothing between initialize and these: they arrive while the router may still be being built.
        listed, *called = await asyncio.gather(
            server.session.list_tools(),
            call(server.session, "ListPullThroughCacheRules"),
            call(server.session, "CreateContainerRegistryMap", {"no_such_parameter": 1}),
        )
    assert len(listed.tools) == 9
    (rules_error, rules, _), (bad_error, bad, _) = called
    assert rules_error is not True and isinstance(rules, dict) and "error" not in rules, rules
    assert bad_error is True and bad["error"]["code"] == "invalid_input", bad


@pytest.mark.parametrize("flags", [(), ("--read-only",)])
async def test_the_instructions_name_exactly_the_tools_offered(mcp_client, flags):
    async with mcp_client(*flags) as server:
        init = await server.session.initialize()  # the SDK returns the cached result
        named = set(TOOL_LINE.findall(init.instructions or ""))
        offered = {tool.name for tool in (await server.session.list_tools()).tools}
    assert named == offered
    assert len(offered) == (5 if flags else 9)
