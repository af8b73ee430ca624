"""The testbed, driven with boto3 as an AWS client would drive it: each emulated operation, its validation and
errors, pagination, fault injection, latency, reset and policy planting.
"""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from harness import AdminError, Testbed

OMICS_PULL_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "omics.amazonaws.com"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            }
        ],
    }
)
# Odd spacing on purpose: the registry policy must come back byte for byte.
PTC_REGISTRY_POLICY = (
    '{"Version":"2012-10-17",  "Statement":[{"Sid":"HealthOmics","Effect":"Allow",'
    '"Principal":{"Service":"omics.amazonaws.com"},'
    '"Action":["ecr:CreateRepository","ecr:BatchImportUpstreamImage"],'
    '"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/quay/*"}]}'
)


def expect_error(code: str, operation, **params) -> ClientError:
    with pytest.raises(ClientError) as info:
        operation(**params)
    assert info.value.response["Error"]["Code"] == code, info.value.response
    return info.value


def credential(secrets, name="ecr-pullthroughcache/docker-hub", value=None) -> str:
    value = {"username": "user", "accessToken": "token"} if value is None else value
    return secrets.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]


def manifest(n: int) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 2,
                "digest": f"sha256:{n:064x}",
            },
            "layers": [],
        }
    )


# serve.py itself


def test_serve_with_sample_state_stops_when_stdin_closes(tmp_path):
    import boto3

    testbed = Testbed.start(tmp_path / "seeded.log", "--seed-sample", "--latency-ms", "1")
    try:
        assert testbed.aws_endpoint.startswith("http://127.0.0.1:")
        assert testbed.admin_endpoint == testbed.aws_endpoint + "/_testbed"
        assert (testbed.account_id, testbed.region) == ("123456789012", "us-east-1")
        assert testbed.admin("faults")["calls"] == {}  # seeding is not counted
        assert testbed.admin("faults")["latency_ms"] == 1

        ecr = boto3.client(
            "ecr",
            endpoint_url=testbed.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",
        )
        names = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
        assert names == {"workflows/bwa", "workflows/samtools", "tools/fastqc"}
        assert "omics.amazonaws.com" in ecr.get_repository_policy(repositoryName="workflows/bwa")["policyText"]
        expect_error(
            "RepositoryPolicyNotFoundException", ecr.get_repository_policy, repositoryName="workflows/samtools"
        )
        rules = {r["ecrRepositoryPrefix"]: r for r in ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]}
        assert rules["quay"]["upstreamRegistry"] == "quay"
        assert "ecr-pullthroughcache/docker-hub" in rules["docker-hub"]["credentialArn"]
        assert [t["prefix"] for t in ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]] == [
            "quay"
        ]
        assert "ecr:BatchImportUpstreamImage" in ecr.get_registry_policy()["policyText"]
    finally:
        testbed.process.stdin.close()
        assert testbed.process.wait(timeout=5) == 0


def test_serve_stops_on_sigterm(tmp_path):
    testbed = Testbed.start(tmp_path / "testbed.log")
    testbed.process.terminate()
    assert testbed.process.wait(timeout=5) == 0
    assert testbed.process.stdout.read() == b""  # nothing after the JSON line


# Pull-through cache rules


def test_pull_through_cache_rule_lifecycle(ecr, secrets):
    created = ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    assert created["upstreamRegistry"] == "quay"
    assert created["registryId"] == "123456789012"
    assert "createdAt" in created

    arn = credential(secrets)
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub",
        upstreamRegistryUrl="registry-1.docker.io",
        upstreamRegistry="docker-hub",
        credentialArn=arn,
    )
    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert [r["ecrRepositoryPrefix"] for r in rules] == ["docker-hub", "quay"]
    assert rules[0]["credentialArn"] == arn
    assert "updatedAt" not in rules[0]

    other = credential(secrets, "ecr-pullthroughcache/docker-hub-2")
    updated = ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", credentialArn=other)
    assert updated["credentialArn"] == other and "updatedAt" in updated
    assert (
        ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["docker-hub"])["pullThroughCacheRules"][0][
            "credentialArn"
        ]
        == other
    )

    deleted = ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="quay")
    assert deleted["upstreamRegistryUrl"] == "quay.io"
    expect_error(
        "PullThroughCacheRuleNotFoundException", ecr.describe_pull_through_cache_rules, ecrRepositoryPrefixes=["quay"]
    )
    expect_error(
        "PullThroughCacheRuleNotFoundException", ecr.delete_pull_through_cache_rule, ecrRepositoryPrefix="quay"
    )
    expect_error(
        "PullThroughCacheRuleNotFoundException",
        ecr.update_pull_through_cache_rule,
        ecrRepositoryPrefix="quay",
        credentialArn=other,
    )


