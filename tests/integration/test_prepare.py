"""PrepareWorkflowContainers end to end: a workflow of eight images on five real upstream registries goes from an
empty account to a validated map in two calls (dry run, then apply), and a third call changes nothing.

The upstreams are real docker-registry processes (tests/testbed/upstreams.py) seeded with the standard test images;
this module runs its own testbed because it needs two stand-ins more than the session's (ECR Public, Docker Hub).
"""

import json
from pathlib import Path

import pytest
from account import calls, client
from harness import Testbed
from mcp_harness import call

WORKFLOW = Path(__file__).resolve().parents[1] / "workflows" / "prepare"
UPSTREAMS = "quay.io,community.wave.seqera.io,ghcr.io,public.ecr.aws,registry-1.docker.io"
PREPARE = "PrepareWorkflowContainers"
IMAGES = {
    "quay.io/test/amd64:1",
    "quay.io/test/multiarch:1",
    "public.ecr.aws/test/amd64:1",
    "registry-1.docker.io/test/amd64:1",
    "registry-1.docker.io/test/multiarch:1",
    "ghcr.io/test/amd64:1",
    "ghcr.io/test/multiarch:1",
    "community.wave.seqera.io/test/amd64:1",
}
DOCKER_HUB = {"registry": "docker-hub", "username": "ci-bot", "access_token": "dckr_pat_not_a_real_token"}


@pytest.fixture(scope="module")
def testbed(tmp_path_factory):
    testbed = Testbed.start(
        tmp_path_factory.mktemp("testbed-prepare") / "testbed.log",
        "--upstream-registries",
        UPSTREAMS,
        "--seed-upstreams",
    )
    yield testbed
    testbed.stop()


def rows(out: dict) -> dict[str, dict]:
    return {row["image"]: row for row in out["images"]}


