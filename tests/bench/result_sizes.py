"""Benchmark: how many bytes our tool results (and tools/list) take next to the Python reference server's
(`awslabs.aws-healthomics-mcp-server`), measured in one run against one testbed with the same MCP client.

Both servers run over stdio under the official Python MCP client, each with the same hermetic environment pointed at
the testbed (`AWS_ENDPOINT_URL`, `AWS_REGION`, fake credentials), and each on a freshly reset and identically seeded
small account (so the calls that change the account do not see each other's effects). For every call it counts the
bytes the client receives: the text content and the `structuredContent` (compact JSON), plus, separately, the
bytes of the log notifications the call caused. It also measures ListECRRepositories bytes per repository on an
account with 100 repositories and the size of tools/list (compact JSON, with and without outputSchema).

The reference runs from its own venv, `.venv-reference` (created here and filled with pip on first use). Prints a
table and writes `target/bench/result_sizes.json`; asserts nothing except that no call failed unexpectedly. Run:
`.venv/bin/python tests/bench/result_sizes.py [path/to/healthomics-ecr-mcp]`.
"""

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import venv
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "testbed"), str(REPO / "tests" / "integration")]

import oci_images  # noqa: E402
from account import (  # noqa: E402
    client,
    omics_pull,
    policy,
    put_registry_statements,
    registry_grant,
    usable_cache,
)
from harness import Testbed  # noqa: E402
from mcp_harness import CALL_TIMEOUT_S, DEFAULT_BINARY, hermetic_env, mirrors_env  # noqa: E402

REFERENCE_PACKAGE = "awslabs.aws-healthomics-mcp-server==0.1.5"
REFERENCE_VENV = REPO / ".venv-reference"
REFERENCE_SCRIPT = REFERENCE_VENV / "bin" / "awslabs.aws-healthomics-mcp-server"
OUT = REPO / "target" / "bench" / "result_sizes.json"
RESPONSES = OUT.with_name("result_sizes.responses.json")  # every call's text content, to see where bytes go
UPSTREAMS = "quay.io,community.wave.seqera.io"  # real registries standing in for these hosts (see conftest.py)
WAVE = "community.wave.seqera.io"
MANY = 100  # repositories for the bytes-per-repository measurement


# --- the reference server's venv -------------------------------------------------------------------------------------