def test_pull_through_cache_rule_root_prefix_and_ecr_upstream(ecr):
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="ROOT",
        upstreamRegistryUrl="210987654321.dkr.ecr.us-west-2.amazonaws.com",
        customRoleArn="arn:aws:iam::123456789012:role/ptc",
    )
    rule = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"][0]
    assert (rule["ecrRepositoryPrefix"], rule["upstreamRegistry"], rule["customRoleArn"]) == (
        "ROOT",
        "ecr",
        "arn:aws:iam::123456789012:role/ptc",
    )


def test_pull_through_cache_rule_already_exists(ecr):
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    expect_error(
        "PullThroughCacheRuleAlreadyExistsException",
        ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix="quay",
        upstreamRegistryUrl="quay.io",
    )


@pytest.mark.parametrize("prefix", ["q", "Quay", "x" * 31, "a//b", "-quay", "quay_"])
def test_pull_through_cache_rule_prefix_is_validated(raw_ecr, prefix):
    expect_error(
        "InvalidParameterException",
        raw_ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix=prefix,
        upstreamRegistryUrl="quay.io",
    )


@pytest.mark.parametrize("url", ["registry-1.docker.io", "ghcr.io", "myregistry.azurecr.io", "registry.gitlab.com"])
def test_pull_through_cache_rule_requires_a_credential_for_authenticated_upstreams(ecr, url):
    expect_error(
        "InvalidParameterException",
        ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix="up",
        upstreamRegistryUrl=url,
    )


def test_pull_through_cache_rule_credential_must_be_an_ecr_pullthroughcache_secret(ecr, secrets):
    arn = credential(secrets, name="dockerhub-credentials-for-ecr-pull-through")
    expect_error(
        "InvalidParameterException",
        ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix="dh",
        upstreamRegistryUrl="registry-1.docker.io",
        credentialArn=arn,
    )


def test_pull_through_cache_rule_credential_must_exist(ecr):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/missing-AbCdEf"
    expect_error(
        "SecretNotFoundException",
        ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix="dh",
        upstreamRegistryUrl="registry-1.docker.io",
        credentialArn=arn,
    )


def test_pull_through_cache_rule_upstream_is_validated(raw_ecr):
    expect_error(
        "UnsupportedUpstreamRegistryException",
        raw_ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix="nv",
        upstreamRegistryUrl="nvcr.io",
    )
    expect_error(
        "InvalidParameterException",
        raw_ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix="q",
        upstreamRegistryUrl="quay.io",
        upstreamRegistry="dockerhub",
    )
    expect_error(
        "InvalidParameterException",
        raw_ecr.create_pull_through_cache_rule,
        ecrRepositoryPrefix="qq",
        upstreamRegistryUrl="quay.io",
        upstreamRegistry="k8s",
    )
    expect_error("InvalidParameterException", raw_ecr.create_pull_through_cache_rule, ecrRepositoryPrefix="qq")


def test_describe_pull_through_cache_rules_pages(ecr, raw_ecr):
    for i in range(5):
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=f"quay{i}", upstreamRegistryUrl="quay.io")
    first = ecr.describe_pull_through_cache_rules(maxResults=2)
    second = ecr.describe_pull_through_cache_rules(maxResults=2, nextToken=first["nextToken"])
    third = ecr.describe_pull_through_cache_rules(maxResults=2, nextToken=second["nextToken"])
    pages = [[r["ecrRepositoryPrefix"] for r in p["pullThroughCacheRules"]] for p in (first, second, third)]
    assert pages == [["quay0", "quay1"], ["quay2", "quay3"], ["quay4"]]
    assert "nextToken" not in third
    expect_error("InvalidParameterException", raw_ecr.describe_pull_through_cache_rules, maxResults=1001)


