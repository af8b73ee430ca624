"""The benchmark: our server against the Python reference server, and our copy against skopeo, in one run.

Both servers (our binary, and `awslabs.aws-healthomics-mcp-server==0.1.5` installed by result_sizes.py into
`.venv-reference`) run over stdio under the same official MCP client, in the same hermetic environment, against one
testbed (tests/testbed), and are measured side by side:

- startup: cold start (spawn -> initialize answered), and spawn -> the first tools/list answered (our server builds
  its tool schemas while it initializes, so initialize alone would flatter it), tools/list time, peak RSS (VmHWM
  of the server process, read from /proc after the per-tool workload);
- every tool both servers have: first call, then median and p90 over N calls, on the same small seeded account;
- ListECRRepositories over 300 and 1,000 repositories (first page, and the full walk following next_token), with 0,
  20 and 60 ms of latency injected by the testbed; next to them the testbed's own floor: the same reads made
  directly with boto3 (DescribeRepositories pages, GetRepositoryPolicy for each repository, 32 in flight), so a
  figure that the emulator's CPU or the latency bounds reads as such;
- ValidateHealthOmicsECRConfig and ListPullThroughCacheRules on an account with 50 cache rules;
- result bytes (result_sizes.py's measurement, called as a module);
- copies through the CloneContainerToECR tool against `skopeo copy` of the same image from a local registry to the
  testbed's ECR registry endpoint: alternating rounds and their median ratio; a re-clone into the repository that
  already holds the blobs (time, and bytes the source registry read: its /proc/PID/io rchar); a copy into a second
  repository of the same registry (MountBlob calls the testbed counted, bytes it wrote: its wchar; ours (round 0's server)
  mounts from where it put the blobs, skopeo from what its blob-info cache of round 0 knows); peak RSS while
  copying a 2 GiB image of random layers.

Prints each figure with both columns and the ratio (ours / the other), writes `target/bench/run.json` (and
result_sizes.json), and asserts nothing: timings are not tests. Run the full benchmark on the release binary:

    cargo build --release --locked && .venv/bin/python tests/bench/run.py

and, while developing, `.venv/bin/python tests/bench/run.py --quick` (small counts, the debug binary by default).
skopeo runs as the unprivileged user `nobody` with a fresh HOME per copy, so its blob-info cache (which root keeps
for good in /var/lib/containers) does not let it mount blobs it saw in an earlier round; likewise each of our copy
rounds is a fresh server process, whose memory of where blobs are starts empty (round 0's is kept for the re-clone
and the second repository).
"""

import argparse
import asyncio
import base64
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))

import big_image  # noqa: E402
import result_sizes  # noqa: E402  (also puts tests/testbed and tests/integration on sys.path)
from account import client, omics_pull, policy, put_registry_statements, registry_grant, usable_cache  # noqa: E402
from harness import Testbed  # noqa: E402
from mcp_harness import hermetic_env  # noqa: E402

REPO = result_sizes.REPO
OUT = REPO / "target" / "bench" / "run.json"
RELEASE = REPO / "target" / "release" / "healthomics-ecr-mcp"
DEBUG = REPO / "target" / "debug" / "healthomics-ecr-mcp"
WAVE = result_sizes.WAVE
NOBODY = 65534
FLOOR_IN_FLIGHT = 32
PAGE = 100  # DescribeRepositories page of the floor; both servers' default max_results


@dataclass(frozen=True)
class Mode:
    cold_starts: int
    calls: int  # timed calls per tool (after one first call)
    repository_counts: tuple[int, ...]
    latencies_ms: tuple[int, ...]
    walk_rounds: int  # ours and the floor
    reference_walk_rounds: int  # the reference's walks are slow and paced by its serial reads, so steadier
    rules: int
    copy_mib: int
    copy_layers: int
    copy_rounds: int
    big_mib: int
    big_layers: int


FULL = Mode(10, 10, (300, 1000), (0, 20, 60), 3, 1, 50, 512, 4, 3, 2048, 8)
QUICK = Mode(3, 3, (30, 120), (0, 20), 2, 1, 10, 24, 2, 2, 48, 2)


# --- figures ----------------------------------------------------------------------------------------------------------


