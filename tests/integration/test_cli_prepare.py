"""`prepare` on the command line: the PrepareWorkflowContainers handler behind flags. A dry run changes nothing and
exits 1 while something needs doing; `--apply` then a second run exits 0 with nothing changed; `--json` is the
tool's structuredContent; `--output` writes a map `validate` accepts and `map --registry-map` starts from; a user's
token comes from the environment, never from argv, and is never printed.

It runs on test_prepare.py's testbed (five upstream stand-ins) and its workflow, with test_cli.py's `cli`."""

import json

from account import calls, client, deny
from test_cli import AWS, FINDINGS, OK, USAGE, cli, json_lines, same_as_mcp  # noqa: F401  (cli: a fixture)
from test_prepare import IMAGES, PREPARE, WORKFLOW, testbed  # noqa: F401  (testbed: the module's own)
from test_registry_map import zip_folder

# Tokens only ever in the environment; the tests look for them in every output.
TOKENS = {
    "HEALTHOMICS_ECR_TOKEN_DOCKER_HUB": "dckr_pat_cli_not_real",
    "HEALTHOMICS_ECR_TOKEN_GHCR_IO": "ghp_cli_not_real",
}
CREDENTIALS = ("--credential", "docker-hub=ci-bot", "--credential", "ghcr.io=octo")
WRITES = {"CreateRepository", "CreatePullThroughCacheRule", "PutRegistryPolicy", "SetRepositoryPolicy"}


def no_token_in(*runs) -> None:
    for run in runs:
        for token in TOKENS.values():
            assert token not in run.stdout and token not in run.stderr


def test_a_dry_run_changes_nothing_and_exits_1_while_something_needs_doing(cli, admin, ecr):
    dry = cli("prepare", str(WORKFLOW), "--credential", "docker-hub=ci-bot", extra_env=TOKENS)
    assert dry.returncode == FINDINGS, dry.stdout + dry.stderr
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    assert ecr.describe_repositories()["repositories"] == []
    assert not WRITES & set(calls(admin)), calls(admin)
    assert "CreateSecret" not in calls(admin, "secretsmanager")
    # The readable view: the caches, the credentials still needed (GHCR), a line per image, the next step.
    assert "registry-1.docker.io → docker-hub" in dry.stdout
    assert "credentials needed:" in dry.stdout and "HEALTHOMICS_ECR_TOKEN_GHCR_IO" in dry.stdout
    for image in IMAGES:
        assert image in dry.stdout
    assert f"next: healthomics-ecr-mcp prepare {WORKFLOW} --credential docker-hub=ci-bot --apply" in dry.stdout
    no_token_in(dry)


async def test_apply_then_a_second_run_exits_0_and_the_output_map_validates(cli, tmp_path, testbed):
    target = tmp_path / "map.json"
    # Every credential given: nothing is asked for, yet the plan still has changes to make.
    planned = cli("prepare", str(WORKFLOW), *CREDENTIALS, extra_env=TOKENS)
    assert planned.returncode == FINDINGS, planned.stdout + planned.stderr
    assert "credentials needed" not in planned.stdout
    applied = cli(
        "prepare", str(WORKFLOW), *CREDENTIALS, "--apply", "--output", str(target), "--json", extra_env=TOKENS
    )
    assert applied.returncode == OK, applied.stdout + applied.stderr
    (out,) = json_lines(applied)
    assert out["success"] and out["changed"] and out["all_covered"], out["message"]
    assert {row["image"] for row in out["images"]} == IMAGES
    # The token reached Secrets Manager through the environment only.
    secret = client(testbed, "secretsmanager").get_secret_value(SecretId="ecr-pullthroughcache/github")
    assert json.loads(secret["SecretString"])["accessToken"] == TOKENS["HEALTHOMICS_ECR_TOKEN_GHCR_IO"]
    written = json.loads(target.read_text())
    assert written == out["container_registry_map"]
    assert {m["ecrRepositoryPrefix"] for m in written["registryMappings"]} >= {"quay", "docker-hub", "github"}
    validated = cli("validate", "--registry-map", str(target), "--json")
    (report,) = json_lines(validated)
    assert report["valid"] is True, report["issues"]
    # `map` alone does not know the clone (Seqera); started from the written map it covers every image again.
    alone = cli("map", str(WORKFLOW))
    assert alone.returncode == FINDINGS, alone.stdout + alone.stderr
    assert "NOT COVERED  community.wave.seqera.io/test/amd64:1" in alone.stdout
    assert "error: not_mapped" in alone.stdout
    remapped = tmp_path / "remapped.json"
    again_map = cli("map", str(WORKFLOW), "--registry-map", str(target), "--output", str(remapped))
    assert again_map.returncode == OK, again_map.stdout + again_map.stderr
    assert json.loads(remapped.read_text()) == written

    again = cli("prepare", str(WORKFLOW), *CREDENTIALS, "--apply", extra_env=TOKENS)
    assert again.returncode == OK, again.stdout + again.stderr
    assert "Nothing changed" in again.stdout
    assert "NOT COVERED" not in again.stdout
    dry = cli("prepare", str(WORKFLOW), *CREDENTIALS, extra_env=TOKENS)
    assert dry.returncode == OK, dry.stdout + dry.stderr
    assert "nothing to change" in dry.stdout
    no_token_in(applied, again, dry)


