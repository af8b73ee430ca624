"""Fixtures for the testbed's own tests: one testbed per session, reset before every test, boto3 clients on it."""

import boto3
import pytest
from botocore.config import Config

from harness import Testbed


@pytest.fixture(scope="session")
def testbed(tmp_path_factory):
    testbed = Testbed.start(tmp_path_factory.mktemp("testbed") / "testbed.log")
    yield testbed
    testbed.stop()


@pytest.fixture(autouse=True)
def _fresh_state(testbed):
    testbed.admin("reset")


def _client(testbed, service: str, **config):
    return boto3.client(
        service,
        endpoint_url=testbed.aws_endpoint,
        region_name=testbed.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # One attempt: a retried fault would hide what the testbed answered.
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


@pytest.fixture
def ecr(testbed):
    return _client(testbed, "ecr")


@pytest.fixture
def raw_ecr(testbed):
    """An ECR client that sends parameters boto3 itself would refuse, to reach the testbed's own validation."""
    return _client(testbed, "ecr", parameter_validation=False)


@pytest.fixture
def secrets(testbed):
    return _client(testbed, "secretsmanager")


@pytest.fixture
def sts(testbed):
    return _client(testbed, "sts")


@pytest.fixture
def omics(testbed):
    # botocore would prepend "workflows-" to the endpoint host, as the Rust SDK does; the server strips it.
    return _client(testbed, "omics", inject_host_prefix=False)
