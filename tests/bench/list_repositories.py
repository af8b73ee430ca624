"""Benchmark: ListECRRepositories over 200 repositories with 20 ms of AWS latency, against a baseline measured
in the same run — the Python reference server's approach (one DescribeRepositories page, then GetRepositoryPolicy
for each repository, one after another), done with boto3 against the same testbed.

Prints times and the ratio; asserts nothing (timings are not tests). Run:
`.venv/bin/python tests/bench/list_repositories.py [path/to/healthomics-ecr-mcp]`.
"""

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "testbed"), str(REPO / "tests" / "integration")]

from account import client, omics_pull, policy  # noqa: E402
from harness import Testbed  # noqa: E402
from mcp_harness import call, hermetic_env, run_server  # noqa: E402

REPOSITORIES = 200
LATENCY_MS = 20


def baseline(ecr) -> float:
    started = time.perf_counter()
    repos = ecr.describe_repositories(maxResults=1000)["repositories"]
    for repo in repos:
        try:
            ecr.get_repository_policy(repositoryName=repo["repositoryName"])
        except ecr.exceptions.RepositoryPolicyNotFoundException:
            pass
    return time.perf_counter() - started


async def ours(testbed, scratch: Path) -> float:
    env = hermetic_env(testbed.aws_endpoint, testbed.region, scratch)
    async with run_server([], env, cwd=scratch, stderr_path=scratch / "server.log") as server:
        await call(server.session, "ListECRRepositories", {"max_results": 1})  # clients built, account known
        started = time.perf_counter()
        is_error, out, text = await call(server.session, "ListECRRepositories", {"max_results": 1000})
        elapsed = time.perf_counter() - started
    assert not is_error and out["total_count"] == REPOSITORIES, text
    return elapsed


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        testbed = Testbed.start(scratch / "testbed.log")
        try:
            ecr = client(testbed, "ecr")
            for i in range(REPOSITORIES):
                ecr.create_repository(repositoryName=f"bench/repo-{i:03d}")
                if i % 2:
                    ecr.set_repository_policy(repositoryName=f"bench/repo-{i:03d}", policyText=policy(omics_pull()))
            testbed.admin("latency", {"ms": LATENCY_MS})
            base = baseline(ecr)
            mine = await ours(testbed, scratch)
        finally:
            testbed.stop()
    print(json.dumps({
        "repositories": REPOSITORIES,
        "latency_ms": LATENCY_MS,
        "baseline_sequential_s": round(base, 3),
        "healthomics_ecr_mcp_s": round(mine, 3),
        "speedup": round(base / mine, 2),
    }))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.environ["HEALTHOMICS_ECR_MCP_BIN"] = str(Path(sys.argv[1]).resolve())
    asyncio.run(main())
