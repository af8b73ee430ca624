"""CreateContainerRegistryMap: discovered caches, user and image mappings, copy registries, API limits, and
coverage of real workflow definitions (WDL, Nextflow, CWL) and of a HealthOmics workflow."""

import json
from pathlib import Path

import pytest
from account import client, deny, put_registry_statements, registry_grant, usable_cache
from mcp_harness import call

TOOL = "CreateContainerRegistryMap"
WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
WAVE = "community.wave.seqera.io"


@pytest.fixture
def caches(testbed, ecr):
    """quay usable; ecr-public exists but HealthOmics cannot use it (no grant, no template)."""
    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(ecr, registry_grant(testbed, "quay"))
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")


@pytest.fixture
def wave_secret(sm):
    return sm.create_secret(Name="omics-registry/seqera", SecretString='{"username":"u","accessToken":"t"}')["ARN"]


async def build(mcp_client, **args):
    async with mcp_client() as server:
        return await call(server.session, TOOL, args)


async def test_only_usable_caches_are_mapped_and_the_rest_explained(mcp_client, caches):
    is_error, out, text = await build(mcp_client)
    assert not is_error, text
    assert out["container_registry_map"]["registryMappings"] == [
        {"upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay"}
    ]
    assert out["discovered_healthomics_usable_caches"] == 1
    (excluded,) = out["excluded_caches"]
    assert excluded["ecr_repository_prefix"] == "ecr-public" and excluded["reasons"]
    # One copy of the map unless the text form is asked for.
    assert "json_output" not in out
    is_error, out, text = await build(mcp_client, output_format="json")
    assert not is_error, text
    assert json.loads(out["json_output"]) == out["container_registry_map"]


async def test_user_and_image_mappings_keep_every_field_and_shape_the_output(mcp_client, caches, tmp_path, testbed):
    other = "210987654321"
    user = {
        "upstreamRegistryUrl": "quay.io",
        "ecrRepositoryPrefix": "quay-bio",
        "upstreamRepositoryPrefix": "biocontainers",
        "ecrAccountId": other,
    }
    image = {
        "sourceImage": "ubuntu:22.04",
        "destinationImage": f"{other}.dkr.ecr.us-west-2.amazonaws.com/base/ubuntu:22.04",
    }
    out_file = tmp_path / "container-registry-map.json"
    is_error, out, text = await build(
        mcp_client,
        additional_registry_mappings=[user],
        image_mappings=[image],
        ecr_account_id=other,
        ecr_region="us-west-2",
        include_pull_through_caches=False,
        output_format="dict",
    )
    assert not is_error, text
    assert out["region"] == "us-west-2" and out["account_id"] == testbed.account_id
    assert out["container_registry_map"] == {"registryMappings": [user], "imageMappings": [image]}
    assert "json_output" not in out
    # The tool writes no files: a path argument is refused as an unknown parameter.
    is_error, again, _ = await build(mcp_client, include_pull_through_caches=False, output_path=str(out_file))
    assert is_error and again["error"]["code"] == "invalid_input"
    assert not out_file.exists()


async def test_api_limits_are_checked_locally(mcp_client):
    bad = [
        {"upstreamRegistryUrl": "https://quay.io/", "ecrRepositoryPrefix": "quay"},
        {"upstreamRegistryUrl": "ghcr.io", "ecrRepositoryPrefix": "gh", "ecrAccountId": "1234"},
        {"upstreamRegistryUrl": "registry.gitlab.com", "ecrRepositoryPrefix": "gl", "upstreamRepositoryPrefix": "x"},
    ]
    is_error, out, text = await build(mcp_client, additional_registry_mappings=bad, include_pull_through_caches=False)
    assert is_error and out["error"]["code"] == "invalid_input"
    fields = {f["field"] for f in out["error"]["details"]["findings"] if f["severity"] == "error"}
    assert "additional_registry_mappings[1].ecrAccountId" in fields or "registryMappings[1].ecrAccountId" in fields
    assert any("upstreamRepositoryPrefix" in f for f in fields)
    assert any(f.endswith("[0].upstreamRegistryUrl") for f in fields)