async def test_json_is_the_tools_structured_content(cli, mcp_client, sm):
    dry = cli("prepare", str(WORKFLOW), "--json")
    assert dry.returncode == FINDINGS, dry.stderr
    out = await same_as_mcp(mcp_client, dry, PREPARE, {"workflow_definition": str(WORKFLOW)})
    assert out["dry_run"] is True and out["changed"] is True
    # A secret named by ARN is the tool's credential_arn: the same plan as through MCP, and GHCR is cached.
    secret = sm.create_secret(Name="ecr-pullthroughcache/gh-ci", SecretString='{"username":"u","accessToken":"t"}')
    with_arn = cli("prepare", str(WORKFLOW), "--credential", f"ghcr.io={secret['ARN']}", "--json")
    out = await same_as_mcp(
        mcp_client,
        with_arn,
        PREPARE,
        {
            "workflow_definition": str(WORKFLOW),
            "credentials": [{"registry": "ghcr.io", "credential_arn": secret["ARN"]}],
        },
    )
    github = next(c for c in out["caches"] if c["upstream_registry_url"] == "ghcr.io")
    assert github["credential"] == f"existing secret {secret['ARN']}"


def test_a_missing_token_is_an_input_error_naming_its_variable(cli, ecr):
    run = cli("prepare", str(WORKFLOW), "--credential", "ghcr.io=octo", "--apply")
    assert run.returncode == USAGE, run.stdout + run.stderr
    assert "HEALTHOMICS_ECR_TOKEN_GHCR_IO" in run.stderr
    assert ecr.describe_repositories()["repositories"] == []


def test_apply_under_read_only_is_refused_but_the_plan_is_not(cli, ecr):
    refused = cli("--read-only", "prepare", str(WORKFLOW), "--apply")
    assert refused.returncode == USAGE and "--read-only" in refused.stderr
    planned = cli("--read-only", "prepare", str(WORKFLOW))
    assert planned.returncode == FINDINGS, planned.stderr
    assert ecr.describe_repositories()["repositories"] == []


def test_a_healthomics_workflow_is_prepared_from_its_own_definition(cli, testbed):
    omics = client(testbed, "omics")
    created = omics.create_workflow(
        name="prepare-cli", engine="NEXTFLOW", requestId="p1", definitionZip=zip_folder(WORKFLOW)
    )
    by_id = cli("prepare", "--workflow-id", created["id"], "--json")
    assert by_id.returncode == FINDINGS, by_id.stdout + by_id.stderr
    (out,) = json_lines(by_id)
    assert {row["image"] for row in out["images"]} == IMAGES
    (local,) = json_lines(cli("prepare", str(WORKFLOW), "--json"))
    assert out["images"] == local["images"]
    assert cli("prepare", str(WORKFLOW), "--workflow-id", created["id"]).returncode == USAGE


def test_an_aws_failure_exits_3_and_changes_nothing(cli, admin, ecr):
    deny(admin, "ecr", "DescribePullThroughCacheRules")
    run = cli("prepare", str(WORKFLOW), "--apply")
    assert run.returncode == AWS, run.stdout + run.stderr
    assert "ecr:DescribePullThroughCacheRules" in run.stderr and run.stdout == ""
    assert ecr.describe_repositories()["repositories"] == []