class Figures:
    """Every measured figure, in order: ours, the other side's (reference, skopeo or the floor), their ratio."""

    def __init__(self):
        self.rows: list[dict] = []

    def add(self, section: str, figure: str, ours, other, unit: str, other_name: str = "reference", **extra) -> None:
        ratio = round(ours / other, 3) if isinstance(ours, (int, float)) and isinstance(other, (int, float)) and other else None
        self.rows.append(
            {"section": section, "figure": figure, "unit": unit, "ours": ours, "other_name": other_name,
             "other": other, "ratio": ratio, **extra}
        )
        extras = "  ".join(f"{k}={v}" for k, v in extra.items() if v not in (None, "", [], {}))
        print(f"  {figure:<58} {fmt(ours):>10} {fmt(other):>10} {unit:<4} {other_name:<9} "
              f"{fmt(ratio):>7}  {extras}", flush=True)


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def header(title: str) -> None:
    print(f"\n{title}\n  {'figure':<58} {'ours':>10} {'other':>10} {'unit':<4} {'other is':<9} {'ratio':>7}",
          flush=True)


def stats_ms(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p90_ms": round(ordered[math.ceil(0.9 * len(ordered)) - 1] * 1000, 2),
        "min_ms": round(ordered[0] * 1000, 2),
    }


def in_ms(samples_by_side: dict[str, list[float]]) -> dict[str, list[float]]:
    return {side: [round(s * 1000, 2) for s in samples] for side, samples in samples_by_side.items()}


# --- servers and processes --------------------------------------------------------------------------------------------


@dataclass
class Running:
    session: object
    pid: int
    cold_start_s: float
    first_list_s: float | None = None  # spawn -> the first tools/list answered, when asked for


_claimed: set[int] = set()


def child_pid(command: list[str]) -> int:
    """The pid of the newest child of this process whose command line holds command[0] (the reference is a
    Python script, so its path is argv[1] there)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in _claimed:
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == os.getpid() and command[0].encode() in argv:
            found.append(int(entry))
    if not found:
        raise RuntimeError(f"no child process runs {command[0]}")
    _claimed.add(max(found))
    return max(found)


def status_kib(pid: int, key: str) -> int | None:
    """A /proc/PID/status figure in KiB (VmHWM: peak resident set; VmRSS: now)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_breakdown(pid: int) -> dict:
    """Where the resident set is now, in KiB, from /proc/PID/smaps: the executable's own file mappings (its code and
    read-only data, paged in from the file), other files (shared libraries, Python's extension modules), and
    anonymous memory (heap, stacks, arenas). Page-cache pages count once they are mapped, so a large binary's
    code weighs here even though it is shared and never written."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        text = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:
        return {}
    kinds = {"executable": 0, "other_files": 0, "anonymous": 0}
    kind = "anonymous"
    for line in text.splitlines():
        head = line.split(maxsplit=5)
        if len(head) >= 5 and "-" in head[0] and not head[0].endswith(":"):
            path = head[5].strip() if len(head) == 6 else ""
            kind = ("executable" if path == exe else
                    "other_files" if path.startswith("/") else "anonymous")
        elif line.startswith("Rss:"):
            kinds[kind] += int(line.split()[1])
    return kinds


def io_count(pid: int, key: str) -> int:
    """/proc/PID/io's rchar or wchar: bytes passed through read(2)/write(2) and friends (files, and sockets when
    read with read(2) as Go does; Python's recv(2) is not counted)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} for {pid}")


def rchar(pid: int) -> int:
    """What the source registry (Go) read: blob files it served and the requests it got."""
    return io_count(pid, "rchar")


def wchar(pid: int) -> int:
    """What the testbed wrote: chiefly uploaded blob bytes streamed to its files (a mount writes none)."""
    return io_count(pid, "wchar")


@asynccontextmanager
async def serve(command: list[str], env: dict, scratch: Path, label: str, first_list: bool = False):
    """A server over stdio, initialized; with first_list, tools/list is asked right after initialize (before
    anything else, as a client does) and timed from the spawn too."""
    started = time.perf_counter()
    async with result_sizes.stdio_server(command, env, scratch, scratch / f"{label}.stderr") as server:
        cold = time.perf_counter() - started
        listed = None
        if first_list:
            await server.session.list_tools()
            listed = time.perf_counter() - started
        pid = child_pid(command)
        try:
            yield Running(server.session, pid, cold, listed)
        finally:
            _claimed.discard(pid)


def failed(side: str, result) -> bool:
    """A tool error, or the reference's {"error": ...} answer (which is not flagged as a tool error)."""
    body = result_sizes.body(side, result.structured_content)
    return bool(result.is_error) or (side == "reference" and isinstance(body, dict) and "error" in body)


async def timed(session, tool: str, args: dict):
    started = time.perf_counter()
    result = await session.call_tool(tool, args)
    return time.perf_counter() - started, result


# --- the account ------------------------------------------------------------------------------------------------------


def fast_ecr(testbed, pool: int = 64):
    """boto3 ECR with a connection pool wide enough for FLOOR_IN_FLIGHT threads."""
    return boto3.client(
        "ecr",
        endpoint_url=testbed.aws_endpoint,
        region_name=testbed.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=pool, inject_host_prefix=False),
    )


