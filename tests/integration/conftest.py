"""Fixtures for the server's integration tests (helpers to import are in mcp_harness.py, e.g. `call`).

- `testbed` (session): serve.py running for the whole session.
- every test starts from an empty account: the testbed is reset before each test.
- `admin(path, payload=None)`: the testbed's admin API, e.g. admin("faults", {...}) or admin("faults") to read.
- `mcp_client(*extra_args, env=None)`: `async with mcp_client("--read-only") as server:` starts the real binary
  over stdio against the testbed, in a hermetic environment (mcp_harness.hermetic_env); `env` entries override
  it and a None value removes a variable. `server.session` is the MCP session, `server.stderr()` its log so far.
"""

import pytest
from account import client, put_registry_statements, registry_grant, usable_cache
from harness import Testbed
from mcp_harness import hermetic_env, mirrors_env, run_server

# Real registries standing in for these upstreams, seeded with the standard test images
# (oci_images.py) as `test/<name>:1`; the server reaches them through --registry-mirror.
UPSTREAMS = "quay.io,community.wave.seqera.io,ghcr.io"


@pytest.fixture(scope="session")
def testbed(tmp_path_factory):
    testbed = Testbed.start(
        tmp_path_factory.mktemp("testbed") / "testbed.log", "--upstream-registries", UPSTREAMS, "--seed-upstreams"
    )
    yield testbed
    testbed.stop()


@pytest.fixture(autouse=True)
def _fresh_account(testbed):
    testbed.admin("reset")


@pytest.fixture
def admin(testbed):
    return testbed.admin


@pytest.fixture
def mcp_client(testbed, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    base_env = hermetic_env(testbed.aws_endpoint, testbed.region, home)
    base_env["HEALTHOMICS_ECR_REGISTRY_MIRRORS"] = mirrors_env(testbed)
    runs = 0

    def start(*extra_args: str, env: dict[str, str | None] | None = None):
        nonlocal runs
        runs += 1
        merged = {**base_env, **(env or {})}
        return run_server(
            list(extra_args),
            {k: v for k, v in merged.items() if v is not None},
            cwd=tmp_path,
            stderr_path=tmp_path / f"server-{runs}.stderr",
        )

    return start


@pytest.fixture
def ecr(testbed):
    """boto3 ECR on the testbed, for setting up and reading back account state."""
    return client(testbed, "ecr")


@pytest.fixture
def sm(testbed):
    """boto3 Secrets Manager on the testbed."""
    return client(testbed, "secretsmanager")


@pytest.fixture
def quay_cache(testbed, ecr):
    """A quay.io pull-through cache HealthOmics can use (rule, template, scoped registry grant)."""
    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(ecr, registry_grant(testbed, "quay"))
