"""GrantHealthOmicsRepositoryAccess: merge, verify, dry run, and every refusal changing nothing."""

import json

import pytest
from account import OMICS, PULL_ACTIONS, client, deny, omics_pull, policy
from mcp_harness import call

TOOL = "GrantHealthOmicsRepositoryAccess"


@pytest.fixture
def ecr(testbed):
    e = client(testbed, "ecr")
    e.create_repository(repositoryName="tools/samtools")
    return e


def current_policy(ecr, name="tools/samtools"):
    try:
        return json.loads(ecr.get_repository_policy(repositoryName=name)["policyText"])
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        return None


FOREIGN = [
    {
        "Sid": "LambdaPull",
        "Effect": "Allow",
        "Principal": {"Service": ["lambda.amazonaws.com", OMICS]},
        "Action": ["ecr:BatchGetImage"],
    },
    {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": "ecr:DeleteRepository"},
    {
        "Sid": "OneWorkflowOnly",
        "Effect": "Allow",
        "Principal": {"Service": OMICS},
        "Action": "ecr:BatchGetImage",
        "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:omics:us-east-1:123456789012:workflow/1234567"}},
    },
    # What the Python server wrote: two actions under its own Sid.
    {
        "Sid": "HealthOmicsAccess",
        "Effect": "Allow",
        "Principal": {"Service": OMICS},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    },
]


async def test_creates_a_policy_and_verifies_it(mcp_client, ecr):
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, {"repository_name": "tools/samtools", "detail": True})
    assert not is_error, text
    assert out["success"] and out["verified"] and out["policy_created"] and out["policy_updated"]
    assert out["previous_healthomics_accessible"] == "not_accessible"
    assert out["current_healthomics_accessible"] == "accessible"
    stored = current_policy(ecr)
    ours = [s for s in stored["Statement"] if s["Sid"] == "HealthOmicsImagePull"]
    assert len(ours) == 1 and sorted(ours[0]["Action"]) == sorted(PULL_ACTIONS)
    assert ours[0]["Principal"] == {"Service": OMICS}
    assert out["policy_after"] == stored


async def test_every_foreign_statement_survives_unchanged(mcp_client, ecr):
    ecr.set_repository_policy(repositoryName="tools/samtools", policyText=policy(*FOREIGN))
    before = current_policy(ecr)
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, {"repository_name": "tools/samtools"})
        assert not is_error, text
        # A second run is a no-op.
        is_error, again, text = await call(server.session, TOOL, {"repository_name": "tools/samtools"})
    assert not is_error, text
    after = current_policy(ecr)
    assert after["Statement"][: len(FOREIGN)] == before["Statement"]
    assert [s["Sid"] for s in after["Statement"]] == [s["Sid"] for s in FOREIGN] + ["HealthOmicsImagePull"]
    assert out["added_statement_sids"] == ["HealthOmicsImagePull"]
    assert again["policy_updated"] is False and again["current_healthomics_accessible"] == "accessible"
    # Without detail the result leaves out the documents and, when HealthOmics can pull, the
    # per-action verdicts.
    for absent in ("policy_before", "policy_after", "current_access"):
        assert absent not in out, absent


async def test_dry_run_changes_nothing_and_shows_the_change(mcp_client, ecr):
    ecr.set_repository_policy(repositoryName="tools/samtools", policyText=policy(FOREIGN[1]))
    before = current_policy(ecr)
    async with mcp_client() as server:
        is_error, out, text = await call(
            server.session, TOOL, {"repository_name": "tools/samtools", "dry_run": True, "detail": True}
        )
    assert not is_error, text
    assert out["dry_run"] and not out["verified"]
    # Nothing in a dry run reads as done: the plan is under dry_run_plan, the rest is today's state.
    assert out["policy_updated"] is False and out["policy_created"] is False and "policy_after" not in out
    assert out["current_healthomics_accessible"] == "not_accessible"
    plan = out["dry_run_plan"]
    assert plan["would_update_policy"] and not plan["would_create_policy"]
    assert plan["planned_healthomics_accessible"] == "accessible"
    assert out["policy_before"] == before
    assert [s["Sid"] for s in plan["planned_policy"]["Statement"]] == ["NoDelete", "HealthOmicsImagePull"]
    assert current_policy(ecr) == before


async def test_invalid_existing_policy_is_an_error_and_nothing_is_written(mcp_client, ecr, admin):
    admin("raw-repository-policy", {"repositoryName": "tools/samtools", "policyText": '{"Statement": ['})
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, {"repository_name": "tools/samtools"})
    assert is_error
    assert out["error"]["code"] == "invalid_policy"
    assert "Nothing was changed" in out["error"]["message"]
    assert "SetRepositoryPolicy" not in admin("faults")["calls"].get("ecr", {})


async def test_a_foreign_deny_is_not_removed_and_blocks_with_a_clear_error(mcp_client, ecr, admin):
    deny = {"Sid": "Quarantine", "Effect": "Deny", "Principal": {"Service": OMICS}, "Action": "ecr:*"}
    ecr.set_repository_policy(repositoryName="tools/samtools", policyText=policy(deny))
    before = current_policy(ecr)
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, {"repository_name": "tools/samtools"})
    assert is_error and out["error"]["code"] == "conflict"
    assert "Quarantine" in out["error"]["message"]
    assert current_policy(ecr) == before


async def test_missing_repository(mcp_client, ecr):
    async with mcp_client() as server:
        is_error, out, _ = await call(server.session, TOOL, {"repository_name": "no/such-repo"})
    assert is_error and out["error"]["code"] == "not_found"
    assert "ListECRRepositories" in out["error"]["remediation"]


async def test_denied_write_names_the_action_and_leaves_the_policy(mcp_client, ecr, admin):
    async with mcp_client() as server:
        deny(admin, "ecr", "SetRepositoryPolicy", "not authorized")
        is_error, out, _ = await call(server.session, TOOL, {"repository_name": "tools/samtools"})
    assert is_error and out["error"]["code"] == "access_denied"
    assert "`ecr:SetRepositoryPolicy`" in out["error"]["remediation"]
    assert current_policy(ecr) is None


async def test_workflow_owner_accounts_get_their_own_statement(mcp_client, ecr):
    args = {"repository_name": "tools/samtools", "workflow_owner_account_ids": ["111122223333"]}
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, args)
        assert not is_error, text
        is_error, bad, _ = await call(server.session, TOOL, {**args, "workflow_owner_account_ids": ["12345"]})
    assert is_error and bad["error"]["code"] == "invalid_input"
    owner = [s for s in current_policy(ecr)["Statement"] if s["Sid"] == "HealthOmicsWorkflowOwnerPull"]
    assert owner and "arn:aws:iam::111122223333:root" in json.dumps(owner[0]["Principal"])


async def test_accepts_a_full_ecr_uri(mcp_client, ecr, testbed):
    uri = f"{testbed.account_id}.dkr.ecr.{testbed.region}.amazonaws.com/tools/samtools:1.19"
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, {"repository_name": uri})
    assert not is_error, text
    assert out["repository_name"] == "tools/samtools"


async def test_already_accessible_through_another_statement_writes_nothing(mcp_client, ecr, admin):
    ecr.set_repository_policy(repositoryName="tools/samtools", policyText=policy(omics_pull("Theirs")))
    admin("calls/reset")
    async with mcp_client() as server:
        is_error, out, text = await call(server.session, TOOL, {"repository_name": "tools/samtools"})
    assert not is_error, text
    assert out["policy_updated"] is False
    assert "SetRepositoryPolicy" not in admin("faults")["calls"].get("ecr", {})