def reference_command() -> list[str]:
    """The reference server's console script, installing it into .venv-reference if it is not there yet."""
    if not REFERENCE_SCRIPT.is_file():
        if not (REFERENCE_VENV / "bin" / "python").is_file():
            print(f"creating {REFERENCE_VENV} ...", file=sys.stderr)
            venv.create(REFERENCE_VENV, with_pip=True)
        print(f"installing {REFERENCE_PACKAGE} into {REFERENCE_VENV} ...", file=sys.stderr)
        subprocess.run(
            [str(REFERENCE_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", REFERENCE_PACKAGE], check=True
        )
    return [str(REFERENCE_SCRIPT)]


# --- one MCP client for both servers ----------------------------------------------------------------------------------


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Server:
    session: ClientSession
    stderr_path: Path
    log_bytes: list[int] = field(default_factory=list)  # sizes of the log notifications received so far


@asynccontextmanager
async def stdio_server(command: list[str], env: dict[str, str], cwd: Path, stderr_path: Path) -> AsyncIterator[Server]:
    """Like mcp_harness.run_server, for any command, and counting the log notifications the server sends."""
    log_bytes: list[int] = []

    async def on_log(params) -> None:
        log_bytes.append(len(params.model_dump_json(by_alias=True, exclude_none=True).encode()))

    parameters = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(cwd))
    with open(stderr_path, "w") as errlog:
        async with (
            stdio_client(parameters, errlog=errlog) as (read, write),
            ClientSession(read, write, read_timeout_seconds=CALL_TIMEOUT_S, logging_callback=on_log) as session,
        ):
            await session.initialize()
            yield Server(session, stderr_path, log_bytes)


async def measure(server: Server, tool: str, args: dict) -> dict:
    """Calls `tool` and sizes what the client got: text content, structuredContent (compact JSON), log notes."""
    logs_before = len(server.log_bytes)
    result = await server.session.call_tool(tool, args)
    await asyncio.sleep(0.05)  # let the notifications sent just before the result be handled
    text = "\n".join(block.text for block in result.content if block.type == "text")
    structured = result.structured_content
    text_bytes = len(text.encode())
    structured_bytes = len(compact(structured)) if structured is not None else 0
    return {
        "is_error": bool(result.is_error),
        "text_bytes": text_bytes,
        "structured_bytes": structured_bytes,
        "bytes": text_bytes + structured_bytes,
        "log_notifications": len(server.log_bytes) - logs_before,
        "log_bytes": sum(server.log_bytes[logs_before:]),
        "structured": structured,
        "text": text,
    }


async def tools_list_sizes(server: Server, only: set[str] | None = None) -> dict:
    tools = [
        t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in (await server.session.list_tools()).tools
    ]
    if only is not None:
        tools = [t for t in tools if t["name"] in only]
    without = [{k: v for k, v in t.items() if k != "outputSchema"} for t in tools]
    return {
        "tools": len(tools),
        "with_output_schema_bytes": len(compact({"tools": tools})),
        "without_output_schema_bytes": len(compact({"tools": without})),
    }


# --- the account ------------------------------------------------------------------------------------------------------


def registry_password(ecr) -> str:
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().partition(":")[2]


def seed_small_account(testbed) -> None:
    """Five repositories (HealthOmics can pull; no policy; only one of the pull actions; another principal only;
    allowed but denied by a Deny statement), one image, a usable quay cache and a Docker Hub cache without template."""
    ecr = client(testbed, "ecr")
    sm = client(testbed, "secretsmanager")
    for name in ("bench/bwa", "bench/samtools", "bench/fastqc", "bench/gatk", "bench/multiqc"):
        ecr.create_repository(repositoryName=name)
    ecr.set_repository_policy(repositoryName="bench/bwa", policyText=policy(omics_pull()))
    ecr.set_repository_policy(
        repositoryName="bench/fastqc", policyText=policy(omics_pull(actions=["ecr:BatchGetImage"]))
    )
    other = {
        "Sid": "CiPush",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:PutImage"],
    }
    ecr.set_repository_policy(repositoryName="bench/gatk", policyText=policy(other))
    deny = {**omics_pull("NoOmics"), "Effect": "Deny", "Action": ["ecr:BatchGetImage"]}
    ecr.set_repository_policy(repositoryName="bench/multiqc", policyText=policy(omics_pull(), deny))
    oci_images.Registry(testbed.registry_endpoint, "AWS", registry_password(ecr)).push_image(
        "bench/bwa", "0.7.17", oci_images.build_image("amd64")
    )

    usable_cache(testbed, ecr, "quay", "quay.io")
    put_registry_statements(ecr, registry_grant(testbed, "quay"))
    secret = sm.create_secret(
        Name="ecr-pullthroughcache/docker-hub", SecretString=json.dumps({"username": "u", "accessToken": "t"})
    )["ARN"]
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="registry-1.docker.io", credentialArn=secret
    )


def seed_many_repositories(testbed) -> None:
    ecr = client(testbed, "ecr")
    for i in range(MANY):
        ecr.create_repository(repositoryName=f"bench/repo-{i:03d}")
        if i % 2:
            ecr.set_repository_policy(repositoryName=f"bench/repo-{i:03d}", policyText=policy(omics_pull()))


# --- the calls --------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    tool: str
    ours: dict
    reference: dict | None  # None: not run on the reference
    why_not: str = ""  # why, when reference is None