def seed_repositories(testbed, count: int) -> None:
    """`count` repositories, every other one with a HealthOmics pull policy (as result_sizes.py's 100)."""
    ecr = fast_ecr(testbed)

    def one(i: int) -> None:
        name = f"bench/repo-{i:04d}"
        ecr.create_repository(repositoryName=name)
        if i % 2:
            ecr.set_repository_policy(repositoryName=name, policyText=policy(omics_pull()))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def seed_rules(testbed, count: int) -> None:
    """`count` pull-through cache rules; every other one usable by HealthOmics (template and registry grant)."""
    ecr = client(testbed, "ecr")
    grants = []
    for i in range(count):
        prefix, upstream = f"cache{i:02d}", ("quay.io", "public.ecr.aws")[i % 2]
        if i % 2 == 0:
            usable_cache(testbed, ecr, prefix, upstream)
            grants.append(registry_grant(testbed, prefix, sid=f"OmicsPtc{i:02d}"))
        else:
            ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream)
    put_registry_statements(ecr, *grants)


def read_policy(ecr, name: str) -> None:
    """One GetRepositoryPolicy straight from boto3; a repository without a policy is an answer too."""
    try:
        ecr.get_repository_policy(repositoryName=name)
    except ecr.exceptions.RepositoryPolicyNotFoundException:
        pass


def floor_walk(ecr, first_page_only: bool) -> tuple[float, int]:
    """The testbed's floor: DescribeRepositories pages in order, GetRepositoryPolicy for each repository with
    FLOOR_IN_FLIGHT in flight, straight from boto3 (`ecr`: made once, since making a boto3 client takes longer
    than many calls). Returns (seconds, repositories)."""

    with ThreadPoolExecutor(FLOOR_IN_FLIGHT) as pool:
        started = time.perf_counter()
        futures, token = [], None
        while True:
            page = ecr.describe_repositories(maxResults=PAGE, **({"nextToken": token} if token else {}))
            futures += [pool.submit(read_policy, ecr, r["repositoryName"]) for r in page["repositories"]]
            token = page.get("nextToken")
            if not token or first_page_only:
                break
        for future in futures:
            future.result()
        return time.perf_counter() - started, len(futures)


def floor_list_call(ecr) -> float:
    """The testbed's floor for one default ListECRRepositories call on the small account: the reads ours makes
    (the cache rules with the first page, then every repository's policy at once), straight from boto3."""

    with ThreadPoolExecutor(FLOOR_IN_FLIGHT) as pool:
        started = time.perf_counter()
        rules = pool.submit(ecr.describe_pull_through_cache_rules)
        page = ecr.describe_repositories(maxResults=PAGE)
        rules.result()
        list(pool.map(lambda r: read_policy(ecr, r["repositoryName"]), page["repositories"]))
        return time.perf_counter() - started


# --- sections ---------------------------------------------------------------------------------------------------------


async def startup(figures, sides, env, scratch, mode) -> None:
    header("startup (spawn -> initialize answered; spawn -> first tools/list answered), alternating servers")
    colds = {name: [] for name in sides}
    lists = {name: [] for name in sides}
    for i in range(mode.cold_starts):
        for name, command in sides.items():
            async with serve(command, env, scratch, f"{name}-cold-{i}", first_list=True) as server:
                colds[name].append(server.cold_start_s)
                lists[name].append(server.first_list_s)
    o, r = stats_ms(colds["ours"]), stats_ms(colds["reference"])
    figures.add("startup", f"cold start, median of {o['n']}", o["median_ms"], r["median_ms"], "ms")
    figures.add("startup", f"cold start, p90 of {o['n']}", o["p90_ms"], r["p90_ms"], "ms")
    o, r = stats_ms(lists["ours"]), stats_ms(lists["reference"])
    figures.add("startup", f"spawn -> first tools/list answered, median of {o['n']}", o["median_ms"], r["median_ms"],
                "ms")
    figures.add("startup", f"spawn -> first tools/list answered, p90 of {o['n']}", o["p90_ms"], r["p90_ms"], "ms")
    return {"cold_start_ms": in_ms(colds), "first_list_ms": in_ms(lists)}


def tool_cases(testbed) -> list:
    """One call of each tool both servers have, with result_sizes.py's arguments."""
    wanted = [
        "ListECRRepositories default", "ListPullThroughCacheRules", "ValidateHealthOmicsECRConfig",
        "CheckContainer existing", "Grant already accessible", "CreatePTC ecr-public (writes)",
        "CreateContainerRegistryMap default", "Clone via quay cache (writes)",
    ]
    by_name = {case.name: case for case in result_sizes.cases(testbed)}
    return [by_name[name] for name in wanted]