async def test_a_mixed_registry_workflow_is_ready_in_two_calls_and_a_third_changes_nothing(
    mcp_client, testbed, ecr, admin
):
    args = {"workflow_definition": str(WORKFLOW), "credentials": [DOCKER_HUB]}
    async with mcp_client() as server:
        s = server.session
        # 1. Dry run: the plan, and nothing changed.
        is_error, plan, plan_text = await call(s, PREPARE, args)
        assert not is_error, plan_text
        text = plan_text
        assert plan["dry_run"] is True and plan["changed"] is True, plan["message"]
        assert set(rows(plan)) == IMAGES
        routes = {image: row["route"] for image, row in rows(plan).items()}
        assert routes["quay.io/test/amd64:1"] == "cache"
        assert routes["public.ecr.aws/test/amd64:1"] == "cache"
        assert routes["registry-1.docker.io/test/amd64:1"] == "cache"
        # GHCR needs credentials the call does not give and the account does not hold: asked for once, cloned.
        assert routes["ghcr.io/test/amd64:1"] == "clone" and routes["ghcr.io/test/multiarch:1"] == "clone"
        assert [n["registry"] for n in plan["credentials_needed"]] == ["ghcr.io"]
        # Seqera Wave without a secret for HealthOmics to copy with: cloned.
        assert routes["community.wave.seqera.io/test/amd64:1"] == "clone"
        prefixes = sorted(c["ecr_repository_prefix"] for c in plan["caches"])
        assert prefixes == ["docker-hub", "ecr-public", "quay"]
        docker = next(c for c in plan["caches"] if c["ecr_repository_prefix"] == "docker-hub")
        assert docker["credential"] == "new secret from the given credentials"
        assert "dckr_pat_not_a_real_token" not in text
        assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
        assert ecr.describe_repositories()["repositories"] == []
        planned_map = plan["container_registry_map"]
        assert sorted(m["ecrRepositoryPrefix"] for m in planned_map["registryMappings"]) == prefixes
        assert len(planned_map["imageMappings"]) == 3

        # 2. Apply: caches, clones, warm pulls; the map read back covers every image.
        admin("calls/reset")
        is_error, applied, applied_text = await call(s, PREPARE, {**args, "dry_run": False})
        assert not is_error, applied_text
        # The four warm pulls judge their caches from one read of the rules, registry policy and
        # templates (16 of each kind were read when each warm pull judged its own cache).
        made = calls(admin)
        assert made["DescribePullThroughCacheRules"] <= 12 and made["GetRegistryPolicy"] <= 12, made
        assert applied["success"] is True and applied["changed"] is True, applied["message"]
        assert applied["all_covered"] is True, [r for r in applied["images"] if not r.get("covered")]
        assert all(row["covered"] for row in applied["images"])
        assert all(c["status"].startswith("created") for c in applied["caches"]), applied["caches"]
        container_map = applied["container_registry_map"]
        assert len(container_map["imageMappings"]) == 3
        assert all("@sha256:" in m["destinationImage"] for m in container_map["imageMappings"])
        # Every cached image is in ECR now (warmed), every clone too.
        repositories = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
        assert {"quay/test/amd64", "quay/test/multiarch", "ecr-public/test/amd64", "docker-hub/test/amd64"} <= (
            repositories
        )
        # The run-role policy names every repository the map pulls from: the cache prefixes and the clones.
        resources = json.dumps(applied["run_role_policy"])
        for prefix in prefixes:
            assert f"repository/{prefix}/*" in resources
        for mapping in container_map["imageMappings"]:
            repository = mapping["destinationImage"].split("/", 1)[1].split("@")[0].rsplit(":", 1)[0]
            assert f"repository/{repository}" in resources, (repository, resources)

        # The map validates, and CreateContainerRegistryMap agrees every image is covered.
        is_error, report, text = await call(s, "ValidateHealthOmicsECRConfig", {"container_registry_map": container_map})
        assert not is_error, text
        assert report["valid"] is True, report["issues"]
        is_error, mapped, text = await call(
            s,
            "CreateContainerRegistryMap",
            {"workflow_definition": str(WORKFLOW), "image_mappings": container_map["imageMappings"]},
        )
        assert not is_error, text
        assert mapped["coverage"]["all_covered"] is True, mapped["coverage"]["summary"]

        # 3. Again: nothing to change, and it says so.
        is_error, again, again_text = await call(s, PREPARE, {**args, "dry_run": False})
        assert not is_error, again_text
        # What the migration costs an assistant's context (printed with -s; a record, not a bound).
        print(
            f"\nmigration of {len(IMAGES)} images: dry run {len(plan_text)} B, apply {len(applied_text)} B, "
            f"repeat {len(again_text)} B of result text"
        )
        assert again["changed"] is False and again["all_covered"] is True, again
        assert again["message"].startswith("Nothing changed"), again["message"]
        assert "caches" not in again  # every cache is usable now: none to create
        assert again["container_registry_map"] == container_map


async def test_an_existing_secret_serves_the_cache_and_the_map_tool_names_it(mcp_client, testbed, sm):
    """A secret the account already holds for GHCR is used, never a placeholder, and no credentials are asked for."""
    secret = sm.create_secret(Name="ecr-pullthroughcache/github", SecretString='{"username":"u","accessToken":"t"}')
    async with mcp_client() as server:
        s = server.session
        is_error, mapped, text = await call(s, "CreateContainerRegistryMap", {"container_images": ["ghcr.io/test/amd64:1"]})
        assert not is_error, text
        (fix,) = mapped["coverage"]["fixes"]
        assert fix["fix"]["tool"] == "CreatePullThroughCacheForHealthOmics"
        assert fix["fix"]["arguments"]["credential_arn"] == secret["ARN"]
        assert "<" not in json.dumps(fix)
        is_error, plan, text = await call(
            s, PREPARE, {"workflow_definition": str(WORKFLOW / "main.nf"), "credentials": [DOCKER_HUB]}
        )
        assert not is_error, text
        assert "credentials_needed" not in plan
        github = next(c for c in plan["caches"] if c["upstream_registry_url"] == "ghcr.io")
        assert github["credential"] == f"existing secret {secret['ARN']}"


async def test_the_read_only_server_hides_it(mcp_client):
    async with mcp_client("--read-only") as server:
        names = {t.name for t in (await server.session.list_tools()).tools}
    assert PREPARE not in names and "CreateContainerRegistryMap" in names
