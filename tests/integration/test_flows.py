"""The seed guide's two end-to-end flows, each through the real server as an assistant would drive it."""

import json
from pathlib import Path

from account import client
from mcp_harness import call

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"


async def test_new_workflow_with_pull_through_caches(mcp_client, testbed):
    """Quick reference "New Workflow": create caches, validate, use ECR URIs."""
    async with mcp_client() as server:
        s = server.session
        for registry in ("quay", "ecr-public"):
            is_error, out, text = await call(s, "CreatePullThroughCacheForHealthOmics", {"upstream_registry": registry})
            assert not is_error, text
            # A verified success leaves the rule's audit to detail=true.
            assert out["success"] is True and "rule" not in out
        is_error, report, text = await call(s, "ValidateHealthOmicsECRConfig")
        assert not is_error and report["valid"] is True, report["issues"]
        assert report["pull_through_caches_checked"] == 2
        _, rules, _ = await call(s, "ListPullThroughCacheRules")
        assert all(r["healthomics_usable"] for r in rules["rules"])
    # The ECR URIs a new workflow uses follow the cache's naming, in the region and account used.
    assert out["example_image_uri"].startswith(
        f"{testbed.account_id}.dkr.ecr.{testbed.region}.amazonaws.com/ecr-public/"
    )


async def test_migrate_an_existing_workflow_with_a_registry_map(mcp_client, testbed, sm):
    """Quick reference "Migrate Existing Workflow": caches for its registries, a registry map covering its
    images (copy mappings for registries HealthOmics copies itself), then CreateWorkflow with the map."""
    wave_secret = sm.create_secret(Name="omics-registry/seqera", SecretString='{"username":"u","accessToken":"t"}')
    nextflow = str(WORKFLOWS / "nextflow")
    async with mcp_client() as server:
        s = server.session
        # What does the pipeline need? Coverage before anything exists.
        _, before, _ = await call(s, "CreateContainerRegistryMap", {"workflow_definition": nextflow})
        assert before["coverage"]["all_covered"] is False
        # Follow the suggested fixes: create the caches it asks for.
        for fix in before["coverage"]["fixes"]:
            call_spec = fix["fix"]
            if call_spec.get("tool") != "CreatePullThroughCacheForHealthOmics":
                continue
            args = dict(call_spec["arguments"])
            if "username and access_token" in call_spec["why"]:  # no secret to reuse: it asks for them
                args.update(username="ci-bot", access_token="ghp_not_a_real_token")
            is_error, out, text = await call(s, "CreatePullThroughCacheForHealthOmics", args)
            assert not is_error, text
        # Copy registries HealthOmics serves itself, with their credential.
        copy_hosts = sorted(
            {
                f["fix"]["mapping"]["upstreamRegistryUrl"]
                for f in before["coverage"]["fixes"]
                if f["fix"].get("kind") == "add_copy_mapping"
            }
        )
        assert copy_hosts == ["community.wave.seqera.io", "nvcr.io"]
        is_error, after, text = await call(
            s,
            "CreateContainerRegistryMap",
            {
                "workflow_definition": nextflow,
                "healthomics_copy_registries": [
                    {"upstream_registry_url": host, "credential_arn": wave_secret["ARN"]} for host in copy_hosts
                ],
            },
        )
        assert not is_error, text
        assert after["coverage"]["all_covered"] is True, [
            (i["image"], i["problems"]) for i in after["coverage"]["images"] if not i["covered"]
        ]
        container_map = after["container_registry_map"]
    # The assistant hands the map to CreateWorkflow; HealthOmics stores it.
    omics = client(testbed, "omics")
    created = omics.create_workflow(
        name="migrated",
        engine="NEXTFLOW",
        requestId="m1",
        definitionZip=b"PK\x05\x06" + b"\x00" * 18,
        containerRegistryMap=container_map,
    )
    stored = omics.get_workflow(id=created["id"])["containerRegistryMap"]
    assert json.loads(json.dumps(stored)) == container_map
    async with mcp_client() as server:
        is_error, report, text = await call(
            server.session, "ValidateHealthOmicsECRConfig", {"workflow_id": created["id"]}
        )
    assert not is_error, text
    assert not [i for i in report["issues"] if i["component"] == "registry_map" and i["severity"] == "error"]