@pytest.mark.parametrize(
    ("secret", "valid"),
    [
        ({"username": "u", "accessToken": "t"}, True),
        ({"username": "u"}, False),
        ("not json", False),
    ],
)
def test_validate_pull_through_cache_rule(ecr, secrets, secret, valid):
    arn = secrets.create_secret(
        Name="ecr-pullthroughcache/gh", SecretString=secret if isinstance(secret, str) else json.dumps(secret)
    )["ARN"]
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="gh", upstreamRegistryUrl="ghcr.io", credentialArn=arn)
    result = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="gh")
    assert result["isValid"] is valid
    assert ("failure" in result) is not valid
    assert result["credentialArn"] == arn


def test_validate_pull_through_cache_rule_without_or_with_deleted_secret(ecr, secrets):
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="quay")["isValid"] is True

    arn = credential(secrets)
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="dh", upstreamRegistryUrl="registry-1.docker.io", credentialArn=arn
    )
    secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    result = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="dh")
    assert result["isValid"] is False and arn in result["failure"]
    expect_error(
        "PullThroughCacheRuleNotFoundException", ecr.validate_pull_through_cache_rule, ecrRepositoryPrefix="nope"
    )


# Repository creation templates


def test_repository_creation_template_lifecycle(ecr):
    created = ecr.create_repository_creation_template(
        prefix="quay",
        description="for quay",
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/abc-123"},
        resourceTags=[{"Key": "team", "Value": "genomics"}],
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest*"}],
        repositoryPolicy=OMICS_PULL_POLICY,
        lifecyclePolicy='{"rules":[]}',
        appliedFor=["PULL_THROUGH_CACHE", "REPLICATION"],
        customRoleArn="arn:aws:iam::123456789012:role/rct",
    )
    template = created["repositoryCreationTemplate"]
    assert created["registryId"] == "123456789012"
    assert template["repositoryPolicy"] == OMICS_PULL_POLICY
    assert template["appliedFor"] == ["PULL_THROUGH_CACHE", "REPLICATION"]
    assert {"createdAt", "updatedAt"} <= template.keys()

    updated = ecr.update_repository_creation_template(prefix="quay", description="changed")[
        "repositoryCreationTemplate"
    ]
    assert updated["description"] == "changed"
    unchanged = {k: v for k, v in template.items() if k not in ("description", "updatedAt")}
    assert {k: updated[k] for k in unchanged} == unchanged
    assert updated["updatedAt"] >= template["updatedAt"]

    deleted = ecr.delete_repository_creation_template(prefix="quay")["repositoryCreationTemplate"]
    assert deleted["description"] == "changed"
    assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []
    expect_error("TemplateNotFoundException", ecr.delete_repository_creation_template, prefix="quay")
    expect_error("TemplateNotFoundException", ecr.update_repository_creation_template, prefix="quay", description="x")


