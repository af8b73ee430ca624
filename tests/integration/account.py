"""Sets up account state the way a person would with the AWS CLI, so tests read like scenarios.

boto3 talks to the testbed directly; the server under test only ever sees the result.
"""

import json

import boto3
from botocore.config import Config

OMICS = "omics.amazonaws.com"
PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
PTC_ACTIONS = ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"]


def client(testbed, service: str, region: str | None = None):
    return boto3.client(
        service,
        endpoint_url=testbed.aws_endpoint,
        region_name=region or testbed.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, inject_host_prefix=False),
    )


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def omics_pull(sid: str = "Pull", actions=None, **extra) -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": OMICS},
        "Action": actions or PULL_ACTIONS,
        **extra,
    }


def registry_grant(testbed, prefix: str, sid: str = "OmicsPtc") -> dict:
    resource = f"arn:aws:ecr:{testbed.region}:{testbed.account_id}:repository/{prefix}/*"
    return {"Sid": sid, "Effect": "Allow", "Principal": {"Service": OMICS}, "Action": PTC_ACTIONS, "Resource": resource}


def usable_cache(testbed, ecr, prefix: str, upstream: str, credential_arn: str | None = None) -> None:
    """A pull-through cache HealthOmics can use: rule, scoped registry grant, template with the pull grant."""
    rule = {"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": upstream}
    if credential_arn:
        rule["credentialArn"] = credential_arn
    ecr.create_pull_through_cache_rule(**rule)
    ecr.create_repository_creation_template(
        prefix=prefix, appliedFor=["PULL_THROUGH_CACHE"], repositoryPolicy=policy(omics_pull())
    )


def put_registry_statements(ecr, *statements: dict) -> None:
    ecr.put_registry_policy(policyText=policy(*statements))


def calls(admin, service: str = "ecr") -> dict:
    return admin("faults")["calls"].get(service, {})


def deny(admin, service: str, operation: str, message: str = "not authorized") -> None:
    """Makes the next call of `service:operation` fail with AccessDeniedException, as a missing IAM grant would."""
    admin(
        "faults",
        {
            "service": service,
            "operation": operation,
            "count": 1,
            "kind": "error",
            "error_code": "AccessDeniedException",
            "message": message,
        },
    )