async def test_copy_registries_get_their_credential_and_missing_ones_are_errors(mcp_client, wave_secret, sm):
    is_error, out, text = await build(
        mcp_client,
        include_pull_through_caches=False,
        healthomics_copy_registries=[{"upstream_registry_url": WAVE, "credential_arn": wave_secret}],
    )
    assert not is_error, text
    (mapping,) = out["container_registry_map"]["registryMappings"]
    assert mapping["upstreamRegistryUrl"] == WAVE and mapping["credentialArn"] == wave_secret
    # A copy-host mapping without credentialArn cannot work.
    is_error, out, _ = await build(
        mcp_client,
        include_pull_through_caches=False,
        additional_registry_mappings=[{"upstreamRegistryUrl": "nvcr.io", "ecrRepositoryPrefix": "ngc"}],
    )
    assert is_error and "credentialArn" in out["error"]["message"]
    # A secret that does not exist is flagged, never read.
    missing = wave_secret.replace("seqera", "gone")
    is_error, out, text = await build(
        mcp_client,
        include_pull_through_caches=False,
        healthomics_copy_registries=[{"upstream_registry_url": "nvcr.io", "credential_arn": missing}],
    )
    assert not is_error, text
    assert any("does not exist" in f["message"] for f in out["findings"])
    # Pull-through cache hosts are not copy hosts.
    is_error, out, _ = await build(
        mcp_client,
        healthomics_copy_registries=[{"upstream_registry_url": "quay.io", "credential_arn": wave_secret}],
    )
    assert is_error and "CreatePullThroughCacheForHealthOmics" in out["error"]["remediation"]


async def test_near_miss_hosts_are_flagged(mcp_client, wave_secret):
    is_error, out, text = await build(
        mcp_client,
        include_pull_through_caches=False,
        additional_registry_mappings=[
            {"upstreamRegistryUrl": "wave.seqera.io", "ecrRepositoryPrefix": "wave", "credentialArn": wave_secret}
        ],
        container_images=[f"{WAVE}/library/samtools:1.21--abc@sha256:{'a' * 64}"],
    )
    assert not is_error, text
    (image,) = out["coverage"]["images"]
    assert image["covered"] is False
    assert WAVE in json.dumps(image) and "wave.seqera.io" in json.dumps(image["mapping_notes"] or image["problems"])