def cases(testbed) -> list[Case]:
    ecr_host = f"{testbed.account_id}.dkr.ecr.{testbed.region}.amazonaws.com"
    image_mappings = [
        {"sourceImage": f"{WAVE}/library/samtools:1.19--abc", "destinationImage": f"{ecr_host}/wave/samtools:1.19"},
        {"sourceImage": "nvcr.io/nvidia/clara/parabricks:4.3.0-1", "destinationImage": f"{ecr_host}/nv/pb:4.3.0-1"},
        {"sourceImage": "ubuntu:22.04", "destinationImage": f"{ecr_host}/base/ubuntu:22.04"},
    ]
    images = ["quay.io/test/amd64:1", f"{WAVE}/test/amd64:1", "ubuntu:22.04"]
    same = lambda name, tool, args: Case(name, tool, args, args)  # noqa: E731
    return [
        same("ListECRRepositories default", "ListECRRepositories", {}),
        same("ListECRRepositories filter", "ListECRRepositories", {"filter_healthomics_accessible": True}),
        same("ListECRRepositories max_results=2", "ListECRRepositories", {"max_results": 2}),
        same("ListPullThroughCacheRules", "ListPullThroughCacheRules", {}),
        same("ValidateHealthOmicsECRConfig", "ValidateHealthOmicsECRConfig", {}),
        same(
            "CheckContainer existing",
            "CheckContainerAvailability",
            {"repository_name": "bench/bwa", "image_tag": "0.7.17"},
        ),
        same(
            "CheckContainer missing tag",
            "CheckContainerAvailability",
            {"repository_name": "bench/bwa", "image_tag": "no-such-tag"},
        ),
        same(
            "CheckContainer missing repository",
            "CheckContainerAvailability",
            {"repository_name": "bench/no-such-repo", "image_tag": "1"},
        ),
        same(
            "CheckContainer cache, not pulled",
            "CheckContainerAvailability",
            {"repository_name": "quay/test/amd64", "image_tag": "1"},
        ),
        Case(
            "Grant dry_run",
            "GrantHealthOmicsRepositoryAccess",
            {"repository_name": "bench/samtools", "dry_run": True},
            None,
            "no dry_run parameter there (its Grant always writes)",
        ),
        same("Grant no policy (writes)", "GrantHealthOmicsRepositoryAccess", {"repository_name": "bench/samtools"}),
        same("Grant already accessible", "GrantHealthOmicsRepositoryAccess", {"repository_name": "bench/bwa"}),
        same(
            "CreatePTC ecr-public (writes)",
            "CreatePullThroughCacheForHealthOmics",
            {"upstream_registry": "ecr-public"},
        ),
        same("CreateContainerRegistryMap default", "CreateContainerRegistryMap", {}),
        same(
            "CreateContainerRegistryMap 3 image mappings",
            "CreateContainerRegistryMap",
            {"image_mappings": image_mappings},
        ),
        Case(
            "CreateContainerRegistryMap 3 images",
            "CreateContainerRegistryMap",
            {"container_images": images},
            None,
            "no container_images parameter there",
        ),
        same("Clone via quay cache (writes)", "CloneContainerToECR", {"source_image": "quay.io/test/amd64:1"}),
        Case(
            "Clone from Wave, no cache (writes)",
            "CloneContainerToECR",
            {"source_image": f"{WAVE}/test/entrypoint:1"},
            None,
            "not comparable: the reference copies from registries without a cache with AWS CodeBuild",
        ),
    ]


def body(side: str, structured: dict | None) -> dict:
    """The result object: the reference (FastMCP) wraps it as {"result": ...} in structuredContent."""
    structured = structured or {}
    return structured.get("result", structured) if side == "reference" else structured


def row_count(side: str, structured: dict | None) -> int:
    return len(body(side, structured).get("repositories", []))