async def workload(figures, sides, testbed, env, scratch, mode) -> dict:
    """tools/list and every common tool on a freshly seeded small account per server; then the server's peak RSS."""
    header(f"tools: first call, then median / p90 of {mode.calls} calls (small seeded account, each server its own)")
    out = {}
    cases = tool_cases(testbed)
    for name, command in sides.items():
        testbed.admin("reset")
        result_sizes.seed_small_account(testbed)
        side = out[name] = {"tools": {}}
        async with serve(command, env, scratch, f"{name}-workload") as server:
            lists = []
            for _ in range(mode.calls):
                started = time.perf_counter()
                await server.session.list_tools()
                lists.append(time.perf_counter() - started)
            side["tools/list"] = stats_ms(lists)
            for case in cases:
                first, result = await timed(server.session, case.tool, case.ours if name == "ours" else case.reference)
                samples, errors = [], int(failed(name, result))
                for _ in range(mode.calls):
                    seconds, result = await timed(server.session, case.tool,
                                                  case.ours if name == "ours" else case.reference)
                    samples.append(seconds)
                    errors += failed(name, result)
                side["tools"][case.name] = {"first_ms": round(first * 1000, 2), **stats_ms(samples), "errors": errors}
            if name == "ours":
                # The same account, read straight from boto3: what the emulator's CPU leaves for a listing call.
                floor_ecr = fast_ecr(testbed)
                await asyncio.to_thread(floor_list_call, floor_ecr)  # connections open
                floor = [await asyncio.to_thread(floor_list_call, floor_ecr) for _ in range(mode.calls)]
                side["list_floor"] = stats_ms(floor)
            side["peak_rss_kib"] = status_kib(server.pid, "VmHWM")
            side["rss_kib"] = status_kib(server.pid, "VmRSS")
            side["rss_breakdown_kib"] = rss_breakdown(server.pid)
    o, r = out["ours"], out["reference"]
    figures.add("tools", "tools/list, median", o["tools/list"]["median_ms"], r["tools/list"]["median_ms"], "ms")
    for case in cases:
        a, b = o["tools"][case.name], r["tools"][case.name]
        errors = f"ours {a['errors']}, reference {b['errors']}" if a["errors"] or b["errors"] else None
        figures.add("tools", f"{case.name}: first call", a["first_ms"], b["first_ms"], "ms")
        figures.add("tools", f"{case.name}: median", a["median_ms"], b["median_ms"], "ms", errors=errors)
        figures.add("tools", f"{case.name}: p90", a["p90_ms"], b["p90_ms"], "ms")
        if case.name == "ListECRRepositories default":
            floor = o["list_floor"]["median_ms"]
            figures.add("tools", f"{case.name}: median against the testbed's floor", a["median_ms"], floor, "ms",
                        other_name="floor")
    figures.add("startup", "peak RSS after the tool workload (VmHWM)", round(o["peak_rss_kib"] / 1024, 1),
                round(r["peak_rss_kib"] / 1024, 1), "MiB")
    for kind, label in (("executable", "the executable's file (code, read-only data)"),
                        ("other_files", "other files (shared libraries, modules)"), ("anonymous", "anonymous (heap, stacks)")):
        a, b = o["rss_breakdown_kib"].get(kind), r["rss_breakdown_kib"].get(kind)
        if a is not None and b is not None:
            figures.add("startup", f"  RSS then: {label}", round(a / 1024, 1), round(b / 1024, 1), "MiB")
    return out


async def walk(session, side: str, first_page_only: bool) -> tuple[float, int, int, bool]:
    """ListECRRepositories with default parameters, following next_token unless first_page_only.
    Returns (seconds, rows, pages, any error)."""
    started, rows, pages, token, error = time.perf_counter(), 0, 0, None, False
    while True:
        result = await session.call_tool("ListECRRepositories", {"next_token": token} if token else {})
        pages += 1
        error |= failed(side, result)
        body = result_sizes.body(side, result.structured_content)
        rows += len(body.get("repositories", []))
        token = body.get("next_token")
        if not token or first_page_only or error:
            return time.perf_counter() - started, rows, pages, error