def test_repository_creation_template_defaults_and_root(ecr):
    template = ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])[
        "repositoryCreationTemplate"
    ]
    assert template["prefix"] == "ROOT"
    assert template["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert template["imageTagMutability"] == "MUTABLE"
    assert template["resourceTags"] == []
    assert "repositoryPolicy" not in template


def test_repository_creation_template_validation(ecr, raw_ecr):
    expect_error("InvalidParameterException", raw_ecr.create_repository_creation_template, prefix="quay")
    expect_error("InvalidParameterException", ecr.create_repository_creation_template, prefix="quay", appliedFor=[])
    expect_error(
        "InvalidParameterException", raw_ecr.create_repository_creation_template, prefix="quay", appliedFor=["PULL"]
    )
    expect_error(
        "InvalidParameterException",
        ecr.create_repository_creation_template,
        prefix="quay",
        appliedFor=["REPLICATION"],
        repositoryPolicy="{not json",
    )
    expect_error(
        "InvalidParameterException", ecr.create_repository_creation_template, prefix="Quay", appliedFor=["REPLICATION"]
    )
    expect_error(
        "InvalidParameterException",
        ecr.create_repository_creation_template,
        prefix="quay",
        appliedFor=["REPLICATION"],
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
    )
    ecr.create_repository_creation_template(prefix="quay", appliedFor=["REPLICATION"])
    expect_error(
        "TemplateAlreadyExistsException",
        ecr.create_repository_creation_template,
        prefix="quay",
        appliedFor=["REPLICATION"],
    )
    expect_error(
        "InvalidParameterException", ecr.update_repository_creation_template, prefix="quay", repositoryPolicy="nope"
    )


def test_describe_repository_creation_templates_filters_and_pages(ecr):
    for prefix in ("a1", "b2", "c3", "d4"):
        ecr.create_repository_creation_template(prefix=prefix, appliedFor=["PULL_THROUGH_CACHE"])
    chosen = ecr.describe_repository_creation_templates(prefixes=["c3", "a1", "zz"])["repositoryCreationTemplates"]
    assert [t["prefix"] for t in chosen] == ["a1", "c3"]
    first = ecr.describe_repository_creation_templates(maxResults=3)
    second = ecr.describe_repository_creation_templates(maxResults=3, nextToken=first["nextToken"])
    assert [t["prefix"] for t in first["repositoryCreationTemplates"] + second["repositoryCreationTemplates"]] == [
        "a1",
        "b2",
        "c3",
        "d4",
    ]
    assert "nextToken" not in second


# Registry policy


def test_registry_policy_accepts_pull_through_cache_actions_and_keeps_the_text(ecr):
    expect_error("RegistryPolicyNotFoundException", ecr.get_registry_policy)
    assert ecr.put_registry_policy(policyText=PTC_REGISTRY_POLICY)["policyText"] == PTC_REGISTRY_POLICY
    got = ecr.get_registry_policy()
    assert (got["registryId"], got["policyText"]) == ("123456789012", PTC_REGISTRY_POLICY)
    assert ecr.delete_registry_policy()["policyText"] == PTC_REGISTRY_POLICY
    expect_error("RegistryPolicyNotFoundException", ecr.get_registry_policy)
    expect_error("RegistryPolicyNotFoundException", ecr.delete_registry_policy)


@pytest.mark.parametrize(
    "policy",
    [
        "{not json",
        '{"Statement": []}',
        '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]}',
        '{"Statement": [{"Effect": "Allow", "Action": "ecr:CreateRepository"}]}',
    ],
)
def test_registry_policy_is_validated(ecr, policy):
    expect_error("InvalidParameterException", ecr.put_registry_policy, policyText=policy)


# Pagination of moto's listings


def test_describe_repositories_pages_3_3_1(ecr):
    names = [f"repo-{i}" for i in range(7)]
    for name in names:
        ecr.create_repository(repositoryName=name)
    pages, token = [], None
    while True:
        result = ecr.describe_repositories(maxResults=3, **({"nextToken": token} if token else {}))
        pages.append([r["repositoryName"] for r in result["repositories"]])
        token = result.get("nextToken")
        if token is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [name for p in pages for name in p] == names


def test_describe_repositories_default_page_is_100(ecr):
    for i in range(101):
        ecr.create_repository(repositoryName=f"r{i:03}")
    first = ecr.describe_repositories()
    assert len(first["repositories"]) == 100
    assert [r["repositoryName"] for r in ecr.describe_repositories(nextToken=first["nextToken"])["repositories"]] == [
        "r100"
    ]


def test_listing_parameters_are_validated(ecr, raw_ecr):
    ecr.create_repository(repositoryName="repo")
    expect_error("InvalidParameterException", raw_ecr.describe_repositories, maxResults=0)
    expect_error("InvalidParameterException", raw_ecr.describe_repositories, maxResults=1001)
    expect_error("InvalidParameterException", ecr.describe_repositories, nextToken="garbage")
    expect_error("InvalidParameterException", ecr.describe_repositories, repositoryNames=["repo"], maxResults=1)
    expect_error("RepositoryNotFoundException", ecr.describe_repositories, repositoryNames=["missing"])
    expect_error("RepositoryNotFoundException", ecr.list_images, repositoryName="missing", maxResults=5)
    # A token from one listing is refused by another.
    ecr.create_repository(repositoryName="repo2")
    token = ecr.describe_repositories(maxResults=1)["nextToken"]
    expect_error("InvalidParameterException", ecr.list_images, repositoryName="repo", nextToken=token)


def test_list_and_describe_images_page(ecr):
    ecr.create_repository(repositoryName="repo")
    for n in range(5):
        ecr.put_image(repositoryName="repo", imageManifest=manifest(n), imageTag=f"v{n}")
    listed = ecr.list_images(repositoryName="repo", maxResults=2)
    assert len(listed["imageIds"]) == 2
    rest = ecr.list_images(repositoryName="repo", maxResults=4, nextToken=listed["nextToken"])
    assert len(rest["imageIds"]) == 3 and "nextToken" not in rest
    assert {i["imageTag"] for i in listed["imageIds"] + rest["imageIds"]} == {f"v{n}" for n in range(5)}

    described = ecr.describe_images(repositoryName="repo", maxResults=4)
    more = ecr.describe_images(repositoryName="repo", nextToken=described["nextToken"])
    assert [len(described["imageDetails"]), len(more["imageDetails"])] == [4, 1]
    assert len(ecr.describe_images(repositoryName="repo", imageIds=[{"imageTag": "v1"}])["imageDetails"]) == 1


# HealthOmics


REGISTRY_MAP = {
    "registryMappings": [
        {"upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay"},
        {
            "upstreamRegistryUrl": "registry-1.docker.io",
            "ecrRepositoryPrefix": "docker-hub",
            "upstreamRepositoryPrefix": "library",
            "ecrAccountId": "123456789012",
        },
    ],
    "imageMappings": [
        {
            "sourceImage": "nvcr.io/nvidia/clara:1",
            "destinationImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/clara:1",
        }
    ],
}


def test_omics_workflow_create_and_get(omics):
    created = omics.create_workflow(
        name="wf",
        engine="NEXTFLOW",
        definitionUri="s3://bucket/wf.zip",
        containerRegistryMap=REGISTRY_MAP,
        requestId="r1",
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["status"] == "ACTIVE"
    assert created["arn"] == f"arn:aws:omics:us-east-1:123456789012:workflow/{created['id']}"
    workflow = omics.get_workflow(id=created["id"])
    assert workflow["containerRegistryMap"] == REGISTRY_MAP
    assert (workflow["name"], workflow["engine"], workflow["type"]) == ("wf", "NEXTFLOW", "PRIVATE")
    assert workflow["creationTime"].year >= 2025
    assert omics.create_workflow(name="wf", requestId="r1")["id"] == created["id"]  # idempotent


def test_omics_get_missing_workflow_is_404(omics):
    error = expect_error("ResourceNotFoundException", omics.get_workflow, id="999")
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ResourceNotFoundException"


def test_omics_list_workflows_pages(omics):
    ids = [omics.create_workflow(name=f"wf{i}", requestId=f"r{i}")["id"] for i in range(3)]
    first = omics.list_workflows(maxResults=2)
    second = omics.list_workflows(maxResults=2, startingToken=first["nextToken"])
    assert [w["id"] for w in first["items"] + second["items"]] == ids
    assert "nextToken" not in second
    assert [w["name"] for w in omics.list_workflows(name="wf1")["items"]] == ["wf1"]


def test_omics_validation(omics):
    bad_account = {
        "registryMappings": [
            {"upstreamRegistryUrl": "quay.io", "ecrRepositoryPrefix": "quay", "ecrAccountId": "12345678901x"}
        ]
    }
    expect_error(
        "ValidationException", omics.create_workflow, name="wf", containerRegistryMap=bad_account, requestId="r"
    )
    half_mapping = {"imageMappings": [{"sourceImage": "nvcr.io/nvidia/clara:1"}]}
    expect_error(
        "ValidationException", omics.create_workflow, name="wf", containerRegistryMap=half_mapping, requestId="r"
    )
    expect_error("ValidationException", omics.list_workflows, maxResults=101)
    expect_error("ValidationException", omics.list_workflows, startingToken="garbage")
    assert omics.list_workflows()["items"] == []


# Fault injection, latency, call counts


def test_error_fault_fails_the_next_calls_then_clears(testbed, ecr):
    ecr.create_repository(repositoryName="repo")
    ecr.set_repository_policy(repositoryName="repo", policyText=OMICS_PULL_POLICY)
    testbed.admin(
        "faults",
        {
            "service": "ecr",
            "operation": "GetRepositoryPolicy",
            "kind": "error",
            "count": 2,
            "error_code": "AccessDeniedException",
            "message": "no",
        },
    )
    for _ in range(2):
        error = expect_error("AccessDeniedException", ecr.get_repository_policy, repositoryName="repo")
        assert error.response["Error"]["Message"] == "no"
    assert ecr.get_repository_policy(repositoryName="repo")["policyText"] == OMICS_PULL_POLICY
    state = testbed.admin("faults")
    assert state["faults"] == []
    assert state["calls"]["ecr"]["GetRepositoryPolicy"] == 3
    assert state["calls"]["ecr"]["CreateRepository"] == 1


def test_faults_on_emulated_operations_and_custom_status(testbed, ecr):
    testbed.admin(
        "faults",
        {
            "service": "ecr",
            "operation": "GetRegistryPolicy",
            "kind": "error",
            "error_code": "ServerException",
            "http_status": 500,
        },
    )
    error = expect_error("ServerException", ecr.get_registry_policy)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    expect_error("RegistryPolicyNotFoundException", ecr.get_registry_policy)


def test_throttle_fault_in_each_protocol(testbed, ecr, secrets, sts, omics):
    for service, operation in (
        ("ecr", "DescribeRepositories"),
        ("secretsmanager", "ListSecrets"),
        ("sts", "GetCallerIdentity"),
        ("omics", "ListWorkflows"),
    ):
        testbed.admin("faults", {"service": service, "operation": operation, "kind": "throttle"})
    expect_error("ThrottlingException", ecr.describe_repositories)
    expect_error("ThrottlingException", secrets.list_secrets)
    expect_error("Throttling", sts.get_caller_identity)
    assert (
        expect_error("ThrottlingException", omics.list_workflows).response["ResponseMetadata"]["HTTPStatusCode"] == 429
    )
    assert sts.get_caller_identity()["Account"] == "123456789012"


def test_sts_fault_is_an_aws_query_error_document(testbed):
    testbed.admin(
        "faults",
        {
            "service": "sts",
            "operation": "GetCallerIdentity",
            "kind": "error",
            "error_code": "ExpiredToken",
            "message": "expired",
        },
    )
    request = urllib.request.Request(
        testbed.aws_endpoint + "/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            # Unsigned in truth: moto checks no signatures, the testbed reads only the credential scope.
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sts/aws4_request, Signature=0",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    body = info.value.read().decode()
    assert info.value.code == 400
    assert "<Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>expired</Message></Error><RequestId>" in body


def test_stall_fault_delays_then_serves(testbed, ecr):
    testbed.admin("faults", {"service": "ecr", "operation": "DescribeRegistry", "kind": "stall", "stall_seconds": 0.3})
    started = time.monotonic()
    assert ecr.describe_registry()["registryId"] == "123456789012"
    assert time.monotonic() - started >= 0.3


def test_reset_releases_a_stalled_call(testbed, ecr):
    testbed.admin("faults", {"service": "ecr", "operation": "DescribeRegistry", "kind": "stall", "stall_seconds": 60})
    done = threading.Event()
    threading.Thread(target=lambda: (ecr.describe_registry(), done.set()), daemon=True).start()
    time.sleep(0.2)
    assert not done.is_set()
    testbed.admin("reset")
    assert done.wait(5)


def test_latency_applies_to_every_call_until_reset(testbed, ecr):
    testbed.admin("latency", {"ms": 150})
    started = time.monotonic()
    ecr.describe_repositories()
    assert time.monotonic() - started >= 0.15
    testbed.admin("reset")
    started = time.monotonic()
    ecr.describe_repositories()
    assert time.monotonic() - started < 0.15


def test_call_counter_reset(testbed, ecr, sts):
    ecr.describe_repositories()
    sts.get_caller_identity()
    assert testbed.admin("faults")["calls"] == {"ecr": {"DescribeRepositories": 1}, "sts": {"GetCallerIdentity": 1}}
    assert testbed.admin("calls/reset")["calls"] == {}


@pytest.mark.parametrize(
    "spec",
    [
        {"service": "s3", "operation": "GetObject", "kind": "error", "error_code": "X"},
        {"service": "ecr", "operation": "X", "kind": "explode"},
        {"service": "ecr", "operation": "X", "kind": "error"},
        {"service": "ecr", "operation": "X", "kind": "throttle", "count": 0},
        {"service": "ecr", "operation": "X", "kind": "throttle", "colour": "red"},
    ],
)
def test_bad_fault_specs_are_refused(testbed, spec):
    with pytest.raises(AdminError) as info:
        testbed.admin("faults", spec)
    assert info.value.status == 400


# Reset and planting


def test_reset_forgets_everything_quickly(testbed, ecr, secrets, omics):
    ecr.create_repository(repositoryName="repo")
    ecr.put_registry_policy(policyText=PTC_REGISTRY_POLICY)
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])
    credential(secrets)
    omics.create_workflow(name="wf", requestId="r")
    testbed.admin("faults", {"service": "ecr", "operation": "ListImages", "kind": "throttle"})
    testbed.admin("latency", {"ms": 5})

    assert testbed.admin("reset")["ms"] < 100
    assert ecr.describe_repositories()["repositories"] == []
    expect_error("RegistryPolicyNotFoundException", ecr.get_registry_policy)
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []
    assert secrets.list_secrets()["SecretList"] == []
    assert omics.list_workflows()["items"] == []
    state = testbed.admin("faults")
    assert (state["faults"], state["latency_ms"]) == ([], 0)
    assert omics.create_workflow(name="wf", requestId="r")["id"] == "1000001"  # ids restart


def test_planted_policies_come_back_verbatim(testbed, ecr):
    ecr.create_repository(repositoryName="repo")
    ecr.create_repository_creation_template(prefix="quay", appliedFor=["PULL_THROUGH_CACHE"])
    testbed.admin("raw-repository-policy", {"repositoryName": "repo", "policyText": "{not json"})
    testbed.admin("raw-registry-policy", {"policyText": '{"Statement": "nonsense"'})
    testbed.admin("raw-template-policy", {"prefix": "quay", "policyText": "[]"})
    assert ecr.get_repository_policy(repositoryName="repo")["policyText"] == "{not json"
    assert ecr.get_registry_policy()["policyText"] == '{"Statement": "nonsense"'
    assert ecr.describe_repository_creation_templates()["repositoryCreationTemplates"][0]["repositoryPolicy"] == "[]"


def test_planting_needs_an_existing_target(testbed):
    for path, body in (
        ("raw-repository-policy", {"repositoryName": "missing", "policyText": "x"}),
        ("raw-template-policy", {"prefix": "missing", "policyText": "x"}),
    ):
        with pytest.raises(AdminError) as info:
            testbed.admin(path, body)
        assert info.value.status == 404
    with pytest.raises(AdminError) as info:
        testbed.admin("raw-registry-policy", {})
    assert info.value.status == 400


def test_unknown_admin_route(testbed):
    with pytest.raises(AdminError) as info:
        testbed.admin("nope")
    assert info.value.status == 404