def refusal(side: str, result: dict) -> str:
    """How a call failed, if it did: a tool error, or the reference's {"error": ...} answer (not a tool error)."""
    if result["is_error"]:
        return "tool error"
    if side == "reference" and "error" in body(side, result["structured"]):
        return "error answer"
    return ""


# --- the run ----------------------------------------------------------------------------------------------------------


async def run_side(side, command, testbed, env, scratch, all_cases) -> tuple[dict, dict]:
    """Resets and seeds the account, then makes every call of `side` in one session; returns sizes and tools/list."""
    testbed.admin("reset")
    seed_small_account(testbed)
    results = {}
    async with stdio_server(command, env, scratch, scratch / f"{side}.stderr") as server:
        lists = {"all": await tools_list_sizes(server)}
        if side == "reference":
            lists["ecr_tools"] = await tools_list_sizes(server, {c.tool for c in all_cases})
        for case in all_cases:
            args = case.ours if side == "ours" else case.reference
            if args is None:
                continue
            results[case.name] = await measure(server, case.tool, args)
    return results, lists


async def measure_once(command, env, scratch, label: str, tool: str, args: dict) -> dict:
    """One call of `tool` on a server started for it (its stderr in `<label>.stderr`)."""
    async with stdio_server(command, env, scratch, scratch / f"{label}.stderr") as server:
        return await measure(server, tool, args)


async def per_repository(command, side, env, scratch) -> dict:
    out = await measure_once(command, env, scratch, f"{side}-many", "ListECRRepositories", {})
    rows = row_count(side, out["structured"])
    return {
        "repositories_returned": rows,
        "bytes": out["bytes"],
        "text_bytes": out["text_bytes"],
        "is_error": out["is_error"],
        "bytes_per_repository": round(out["bytes"] / rows, 1) if rows else None,
        "text_bytes_per_repository": round(out["text_bytes"] / rows, 1) if rows else None,
        "log_notifications": out["log_notifications"],
        "log_bytes": out["log_bytes"],
    }


PIPELINE_IMAGES = 50  # images of the generated pipeline whose coverage is measured
PIPELINE_HOSTS = (
    "quay.io/biocontainers",
    "community.wave.seqera.io/library",
    "docker.io/library",
    "ghcr.io/org",
    "public.ecr.aws/lts",
    "nvcr.io/nvidia",
    "registry.example.org/tools",
)


def write_pipeline(folder: Path) -> Path:
    """A Nextflow workflow of PIPELINE_IMAGES processes, each with its own image, across seven kinds of registry."""
    folder.mkdir(parents=True, exist_ok=True)
    processes = [
        f"process P{i} {{\n    container '{PIPELINE_HOSTS[i % len(PIPELINE_HOSTS)]}/tool{i}:1.{i}'\n"
        f"    script:\n    \"echo {i}\"\n}}\n"
        for i in range(PIPELINE_IMAGES)
    ]
    calls = "\n".join(f"    P{i}()" for i in range(PIPELINE_IMAGES))
    (folder / "main.nf").write_text("\n".join(processes) + f"\nworkflow {{\n{calls}\n}}\n")
    return folder


async def pipeline_coverage(command, env, scratch) -> dict:
    """CreateContainerRegistryMap's coverage of the generated pipeline (the reference cannot scan a workflow)."""
    folder = write_pipeline(scratch / "pipeline")
    args = {"workflow_definition": str(folder)}
    out = await measure_once(command, env, scratch, "ours-pipeline", "CreateContainerRegistryMap", args)
    images = len(((out["structured"] or {}).get("coverage") or {}).get("images", []))
    return {
        "images": images,
        "bytes": out["bytes"],
        "text_bytes": out["text_bytes"],
        "is_error": out["is_error"],
        "text_bytes_per_image": round(out["text_bytes"] / images, 1) if images else None,
    }


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


SIZES = ("text_bytes", "structured_bytes", "bytes", "log_notifications", "log_bytes", "is_error")