@pytest.mark.parametrize("engine,expected_uncovered", [("wdl", 2), ("nextflow", 4), ("cwl", 2)])
async def test_coverage_of_each_workflow_language(mcp_client, caches, engine, expected_uncovered):
    is_error, out, text = await build(mcp_client, workflow_definition=str(WORKFLOWS / engine))
    assert not is_error, text
    assert out["workflow_definition"]["engine"] == engine.upper()
    coverage = out["coverage"]
    uncovered = [i for i in coverage["images"] if not i["covered"]]
    assert len(uncovered) == expected_uncovered and coverage["all_covered"] is False
    for image in coverage["images"]:
        assert image["found_in"], image
        if image["covered"]:
            assert image["ecr_image_uri"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/quay/")
    # Every uncovered image has a fix: a cache to create, a copy mapping to add, or an image to clone.
    fixed = {img for fix in coverage["fixes"] for img in fix["images"]}
    assert {i.get("canonical", i["image"]) for i in uncovered} <= fixed
    kinds = json.dumps(coverage["fixes"])
    assert "CreatePullThroughCacheForHealthOmics" in kinds or "add_copy_mapping" in kinds


async def test_tag_only_copy_images_are_warned_to_pin_a_digest(mcp_client, wave_secret):
    is_error, out, text = await build(
        mcp_client,
        include_pull_through_caches=False,
        healthomics_copy_registries=[{"upstream_registry_url": WAVE, "credential_arn": wave_secret}],
        container_images=[f"{WAVE}/library/htslib_samtools:1.21--ff7dba6cf4a3c4dd"],
        detail=True,
    )
    assert not is_error, text
    (image,) = out["coverage"]["images"]
    assert image["covered"] is True and image["class"] == "healthomics_copy"
    assert any("digest" in p["message"] for p in image["problems"])


async def test_healthomics_workflow_map_is_checked_and_used_for_coverage(mcp_client, testbed, caches, wave_secret):
    omics = client(testbed, "omics")
    created = omics.create_workflow(
        name="rnaseq",
        engine="NEXTFLOW",
        definitionZip=b"PK\x05\x06" + b"\x00" * 18,
        requestId="r1",
        containerRegistryMap={
            "registryMappings": [
                {"upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay"},
                {"upstreamRegistryUrl": "nvcr.io", "ecrRepositoryPrefix": "ngc"},
            ]
        },
    )
    is_error, out, text = await build(
        mcp_client,
        workflow_id=created["id"],
        container_images=["quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0", "nvcr.io/nvidia/clara/parabricks:4.3"],
    )
    assert not is_error, text
    workflow = out["workflow"]
    assert workflow["id"] == created["id"] and workflow["name"] == "rnaseq"
    assert any("credentialArn" in f["message"] for f in workflow["findings"] if f["severity"] == "error")
    covered = {i["image"]: i["covered"] for i in workflow["coverage"]["images"]}
    assert covered["quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0"] is True
    is_error, out, _ = await build(mcp_client, workflow_id="9999999")
    assert is_error and out["error"]["code"] == "not_found"


async def test_discovery_failure_is_an_error_not_an_empty_map(mcp_client, caches, admin):
    deny(admin, "ecr", "DescribePullThroughCacheRules", "no")
    is_error, out, _ = await build(mcp_client)
    assert is_error and out["error"]["code"] == "access_denied"
    assert "include_pull_through_caches=false" in out["error"]["remediation"]


def zip_folder(folder: Path) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


async def test_a_workflow_id_alone_is_covered_from_its_own_definition(mcp_client, testbed, caches):
    omics = client(testbed, "omics")
    created = omics.create_workflow(
        name="from-bundle",
        engine="WDL",
        requestId="b1",
        definitionZip=zip_folder(WORKFLOWS / "wdl"),
        containerRegistryMap={"registryMappings": [{"upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay"}]},
    )
    is_error, out, text = await build(mcp_client, workflow_id=created["id"])
    assert not is_error, text
    workflow = out["workflow"]
    assert "definition_problem" not in workflow, workflow.get("definition_problem")
    assert workflow["definition"]["engine"] == "WDL"
    images = {i["image"]: i["covered"] for i in workflow["coverage"]["images"]}
    assert images["quay.io/biocontainers/bwa:0.7.17--h5bf99c6_8"] is True
    assert images["ubuntu:22.04"] is False


async def test_an_image_mapping_covers_only_when_its_destination_can_be_pulled(mcp_client, testbed, ecr):
    host = f"{testbed.account_id}.dkr.ecr.{testbed.region}.amazonaws.com"
    image = {"sourceImage": "ubuntu:22.04", "destinationImage": f"{host}/base/ubuntu:22.04"}
    is_error, out, text = await build(
        mcp_client,
        image_mappings=[image],
        container_images=["ubuntu:22.04"],
        include_pull_through_caches=False,
        detail=True,
    )
    assert not is_error, text
    coverage = out["coverage"]
    assert coverage["all_covered"] is False and coverage["summary"]["not_covered"] == 1
    (row,) = coverage["images"]
    assert row["covered"] is False
    assert any(p["code"] == "destination_unusable" and "does not exist" in p["message"] for p in row["problems"])
    assert row["fix"]["tool"] == "CloneContainerToECR"
    assert row["fix"]["arguments"]["target_repository_name"] == "base/ubuntu"


FASTQC_MODULE = "quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0"
SAMTOOLS_MODULE = "community.wave.seqera.io/library/htslib_samtools:1.21--ff7dba6cf4a3c4dd"
# REPORT's own container (quay.io/biocontainers/multiqc) is not pulled: conf/modules.config's
# `withName: REPORT` replaces it in every run.
NFCORE_DEFAULT_RUN = {FASTQC_MODULE, SAMTOOLS_MODULE, "ghcr.io/multiqc/multiqc:v1.25.1"}


async def test_an_nfcore_pipeline_is_covered_for_what_a_run_pulls(mcp_client, caches):
    """Tests, unincluded modules and configs, and profiles not asked for bring no image; Singularity never does."""
    is_error, out, text = await build(mcp_client, workflow_definition=str(WORKFLOWS / "nfcore"), detail=True)
    assert not is_error, text
    scan = out["workflow_definition"]
    assert scan["entry"] == "main.nf"
    assert {i["image"] for i in out["coverage"]["images"]} == NFCORE_DEFAULT_RUN
    assert "://" not in json.dumps(out["coverage"]["images"])
    assert "unresolved_images" not in out
    groups = {g["reason"]: g for g in scan["not_in_run"]}
    assert sum(g["count"] for g in groups.values()) == 8
    tests = next(g for reason, g in groups.items() if reason.startswith("tests"))
    assert "tests/nextflow.config" in tests["examples"]
    profile_only = next(g for reason, g in groups.items() if "profile" in reason)
    assert sorted(profile_only["examples"]) == ["conf/arm.config (arm)", "conf/test.config (test)"]
    scanned = {f["path"] for f in scan["files"]}
    assert "modules/nf-core/untar/main.nf" not in scanned and "conf/old_containers.config" not in scanned
    assert "profiles" not in scan


async def test_profiles_bring_in_their_configs_and_settings(mcp_client, caches):
    is_error, out, text = await build(
        mcp_client, workflow_definition=str(WORKFLOWS / "nfcore"), profiles=["docker", "arm", "gpu", "nope"], detail=True
    )
    assert not is_error, text
    scan = out["workflow_definition"]
    assert scan["profiles"] == ["docker", "arm", "gpu", "nope"]
    images = {i["image"] for i in out["coverage"]["images"]}
    # The arm profile's `withName: FASTQC` replaces the module's own container.
    assert images == (NFCORE_DEFAULT_RUN - {FASTQC_MODULE}) | {
        "community.wave.seqera.io/library/fastqc:0.12.1--arm64",
        "nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1",
    }
    by_profile = {i["reference"]: i.get("profile") for f in scan["files"] for i in f["images"]}
    assert by_profile["community.wave.seqera.io/library/fastqc:0.12.1--arm64"] == "arm"
    assert by_profile["nvcr.io/nvidia/clara/clara-parabricks:4.3.0-1"] == "gpu"
    assert FASTQC_MODULE not in by_profile
    assert any("directive of FASTQC, REPORT is left out" in n for n in scan["notes"]), scan["notes"]
    assert any("`nope` is not defined" in n for n in scan["notes"]), scan["notes"]


async def test_a_bundle_is_scanned_from_its_entry_with_the_profiles_asked_for(mcp_client, testbed, caches):
    omics = client(testbed, "omics")
    created = omics.create_workflow(
        name="nfcore-bundle", engine="NEXTFLOW", requestId="n1", definitionZip=zip_folder(WORKFLOWS / "nfcore")
    )
    is_error, out, text = await build(mcp_client, workflow_id=created["id"], profiles=["test"])
    assert not is_error, text
    definition = out["workflow"]["definition"]
    assert definition["entry"] == "main.nf"
    images = {i["image"] for i in out["workflow"]["coverage"]["images"]}
    assert images == (NFCORE_DEFAULT_RUN - {SAMTOOLS_MODULE}) | {"quay.io/biocontainers/samtools:1.17--test"}