async def listing(figures, sides, testbed, env, scratch, mode) -> dict:
    header(f"ListECRRepositories at scale, default page size: median of {mode.walk_rounds} round(s) for ours and the "
           f"floor, {mode.reference_walk_rounds} for the reference; floor = direct boto3 reads, "
           f"{FLOOR_IN_FLIGHT} in flight")
    out = {}
    for count in mode.repository_counts:
        testbed.admin("reset")
        seed_repositories(testbed, count)
        floor_ecr = fast_ecr(testbed)
        await asyncio.to_thread(floor_walk, floor_ecr, True)  # connections open
        async with AsyncExitStack() as stack:
            servers = {name: await stack.enter_async_context(serve(command, env, scratch, f"{name}-list-{count}"))
                       for name, command in sides.items()}
            for name, server in servers.items():  # clients built, account id known
                await server.session.call_tool("ListECRRepositories", {"max_results": 1})
            for latency in mode.latencies_ms:
                testbed.admin("latency", {"ms": latency})
                for what, first_only in (("first page", True), ("full walk", False)):
                    samples = {name: [] for name in [*servers, "floor"]}
                    rows, pages, errors = {}, {}, {}
                    for round_ in range(mode.walk_rounds):
                        for name, server in servers.items():
                            if name == "reference" and round_ >= mode.reference_walk_rounds:
                                continue
                            seconds, rows[name], pages[name], err = await walk(server.session, name, first_only)
                            samples[name].append(seconds)
                            errors[name] = errors.get(name, False) or err
                        seconds, rows["floor"] = await asyncio.to_thread(floor_walk, floor_ecr, first_only)
                        samples["floor"].append(seconds)
                    med = {name: round(statistics.median(s) * 1000, 1) for name, s in samples.items()}
                    key = f"{count} repositories, {latency} ms, {what}"
                    out[key] = {"median_ms": med, "samples_ms": {n: [round(x * 1000, 1) for x in s]
                                                                  for n, s in samples.items()},
                                "rows": rows, "pages": pages, "errors": errors}
                    figures.add("list", key, med["ours"], med["reference"], "ms", floor_ms=med["floor"],
                                ours_vs_floor=round(med["ours"] / med["floor"], 2) if med["floor"] else None,
                                rows=f"{rows['ours']}/{rows['reference']}/{rows['floor']}",
                                errors=[n for n, e in errors.items() if e])
            testbed.admin("latency", {"ms": 0})
    return out


async def rules(figures, sides, testbed, env, scratch, mode) -> dict:
    header(f"{mode.rules} pull-through cache rules: median / p90 of {mode.calls} calls")
    testbed.admin("reset")
    seed_rules(testbed, mode.rules)
    out = {}
    async with AsyncExitStack() as stack:
        servers = {name: await stack.enter_async_context(serve(command, env, scratch, f"{name}-rules"))
                   for name, command in sides.items()}
        for tool in ("ValidateHealthOmicsECRConfig", "ListPullThroughCacheRules"):
            samples = {name: [] for name in servers}
            errors = {name: 0 for name in servers}
            for name, server in servers.items():
                await server.session.call_tool(tool, {})  # warm
            for _ in range(mode.calls):
                for name, server in servers.items():
                    seconds, result = await timed(server.session, tool, {})
                    samples[name].append(seconds)
                    errors[name] += failed(name, result)
            s = {name: stats_ms(v) for name, v in samples.items()}
            out[tool] = {"stats": s, "errors": errors}
            errs = [f"{n} {e}" for n, e in errors.items() if e]
            figures.add("rules", f"{tool}, median", s["ours"]["median_ms"], s["reference"]["median_ms"], "ms",
                        errors=errs)
            figures.add("rules", f"{tool}, p90", s["ours"]["p90_ms"], s["reference"]["p90_ms"], "ms")
    return out


async def result_bytes(figures, sides, testbed, env, scratch) -> dict:
    header("result bytes (tests/bench/result_sizes.py), text + structuredContent")
    report, texts = await result_sizes.sizes(testbed, env, scratch, sides["ours"], sides["reference"])
    result_sizes.OUT.parent.mkdir(parents=True, exist_ok=True)
    result_sizes.OUT.write_text(json.dumps(report, indent=2) + "\n")
    result_sizes.RESPONSES.write_text(json.dumps(texts, indent=2) + "\n")
    t = report["totals_over_calls_both_ran"]
    figures.add("bytes", f"total over the {t['calls']} calls both ran", t["ours_bytes"], t["reference_bytes"], "B",
                failures=report["failures"])
    per = report["list_repositories_per_repository"]
    figures.add("bytes", f"ListECRRepositories per repository ({per['repositories']})",
                per["ours"]["bytes_per_repository"], per["reference"]["bytes_per_repository"], "B")
    lists = report["tools_list"]
    figures.add("bytes", "tools/list (ECR tools on the reference)", lists["ours"]["all"]["with_output_schema_bytes"],
                lists["reference"]["ecr_tools"]["with_output_schema_bytes"], "B")
    return report


