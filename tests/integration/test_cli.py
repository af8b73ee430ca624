"""The command line: every command against the testbed, its exit code in a fine and in a findings case, `--json`
equal to what the MCP tool returns for the same arguments, `--dry-run` changing nothing, `map --output`, and the
exit codes of usage errors (2) and AWS failures (3)."""

import json
import subprocess

import pytest
from account import OMICS, calls, deny, omics_pull, policy
from mcp_harness import REPO_ROOT, call, hermetic_env, mirrors_env, server_binary

OK, FINDINGS, USAGE, AWS = 0, 1, 2, 3


@pytest.fixture
def cli(testbed, tmp_path):
    """Runs the binary with a command in the same hermetic environment the MCP tests give the server."""
    home = tmp_path / "cli-home"
    home.mkdir()
    env = hermetic_env(testbed.aws_endpoint, testbed.region, home)
    env["HEALTHOMICS_ECR_REGISTRY_MIRRORS"] = mirrors_env(testbed)
    env["PATH"] = "/usr/bin:/bin"

    def run(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(server_binary()), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, **(extra_env or {})},
            cwd=tmp_path,
        )

    return run


def json_lines(run: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


async def same_as_mcp(mcp_client, cli_run: subprocess.CompletedProcess, tool: str, args: dict) -> dict:
    """The command's --json output is exactly the tool's structuredContent for the same arguments."""
    (printed,) = json_lines(cli_run)
    async with mcp_client() as server:
        is_error, structured, text = await call(server.session, tool, args)
    assert not is_error, text
    assert printed == structured
    return printed


def repository_names(ecr) -> list[str]:
    return sorted(r["repositoryName"] for r in ecr.describe_repositories()["repositories"])


# validate


async def test_validate_fine_findings_and_json(cli, mcp_client, testbed, ecr, quay_cache):
    fine = cli("validate")
    assert fine.returncode == OK, fine.stdout + fine.stderr
    assert "VALID" in fine.stdout and "NOT VALID" not in fine.stdout
    # A cache HealthOmics cannot use: no template, no registry grant for its prefix.
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")
    found = cli("validate")
    assert found.returncode == FINDINGS, found.stdout + found.stderr
    assert "NOT VALID" in found.stdout and "ecr-public" in found.stdout
    # The suggested fix is shown as the command that makes it.
    assert "healthomics-ecr-mcp cache ecr-public" in found.stdout
    as_json = cli("validate", "--json")
    assert as_json.returncode == FINDINGS
    out = await same_as_mcp(mcp_client, as_json, "ValidateHealthOmicsECRConfig", {})
    assert out["valid"] is False


# repos


async def test_repos_fine_findings_and_json(cli, mcp_client, ecr):
    ecr.create_repository(repositoryName="tools/ok")
    ecr.set_repository_policy(repositoryName="tools/ok", policyText=policy(omics_pull()))
    fine = cli("repos")
    assert fine.returncode == OK, fine.stdout + fine.stderr
    assert "tools/ok" in fine.stdout and "accessible" in fine.stdout
    ecr.create_repository(repositoryName="tools/closed")
    found = cli("repos")
    assert found.returncode == FINDINGS
    assert "tools/closed" in found.stdout and "not_accessible" in found.stdout
    # Only the accessible ones: nothing to report.
    assert cli("repos", "--accessible-only").returncode == OK
    as_json = cli("repos", "--json", "--max-results", "5")
    await same_as_mcp(mcp_client, as_json, "ListECRRepositories", {"max_results": 5})


# rules


async def test_rules_fine_findings_and_json(cli, mcp_client, ecr, quay_cache):
    fine = cli("rules")
    assert fine.returncode == OK, fine.stdout + fine.stderr
    assert "usable" in fine.stdout and "quay" in fine.stdout
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")
    found = cli("rules", "--detail")
    assert found.returncode == FINDINGS
    assert "NOT USABLE ecr-public" in found.stdout
    as_json = cli("rules", "--json", "--detail")
    await same_as_mcp(mcp_client, as_json, "ListPullThroughCacheRules", {"detail": True})


# check


async def test_check_fine_findings_and_json(cli, mcp_client, ecr, quay_cache):
    fine = cli("check", "quay.io/test/amd64:1", "--initiate-pull-through")
    assert fine.returncode == OK, fine.stdout + fine.stderr
    assert "in ECR; HealthOmics: accessible" in fine.stdout
    assert "quay/test/amd64" in repository_names(ecr)
    # No cache serves ghcr.io: not in ECR, and one finding fails the whole run.
    found = cli("check", "quay.io/test/amd64:1", "ghcr.io/test/amd64:1")
    assert found.returncode == FINDINGS, found.stdout + found.stderr
    assert "NOT IN ECR" in found.stdout
    by_name = cli("check", "--repository", "quay/test/amd64", "--tag", "1", "--json")
    assert by_name.returncode == OK
    await same_as_mcp(
        mcp_client, by_name, "CheckContainerAvailability", {"repository_name": "quay/test/amd64", "image_tag": "1"}
    )
    missing = cli("check", "ghcr.io/test/amd64:1", "--json")
    assert missing.returncode == FINDINGS
    await same_as_mcp(mcp_client, missing, "CheckContainerAvailability", {"image_uri": "ghcr.io/test/amd64:1"})


def test_check_with_several_images_is_one_batch_call(cli, quay_cache):
    run = cli("check", "quay.io/test/amd64:1", "ghcr.io/test/amd64:1", "--json")
    assert run.returncode == FINDINGS
    (batch,) = json_lines(run)
    first, second = batch["images"]
    assert first["image"] == "quay.io/test/amd64:1" and first["healthomics_accessible"] == "accessible"
    assert second["image"] == "ghcr.io/test/amd64:1" and second["available"] is False
    assert batch["counts"]["images"] == 2


# clone


async def test_clone_dry_run_changes_nothing_and_equals_the_tool(cli, mcp_client, ecr, admin):
    image = "ghcr.io/test/multiarch:1"
    dry = cli("clone", image, "--dry-run", "--json")
    assert dry.returncode == OK, dry.stderr
    assert repository_names(ecr) == []
    assert "PutImage" not in calls(admin, "registry") and "CreateRepository" not in calls(admin)
    out = await same_as_mcp(mcp_client, dry, "CloneContainerToECR", {"source_image": image, "dry_run": True})
    assert out["dry_run"] is True
    assert repository_names(ecr) == []
    readable = cli("clone", image, "--dry-run")
    assert readable.returncode == OK and "PLAN (dry run)" in readable.stdout


def test_clone_copies_and_grants(cli, ecr):
    run = cli("clone", "ghcr.io/test/multiarch:1")
    assert run.returncode == OK, run.stdout + run.stderr
    assert "verified: yes; HealthOmics: accessible" in run.stdout
    # No terminal: no progress bar drawn on stderr.
    assert "blobs" not in run.stderr
    images = ecr.describe_images(repositoryName="github/test/multiarch")["imageDetails"]
    assert [d["imageTags"] for d in images] == [["1"]]


def test_clone_refusal_is_an_input_error_and_writes_nothing(cli, ecr):
    run = cli("clone", "ghcr.io/test/arm64only:1")
    assert run.returncode == USAGE
    assert "linux/amd64" in run.stderr and run.stdout == ""
    assert repository_names(ecr) == []


def test_clone_flags_for_one_copy_refuse_several_images(cli, ecr):
    run = cli("clone", "ghcr.io/test/amd64:1", "ghcr.io/test/multiarch:1", "--target-repository", "x")
    assert run.returncode == USAGE and "one" in run.stderr
    assert repository_names(ecr) == []


# grant


def current_policy(ecr, name):
    try:
        return json.loads(ecr.get_repository_policy(repositoryName=name)["policyText"])
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        return None


async def test_grant_dry_run_changes_nothing_then_grants(cli, mcp_client, ecr):
    ecr.create_repository(repositoryName="tools/samtools")
    dry = cli("grant", "tools/samtools", "--dry-run", "--json")
    assert dry.returncode == OK, dry.stderr
    assert current_policy(ecr, "tools/samtools") is None
    await same_as_mcp(
        mcp_client, dry, "GrantHealthOmicsRepositoryAccess", {"repository_name": "tools/samtools", "dry_run": True}
    )
    assert current_policy(ecr, "tools/samtools") is None
    done = cli("grant", "tools/samtools")
    assert done.returncode == OK, done.stdout + done.stderr
    assert "accessible now; verified: yes" in done.stdout
    assert current_policy(ecr, "tools/samtools")["Statement"][0]["Principal"] == {"Service": OMICS}


def test_grant_a_deny_blocks_is_a_tool_error_and_changes_nothing(cli, ecr):
    ecr.create_repository(repositoryName="tools/locked")
    deny_pull = {"Sid": "NoOmics", "Effect": "Deny", "Principal": {"Service": OMICS}, "Action": "ecr:BatchGetImage"}
    ecr.set_repository_policy(repositoryName="tools/locked", policyText=policy(deny_pull))
    run = cli("grant", "tools/locked")
    # The tool refuses (code `conflict`): any tool error other than invalid_input exits 3.
    assert run.returncode == AWS, run.stdout + run.stderr
    assert "NoOmics" in run.stderr and "How to fix:" in run.stderr
    assert current_policy(ecr, "tools/locked")["Statement"] == [deny_pull]


def test_grant_under_read_only_is_refused_but_dry_run_is_not(cli, ecr):
    ecr.create_repository(repositoryName="tools/samtools")
    refused = cli("--read-only", "grant", "tools/samtools")
    assert refused.returncode == USAGE and "--read-only" in refused.stderr
    assert current_policy(ecr, "tools/samtools") is None
    assert cli("grant", "tools/samtools", "--dry-run", "--read-only").returncode == OK


# map


async def test_map_output_writes_the_map_and_json_equals_the_tool(cli, mcp_client, tmp_path, quay_cache):
    target = tmp_path / "map.json"
    covered = cli("map", "--image", "quay.io/test/amd64:1", "--output", str(target))
    assert covered.returncode == OK, covered.stdout + covered.stderr
    written = json.loads(target.read_text())
    assert written == {
        "registryMappings": [{"upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay"}],
        "imageMappings": [],
    }
    as_json = cli("map", "--image", "quay.io/test/amd64:1", "--json")
    out = await same_as_mcp(
        mcp_client, as_json, "CreateContainerRegistryMap", {"container_images": ["quay.io/test/amd64:1"]}
    )
    assert out["container_registry_map"] == written


def test_map_with_an_uncovered_image_is_a_finding(cli, quay_cache):
    run = cli("map", "--image", "quay.io/test/amd64:1", "--image", "ghcr.io/test/amd64:1")
    assert run.returncode == FINDINGS, run.stdout + run.stderr
    assert "NOT COVERED  ghcr.io/test/amd64:1" in run.stdout
    assert "1 covered, 1 not covered" in run.stdout


def test_map_of_a_local_workflow(cli, quay_cache):
    workflows = REPO_ROOT / "tests" / "workflows"
    run = cli("map", str(workflows), "--json")
    assert run.returncode in (OK, FINDINGS), run.stderr
    (out,) = json_lines(run)
    assert out["coverage"]["summary"]["total"] >= 1
    assert run.returncode == (OK if out["coverage"]["all_covered"] else FINDINGS)


# cache


async def test_cache_dry_run_changes_nothing_then_creates(cli, mcp_client, ecr):
    dry = cli("cache", "quay", "--dry-run", "--json")
    assert dry.returncode == OK, dry.stderr
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    await same_as_mcp(
        mcp_client, dry, "CreatePullThroughCacheForHealthOmics", {"upstream_registry": "quay", "dry_run": True}
    )
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    done = cli("cache", "quay")
    assert done.returncode == OK, done.stdout + done.stderr
    assert done.stdout.startswith("READY: cache quay")
    assert cli("rules").returncode == OK


# usage and AWS errors


@pytest.mark.parametrize(
    "args",
    [
        ("check",),  # no image
        ("grant",),  # no repository
        ("repos", "--no-such-flag"),
        ("check", "x:1", "--repository", "y"),  # one or the other
        ("repos", "--max-results", "0"),  # the tool's invalid_input
        ("validate", "--registry-map", "/no/such/file.json"),
    ],
)
def test_usage_errors_exit_2(cli, args):
    run = cli(*args)
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert run.stderr.strip() and run.stdout == ""


def test_an_aws_failure_exits_3_with_the_fix_on_stderr(cli, admin, ecr):
    ecr.create_repository(repositoryName="tools/samtools")
    deny(admin, "ecr", "DescribeRepositories")
    run = cli("repos")
    assert run.returncode == AWS, run.stdout + run.stderr
    assert "ecr:DescribeRepositories" in run.stderr and "How to fix:" in run.stderr
    assert run.stdout == ""


def test_an_aws_failure_with_json_prints_the_error_object(cli, admin, ecr):
    ecr.create_repository(repositoryName="tools/samtools")
    deny(admin, "ecr", "GetRepositoryPolicy")
    run = cli("grant", "tools/samtools", "--json")
    assert run.returncode == AWS, run.stdout + run.stderr
    (out,) = json_lines(run)
    assert out["error"]["code"] == "access_denied"
    assert current_policy(ecr, "tools/samtools") is None


def test_global_flags_work_after_the_command(cli, testbed):
    # A region given after the command reaches the call: the testbed answers for us-west-2 too.
    run = cli("rules", "--json", "--region", "us-west-2")
    assert run.returncode == OK, run.stderr
    (out,) = json_lines(run)
    assert out["region"] == "us-west-2"


def test_no_command_is_still_the_server(cli):
    # stdin closed before initialize: the server exits cleanly, as without the command line.
    run = subprocess.run(
        [str(server_binary()), "serve", "--region", "us-east-1"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0 and run.stdout == ""



def test_clone_with_several_images_is_one_batch_and_keeps_the_exit_code_of_a_refused_image(cli, ecr):
    run = cli("clone", "ghcr.io/test/amd64:1", "ghcr.io/test/arm64only:1", "--json")
    assert run.returncode == USAGE, run.stderr
    (batch,) = json_lines(run)
    ok, refused = batch["images"]
    assert ok["ecr_uri"].endswith(batch["image_mappings"][0]["destinationImage"].split("/", 1)[1])
    assert "linux/amd64" in refused["error"]
    assert repository_names(ecr) == ["github/test/amd64"], "the refused image wrote nothing"