def build_report(all_cases, ours, reference, many, lists, pipeline=None) -> dict:
    both = [c.name for c in all_cases if c.name in reference]

    def total(side: dict, key: str) -> int:
        return sum(side[n][key] for n in both)

    failures = [
        f"{side}: {name}: {refusal(side, r)}: {r['text'][:300]}"
        for side, results in (("ours", ours), ("reference", reference))
        for name, r in results.items()
        if refusal(side, r)
    ]
    failures += [
        f"{side}: ListECRRepositories on {MANY} repositories: {m}"
        for side, m in many.items()
        if m["is_error"] or m["repositories_returned"] != MANY
    ]
    return {
        "reference_package": REFERENCE_PACKAGE,
        "bytes": "UTF-8 length of the text content + compact JSON of structuredContent; ratio = ours / reference",
        "calls": [
            {
                "name": c.name,
                "tool": c.tool,
                "ours_arguments": c.ours,
                "reference_arguments": c.reference,
                "ours": {k: ours[c.name][k] for k in SIZES},
                "reference": {k: reference[c.name][k] for k in SIZES} if c.name in reference else None,
                "not_on_reference": c.why_not or None,
                "ratio": ratio(ours[c.name]["bytes"], reference[c.name]["bytes"]) if c.name in reference else None,
            }
            for c in all_cases
        ],
        "totals_over_calls_both_ran": {
            "calls": len(both),
            **{f"{side}_{key}": total(results, key) for side, results in (("ours", ours), ("reference", reference))
               for key in ("text_bytes", "structured_bytes", "bytes", "log_notifications", "log_bytes")},
            "ratio": ratio(total(ours, "bytes"), total(reference, "bytes")),
            "text_ratio": ratio(total(ours, "text_bytes"), total(reference, "text_bytes")),
        },
        "list_repositories_per_repository": {
            "repositories": MANY,
            **many,
            "ratio": ratio(many["ours"]["bytes_per_repository"], many["reference"]["bytes_per_repository"]),
        },
        "tools_list": lists,
        "pipeline_coverage": pipeline,
        "failures": failures
        + ([f"ours: pipeline coverage: {pipeline}"] if pipeline and (pipeline["is_error"] or
                                                                      pipeline["images"] != PIPELINE_IMAGES) else []),
    }


def render(report: dict) -> str:
    row = "{:<44} {:>9} {:>8} {:>7}   {:>8} {:>8} {:>7} {:>6}  {:>9}"
    head = row.format("call", "ours text", "+struct", "= ours", "ref text", "+struct", "= ref", "ratio", "ref logs")
    rule = "-" * len(head)
    lines = [head, rule]
    for call in report["calls"]:
        o, r = call["ours"], call["reference"]
        mine = (o["text_bytes"], o["structured_bytes"], o["bytes"])
        if r is None:
            skipped = f"   skipped: {call['not_on_reference']}"
            lines.append(row.format(call["name"], *mine, "", "", "", "", "").rstrip() + skipped)
            continue
        logs = f"{r['log_notifications']}/{r['log_bytes']}B" if r["log_notifications"] else "-"
        theirs = (r["text_bytes"], r["structured_bytes"], r["bytes"])
        lines.append(row.format(call["name"], *mine, *theirs, call["ratio"], logs))
    t = report["totals_over_calls_both_ran"]
    lines += [
        rule,
        row.format(
            f"total over the {t['calls']} calls both ran",
            t["ours_text_bytes"], t["ours_structured_bytes"], t["ours_bytes"],
            t["reference_text_bytes"], t["reference_structured_bytes"], t["reference_bytes"], t["ratio"],
            f"{t['reference_log_notifications']}/{t['reference_log_bytes']}B",
        ),
        f"ratio = ours / reference of text + structuredContent (text alone: {t['text_ratio']}); "
        f"log notifications: ours {t['ours_log_notifications']}, reference {t['reference_log_notifications']}",
        "",
    ]
    per = report["list_repositories_per_repository"]
    lines.append(f"ListECRRepositories on {per['repositories']} repositories, default parameters:")
    for side in ("ours", "reference"):
        m = per[side]
        lines.append(
            f"  {side:<10} {m['repositories_returned']} rows, {m['bytes']} B ({m['text_bytes']} text): "
            f"{m['bytes_per_repository']} B per repository ({m['text_bytes_per_repository']} text); "
            f"{m['log_notifications']} log notifications ({m['log_bytes']} B)"
        )
    lines += [f"  ratio ours / reference per repository: {per['ratio']}", ""]
    pipe = report.get("pipeline_coverage")
    if pipe:
        lines += [
            f"CreateContainerRegistryMap coverage of a {pipe['images']}-image Nextflow pipeline (ours only; the "
            f"reference cannot scan a workflow): {pipe['text_bytes']} B text, {pipe['text_bytes_per_image']} B per image",
            "",
        ]
    lines.append("tools/list, compact JSON, with outputSchema / without:")
    for side, key, label in (
        ("ours", "all", "all"),
        ("reference", "ecr_tools", "its ECR tools"),
        ("reference", "all", "all its tools"),
    ):
        sizes = report["tools_list"][side][key]
        lines.append(
            f"  {side:<10} {sizes['tools']:>3} tools ({label}): "
            f"{sizes['with_output_schema_bytes']} / {sizes['without_output_schema_bytes']} B"
        )
    return "\n".join(lines)


