"""Try the server without an AWS account: starts the local testbed with a small demo account, starts the built
server over stdio with the official MCP Python client, and prints what each tool answers.

Run it with `examples/try-without-aws.sh` (which prepares .venv and builds the binary), or directly:
`.venv/bin/python examples/try_it.py [path/to/healthomics-ecr-mcp]`.
"""

import asyncio
import json
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


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        testbed = Testbed.start(scratch / "testbed.log", "--seed-sample")
        try:
            env = hermetic_env(testbed.aws_endpoint, testbed.region, scratch)
            async with run_server([], env, cwd=scratch, stderr_path=scratch / "server.log") as server:
                for tool, args in CALLS:
                    print(f"\n### {tool} {json.dumps(args)}")
                    is_error, structured, text = await call(server.session, tool, args)
                    print(("ERROR " if is_error else "") + json.dumps(structured, indent=2)[:4000])
        finally:
            testbed.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        import os

        os.environ["HEALTHOMICS_ECR_MCP_BIN"] = str(Path(sys.argv[1]).resolve())
    asyncio.run(main())