# --- copies -----------------------------------------------------------------------------------------------------------


class SourceRegistry:
    """A docker-registry process on loopback (Debian's CNCF distribution), the copies' source."""

    def __init__(self, root: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        root.mkdir(parents=True)
        config = root / "config.yml"
        config.write_text(
            f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: 127.0.0.1:{self.port}\n"
        )
        with open(root / "registry.log", "wb") as log:
            self.process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL,
                                            stderr=log)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("docker-registry did not start") from None
                time.sleep(0.05)
        self.authority = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.authority}"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class SkopeoRun:
    seconds: float
    peak_rss_kib: int
    exit_code: int


def skopeo_copy(source: str, target: str, creds: str, home: Path) -> SkopeoRun:
    """`skopeo copy` as nobody with `home` as HOME (its blob-info cache lives there); peak RSS from wait4."""
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", "skopeo", "copy",
            "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", "--dest-creds", creds,
            f"docker://{source}", f"docker://{target}"]
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "XDG_RUNTIME_DIR": str(home)}
    with open(home / "skopeo.log", "ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=home)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        print(f"  skopeo failed ({process.returncode}): {(home / 'skopeo.log').read_text()[-500:]}", file=sys.stderr)
    return SkopeoRun(seconds, usage.ru_maxrss, process.returncode)


def skopeo_home(parent: Path, name: str) -> Path:
    home = parent / name
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    return home


async def clone(session, source: str, repository: str) -> tuple[float, dict, bool]:
    seconds, result = await timed(session, "CloneContainerToECR",
                                  {"source_image": source, "target_repository_name": repository})
    out = result.structured_content or {}
    if result.is_error:
        text = "\n".join(b.text for b in result.content if b.type == "text")
        print(f"  clone into {repository} failed: {text[:500]}", file=sys.stderr)
    return seconds, out, bool(result.is_error)


def registry_calls(testbed) -> dict:
    return testbed.admin("faults")["calls"].get("registry", {})


async def copies(figures, ours_command, testbed, env, scratch, mode) -> dict:
    header(f"copies: CloneContainerToECR against skopeo copy, local registry -> the testbed's ECR endpoint")
    testbed.admin("reset")
    ecr = client(testbed, "ecr")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    creds = base64.b64decode(token).decode()
    target = testbed.registry_endpoint.split("://", 1)[1].rstrip("/")
    out: dict = {"target": "the testbed's ECR registry endpoint (Python, one process)"}
    homes = Path(tempfile.mkdtemp(prefix="bench-skopeo-", dir="/tmp"))
    os.chmod(homes, 0o755)
    source = SourceRegistry(scratch / "source-registry")
    try:
        started = time.perf_counter()
        image = big_image.push_random_image(source.url, "bench/copy", "1", mode.copy_mib, mode.copy_layers, scratch)
        big = big_image.push_random_image(source.url, "bench/big", "1", mode.big_mib, mode.big_layers, scratch)
        out["images"] = {"copy": image, "big": big, "generated_in_s": round(time.perf_counter() - started, 1)}
        print(f"  images: {image['bytes'] / 2**20:.0f} MiB in {image['layers']} layers, "
              f"{big['bytes'] / 2**20:.0f} MiB in {big['layers']} layers (pushed in "
              f"{out['images']['generated_in_s']} s)", flush=True)
        copy_env = {**env, "HEALTHOMICS_ECR_REGISTRY_MIRRORS": f"{WAVE}={source.url}"}
        ours_source = f"{WAVE}/bench/copy:1"
        skopeo_source = f"{source.authority}/bench/copy:1"

        # Each round's copy by a fresh server, as skopeo gets a fresh HOME: a server that copied the image before
        # remembers where its blobs are and mounts them instead of copying (measured below). Round 0's server is
        # kept for the re-clone and the second repository, as skopeo's round-0 HOME is.
        async with AsyncExitStack() as keep:
            first = None
            rounds = []
            for r in range(mode.copy_rounds):
                run = {}
                order = ("ours", "skopeo") if r % 2 == 0 else ("skopeo", "ours")
                for who in order:
                    if who == "ours":
                        server = await keep.enter_async_context(serve(ours_command, copy_env, scratch,
                                                                      f"ours-copy-{r}"))
                        first = first or server
                        seconds, result, err = await clone(server.session, ours_source, f"bench/copy-ours-{r}")
                        run["ours_s"], run["ours_error"] = round(seconds, 3), err
                        run["ours_bytes_transferred"] = result.get("bytes_transferred")
                    else:
                        ecr.create_repository(repositoryName=f"bench/copy-skopeo-{r}")
                        home = skopeo_home(homes, f"round-{r}")
                        s = await asyncio.to_thread(skopeo_copy, skopeo_source, f"{target}/bench/copy-skopeo-{r}:1",
                                                    creds, home)
                        run["skopeo_s"], run["skopeo_exit"] = round(s.seconds, 3), s.exit_code
                run["ratio"] = round(run["ours_s"] / run["skopeo_s"], 3)
                rounds.append(run)
            out["rounds"] = rounds
            med_o = statistics.median(x["ours_s"] for x in rounds)
            med_s = statistics.median(x["skopeo_s"] for x in rounds)
            figures.add("copy", f"copy {image['bytes'] / 2**20:.0f} MiB, median of {len(rounds)} alternating",
                        round(med_o, 2), round(med_s, 2), "s", "skopeo",
                        median_ratio=round(statistics.median(x["ratio"] for x in rounds), 3),
                        ours_mb_s=round(image["bytes"] / 1e6 / med_o, 1),
                        skopeo_mb_s=round(image["bytes"] / 1e6 / med_s, 1))

            # Round 0's server: it put the blobs in bench/copy-ours-0.
            server = first
            # The same image again into the repository that holds it.
            before = rchar(source.process.pid)
            seconds, result, err = await clone(server.session, ours_source, "bench/copy-ours-0")
            ours_read = rchar(source.process.pid) - before
            before = rchar(source.process.pid)
            s = await asyncio.to_thread(skopeo_copy, skopeo_source, f"{target}/bench/copy-skopeo-0:1", creds,
                                        homes / "round-0")
            skopeo_read = rchar(source.process.pid) - before
            out["reclone"] = {"ours_s": round(seconds, 3), "ours_error": err, "ours_source_rchar": ours_read,
                              "ours_bytes_transferred": result.get("bytes_transferred"),
                              "ours_blobs_skipped": result.get("blobs_skipped"),
                              "skopeo_s": round(s.seconds, 3), "skopeo_exit": s.exit_code,
                              "skopeo_source_rchar": skopeo_read}
            figures.add("copy", "re-clone into the repository holding the blobs", round(seconds, 3),
                        round(s.seconds, 3), "s", "skopeo")
            figures.add("copy", "  bytes the source registry read meanwhile", ours_read, skopeo_read, "B", "skopeo",
                        ours_blobs_skipped=result.get("blobs_skipped"))

            # The same image into a second repository of the same registry: is a cross-repository mount used?
            testbed.admin("calls/reset")
            before = wchar(testbed.process.pid)
            seconds, result, err = await clone(server.session, ours_source, "bench/copy-ours-second")
            ours_in = wchar(testbed.process.pid) - before
            ours_calls = registry_calls(testbed)
            ecr.create_repository(repositoryName="bench/copy-skopeo-second")
            testbed.admin("calls/reset")
            before = wchar(testbed.process.pid)
            # round 0's HOME: its blob-info cache knows the blobs are in bench/copy-skopeo-0
            s = await asyncio.to_thread(skopeo_copy, skopeo_source, f"{target}/bench/copy-skopeo-second:1", creds,
                                        homes / "round-0")
            skopeo_in = wchar(testbed.process.pid) - before
            skopeo_calls = registry_calls(testbed)
            out["second_repository"] = {
                "ours_s": round(seconds, 3), "ours_error": err, "ours_target_wchar": ours_in,
                "ours_bytes_transferred": result.get("bytes_transferred"), "ours_registry_calls": ours_calls,
                "ours_blobs_copied": result.get("blobs_copied"), "ours_blobs_skipped": result.get("blobs_skipped"),
                "skopeo_s": round(s.seconds, 3), "skopeo_exit": s.exit_code, "skopeo_target_wchar": skopeo_in,
                "skopeo_registry_calls": skopeo_calls,
            }
            figures.add("copy", "copy into a 2nd repository of the same registry", round(seconds, 3),
                        round(s.seconds, 3), "s", "skopeo")
            figures.add("copy", "  bytes the target registry wrote (uploads)", ours_in, skopeo_in, "B", "skopeo")
            figures.add("copy", "  MountBlob calls", ours_calls.get("MountBlob", 0), skopeo_calls.get("MountBlob", 0),
                        "", "skopeo", ours_blobs_mounted_or_present=result.get("blobs_skipped"),
                        ours_blobs_uploaded=result.get("blobs_copied"))

        # Peak RSS while copying the big image: a fresh server process, so its VmHWM is startup plus the copy.
        async with serve(ours_command, copy_env, scratch, "ours-big") as server:
            idle = status_kib(server.pid, "VmHWM")
            seconds, result, err = await clone(server.session, f"{WAVE}/bench/big:1", "bench/big-ours")
            peak = status_kib(server.pid, "VmHWM")
        ecr.create_repository(repositoryName="bench/big-skopeo")
        s = await asyncio.to_thread(skopeo_copy, f"{source.authority}/bench/big:1", f"{target}/bench/big-skopeo:1",
                                    creds, skopeo_home(homes, "big"))
        out["big"] = {"bytes": big["bytes"], "ours_s": round(seconds, 3), "ours_error": err,
                      "ours_idle_peak_rss_kib": idle, "ours_peak_rss_kib": peak,
                      "ours_bytes_transferred": result.get("bytes_transferred"),
                      "skopeo_s": round(s.seconds, 3), "skopeo_exit": s.exit_code, "skopeo_peak_rss_kib": s.peak_rss_kib}
        figures.add("copy", f"copy {big['bytes'] / 2**30:.2f} GiB ({big['layers']} random layers)", round(seconds, 2),
                    round(s.seconds, 2), "s", "skopeo")
        figures.add("copy", "  peak RSS while copying it", round(peak / 1024, 1), round(s.peak_rss_kib / 1024, 1),
                    "MiB", "skopeo", ours_before_copy_mib=round(idle / 1024, 1))
    finally:
        source.stop()
        shutil.rmtree(homes, ignore_errors=True)
        shutil.rmtree(scratch / "source-registry", ignore_errors=True)
    return out


# --- the run ----------------------------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    skopeo = subprocess.run(["skopeo", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "skopeo": skopeo, "load_average_at_start": os.getloadavg()}


async def main(binary: Path, mode: Mode, quick: bool, skip: set[str]) -> dict:
    sides = {"ours": [str(binary)], "reference": result_sizes.reference_command()}
    report = {"mode": "quick" if quick else "full", "binary": str(binary), "settings": asdict(mode),
              "reference_package": result_sizes.REFERENCE_PACKAGE, "machine": machine(),
              "ratio": "ours / other (reference server, skopeo); below 1 means ours is smaller or faster"}
    figures = Figures()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        scratch = Path(scratch)
        home = scratch / "home"
        home.mkdir()
        testbed = Testbed.start(scratch / "testbed.log", "--upstream-registries", result_sizes.UPSTREAMS,
                                "--seed-upstreams")
        try:
            env = hermetic_env(testbed.aws_endpoint, testbed.region, home)
            env["HEALTHOMICS_ECR_REGISTRY_MIRRORS"] = result_sizes.mirrors_env(testbed)
            sections = [
                ("startup", lambda: startup(figures, sides, env, scratch, mode)),
                ("tools", lambda: workload(figures, sides, testbed, env, scratch, mode)),
                ("list", lambda: listing(figures, sides, testbed, env, scratch, mode)),
                ("rules", lambda: rules(figures, sides, testbed, env, scratch, mode)),
                ("bytes", lambda: result_bytes(figures, sides, testbed, env, scratch)),
                ("copy", lambda: copies(figures, sides["ours"], testbed, env, scratch, mode)),
            ]
            for name, section in sections:
                if name in skip:
                    continue
                section_started = time.perf_counter()
                report[name] = await section()
                report.setdefault("section_seconds", {})[name] = round(time.perf_counter() - section_started, 1)
        finally:
            testbed.stop()
    report["figures"] = figures.rows
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", nargs="?", type=Path, help="the server (default: the release build; the debug "
                        "build with --quick)")
    parser.add_argument("--quick", action="store_true", help="small counts, for development")
    parser.add_argument("--skip", default="", help="comma-separated sections to leave out: "
                        "startup,tools,list,rules,bytes,copy")
    parser.add_argument("--out", type=Path, default=None, help=f"JSON report (default {OUT.relative_to(REPO)}, "
                        "run-quick.json with --quick)")
    args = parser.parse_args()
    binary = args.binary or (DEBUG if args.quick and DEBUG.is_file() else RELEASE)
    if not binary.is_file():
        sys.exit(f"server binary {binary} not found: run `cargo build --release --locked` or pass its path")
    if os.geteuid() != 0 or not shutil.which("skopeo") or not shutil.which("docker-registry"):
        print("note: the copy section needs root (to run skopeo as nobody), skopeo and docker-registry",
              file=sys.stderr)
    out = (args.out or (OUT.with_name("run-quick.json") if args.quick else OUT)).resolve()
    report = asyncio.run(main(binary.resolve(), QUICK if args.quick else FULL, args.quick,
                              {s for s in args.skip.split(",") if s}))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{report['mode']} run of {binary} in {report['total_seconds']} s; wrote {out}")