async def sizes(testbed, env: dict[str, str], scratch: Path, ours_command, ref_command) -> tuple[dict, dict]:
    """The whole measurement on a running testbed started with `--upstream-registries UPSTREAMS --seed-upstreams`
    (`env` reaching it, with the upstream mirrors for ours); resets the account itself. Returns the report and every
    call's text content by side. tests/bench/run.py calls this too."""
    all_cases = cases(testbed)
    ours, ours_lists = await run_side("ours", ours_command, testbed, env, scratch, all_cases)
    reference, ref_lists = await run_side("reference", ref_command, testbed, env, scratch, all_cases)
    testbed.admin("reset")
    seed_many_repositories(testbed)
    many = {
        "ours": await per_repository(ours_command, "ours", env, scratch),
        "reference": await per_repository(ref_command, "reference", env, scratch),
    }
    testbed.admin("reset")
    seed_small_account(testbed)
    pipeline = await pipeline_coverage(ours_command, env, scratch)
    report = build_report(all_cases, ours, reference, many, {"ours": ours_lists, "reference": ref_lists}, pipeline)
    texts = {"ours": {n: r["text"] for n, r in ours.items()}, "reference": {n: r["text"] for n, r in reference.items()}}
    return report, texts


async def main(binary: Path) -> int:
    ours_command, ref_command = [str(binary)], reference_command()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        home = scratch / "home"
        home.mkdir()
        testbed = Testbed.start(scratch / "testbed.log", "--upstream-registries", UPSTREAMS, "--seed-upstreams")
        try:
            env = hermetic_env(testbed.aws_endpoint, testbed.region, home)
            env["HEALTHOMICS_ECR_REGISTRY_MIRRORS"] = mirrors_env(testbed)
            report, texts = await sizes(testbed, env, scratch, ours_command, ref_command)
        finally:
            testbed.stop()

    print(render(report))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    RESPONSES.write_text(json.dumps(texts, indent=2) + "\n")
    print(f"\nwrote {OUT.relative_to(REPO)} and {RESPONSES.name}")
    if report["failures"]:
        print("\ncalls that failed:\n  " + "\n  ".join(report["failures"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HEALTHOMICS_ECR_MCP_BIN", DEFAULT_BINARY))
    if not path.is_file():
        sys.exit(f"server binary {path} not found: run `cargo build` or pass its path")
    sys.exit(asyncio.run(main(path.resolve())))
