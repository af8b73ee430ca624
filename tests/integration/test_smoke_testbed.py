"""The integration fixtures that need no server binary: the testbed is up, reachable and reset between tests."""

import boto3


def test_testbed_answers_aws_calls(testbed):
    ecr = boto3.client(
        "ecr",
        endpoint_url=testbed.aws_endpoint,
        region_name=testbed.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert ecr.describe_registry()["registryId"] == testbed.account_id


def test_state_left_by_one_test(admin):
    admin("faults", {"service": "ecr", "operation": "DescribeRepositories", "kind": "throttle", "count": 3})
    admin("latency", {"ms": 10})
    assert len(admin("faults")["faults"]) == 1


def test_is_gone_in_the_next(admin):
    state = admin("faults")
    assert (state["faults"], state["latency_ms"], state["calls"]) == ([], 0, {})
