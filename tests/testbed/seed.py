"""A small demo account for trying the server by hand (`serve.py --seed-sample`); tests start empty instead.

It holds one of each case the tools tell apart: a repository HealthOmics can pull from and one it cannot, a
pull-through cache rule HealthOmics can use (quay: registry policy and creation template in place) and one it
cannot yet (Docker Hub: credential but no template). It is written through the public API with boto3, so it goes
through the same validation as anything a client writes.
"""

import hashlib
import json

import boto3

from protocol import DEFAULT_REGION

HEALTHOMICS_PRINCIPAL = {"Service": "omics.amazonaws.com"}
PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


def _manifest() -> str:
    """A minimal Docker schema 2 manifest (the blobs it names are not stored: the API does not check them)."""
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"demo layer"
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                }
            ],
        }
    )


def seed_sample(endpoint: str) -> None:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=DEFAULT_REGION)
    ecr = session.client("ecr", endpoint_url=endpoint)
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    account = session.client("sts", endpoint_url=endpoint).get_caller_identity()["Account"]
    omics_pull = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "HealthOmicsAccess", "Effect": "Allow", "Principal": HEALTHOMICS_PRINCIPAL, "Action": PULL_ACTIONS}
        ],
    }

    for name in ("workflows/bwa", "workflows/samtools", "tools/fastqc"):
        ecr.create_repository(repositoryName=name)
    ecr.set_repository_policy(repositoryName="workflows/bwa", policyText=json.dumps(omics_pull))
    ecr.put_image(repositoryName="workflows/bwa", imageManifest=_manifest(), imageTag="0.7.17")

    ecr.put_registry_policy(
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "HealthOmicsPullThroughCache",
                        "Effect": "Allow",
                        "Principal": HEALTHOMICS_PRINCIPAL,
                        "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
                        "Resource": f"arn:aws:ecr:{DEFAULT_REGION}:{account}:repository/quay/*",
                    }
                ],
            }
        )
    )
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    ecr.create_repository_creation_template(
        prefix="quay",
        description="HealthOmics access for images cached from quay.io",
        appliedFor=["PULL_THROUGH_CACHE"],
        repositoryPolicy=json.dumps(omics_pull),
    )

    secret = secrets.create_secret(
        Name="ecr-pullthroughcache/docker-hub",
        SecretString=json.dumps({"username": "demo", "accessToken": "demo-token"}),
    )
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="registry-1.docker.io", credentialArn=secret["ARN"]
    )
