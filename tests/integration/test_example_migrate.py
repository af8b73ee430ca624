"""examples/migrate-without-aws.sh, the README's worked migration, runs from start to end: every step exits as the
README shows (the script checks each), the pipeline ends covered and valid, the token never shows, and the testbed
it started is gone afterwards."""

import os
import re
import subprocess
import time

import pytest
from mcp_harness import REPO_ROOT, server_binary

SCRIPT = REPO_ROOT / "examples" / "migrate-without-aws.sh"


@pytest.fixture(autouse=True)
def _fresh_account():
    """The script starts a testbed of its own: the session's is not needed."""


def serve_processes() -> set[int]:
    pattern = "tests/testbed/serve.py --seed-sample --seed-upstreams"
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def test_the_worked_migration_runs_and_leaves_nothing_running():
    before = serve_processes()
    env = {**os.environ, "HEALTHOMICS_ECR_MCP_BIN": str(server_binary())}
    run = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=300, env=env, cwd=REPO_ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    steps = re.findall(r"^\$ (healthomics-ecr-mcp \w+.*)\n", out, flags=re.M)
    assert [s.split()[1] for s in steps] == ["prepare", "prepare", "map", "validate", "prepare"], steps
    assert re.findall(r"^\[exit (\d)\]$", out, flags=re.M) == ["1", "0", "0", "0", "0"]
    assert "credentials needed:" in out and "Applied. 8 of 8 image(s) covered" in out
    assert "images: 8 covered, 0 not covered (of 8)" in out
    assert "VALID: HealthOmics can use this setup." in out
    assert "Nothing changed: everything was already in place." in out
    assert "ghp_stand_in_token_never_printed" not in out + run.stderr
    # The testbed (and its registries) stopped with the script.
    deadline = time.monotonic() + 10
    while serve_processes() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not serve_processes() - before
