"""Try the server without an AWS account: starts the local testbed with a small demo account, starts the built
server over stdio with the official MCP Python client, and shows each call and what its answer says in a few lines.

Run it with `examples/try-without-aws.sh` (which prepares .venv and builds the binary), or directly:
`.venv/bin/python examples/try_it.py [--json] [path/to/healthomics-ecr-mcp]`. `--json` also prints each
answer's full structured result.
"""

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "testbed"), str(REPO / "tests" / "integration")]

from harness import Testbed  # noqa: E402
from mcp_harness import call, hermetic_env, run_server  # noqa: E402

CALLS = [
    ("ListECRRepositories", {}),
    ("ListPullThroughCacheRules", {}),
    ("ValidateHealthOmicsECRConfig", {}),
    ("GrantHealthOmicsRepositoryAccess", {"repository_name": "tools/fastqc", "dry_run": True}),
    ("GrantHealthOmicsRepositoryAccess", {"repository_name": "tools/fastqc"}),
    ("ListECRRepositories", {"filter_healthomics_accessible": True}),
    ("CreatePullThroughCacheForHealthOmics", {"upstream_registry": "ecr-public", "dry_run": True}),
    ("CreateContainerRegistryMap", {"container_images": [
        "quay.io/biocontainers/samtools:1.19.2--h50ea8bc_1",
        "public.ecr.aws/docker/library/python:3.12-slim",
        "community.wave.seqera.io/library/fastp:0.23.4--f8cefc1e5f7a782e",
    ]}),
]

NEXT_STEPS = """
What next:
  - Your own account: install the server (cargo install --locked --path .) and add it to your assistant
    with a file from examples/clients/ (README, "Client configuration").
  - Ask the assistant: "Validate my HealthOmics ECR setup in us-east-1 and fix what is wrong."
  - Poke at the demo account yourself: python tests/testbed/serve.py --seed-sample prints an endpoint to
    point the server (AWS_ENDPOINT_URL) or the MCP Inspector at.
  - See every field of these answers: examples/try-without-aws.sh --json"""

WIDTH = 110


def clip(text: str, width: int = WIDTH) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def summarize(tool: str, result: dict) -> list[str]:
    """A few lines saying what the answer says: its message, then the verdicts or counts it carries."""
    lines = [clip(result["message"], 180)] if result.get("message") else []
    if tool == "ListECRRepositories":
        for repo in result.get("repositories", [])[:5]:
            lines.append(f"{repo.get('repository_name')}: {repo.get('healthomics_accessible')}"
                         + (f" ({clip(repo['why'], 70)})" if repo.get("why") else ""))
    elif tool == "ListPullThroughCacheRules":
        for rule in result.get("rules", []):
            usable = "usable by HealthOmics" if rule.get("healthomics_usable") else "NOT usable by HealthOmics"
            lines.append(f"{rule.get('ecr_repository_prefix')}/ → {rule.get('upstream_registry_url')}: {usable}")
    elif tool == "ValidateHealthOmicsECRConfig":
        issues = result.get("issues", [])
        by_severity: dict[str, int] = {}
        for issue in issues:
            by_severity[issue.get("severity", "?")] = by_severity.get(issue.get("severity", "?"), 0) + 1
        counts = ", ".join(f"{n} {s}" for s, n in by_severity.items()) or "no issues"
        lines.append(f"valid: {result.get('valid')}; {counts}")
        for issue in issues[:3]:
            fix = issue.get("fix_tool_call", {}).get("tool")
            lines.append(f"{issue.get('severity')}: {clip(issue.get('message', ''), 80)}" + (f" → fix: {fix}" if fix else ""))
    elif tool == "CreatePullThroughCacheForHealthOmics":
        for change in result.get("planned_changes", []):
            lines.append(f"{change.get('action')}: {clip(change.get('description', ''), 80)}")
    elif tool == "CreateContainerRegistryMap":
        images = result.get("coverage", {}).get("images", [])
        covered = sum(1 for image in images if image.get("covered"))
        lines.append(f"{covered} of {len(images)} images covered; "
                     f"{len(result.get('container_registry_map', {}).get('registryMappings', []))} registry mapping(s)")
        for image in images:
            if image.get("covered"):
                lines.append(f"{clip(image.get('image'), 60)}: covered → {image.get('ecr_image_uri', '')}")
            else:
                problem = (image.get("problems") or [{}])[0].get("message", "not covered")
                lines.append(f"{clip(image.get('image'), 60)}: {clip(problem, 70)}")
    if not lines:
        lines.append(clip(json.dumps(result)))
    return lines


async def main(full_json: bool) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        print("Starting the local testbed (a demo AWS account) and the server...")
        testbed = Testbed.start(scratch / "testbed.log", "--seed-sample")
        try:
            env = hermetic_env(testbed.aws_endpoint, testbed.region, scratch)
            async with run_server([], env, cwd=scratch, stderr_path=scratch / "server.log") as server:
                for tool, args in CALLS:
                    print(f"\n> {tool} {json.dumps(args)}")
                    is_error, structured, text = await call(server.session, tool, args)
                    if is_error or structured is None:
                        print(f"  ERROR: {clip(text)}")
                        continue
                    for line in summarize(tool, structured):
                        print(f"  {line}")
                    if full_json:
                        print(json.dumps(structured, indent=2))
        finally:
            testbed.stop()
    print(NEXT_STEPS)


if __name__ == "__main__":
    argv = sys.argv[1:]
    full_json = "--json" in argv
    paths = [a for a in argv if a != "--json"]
    if paths:
        os.environ["HEALTHOMICS_ECR_MCP_BIN"] = str(Path(paths[0]).resolve())
    asyncio.run(main(full_json))
