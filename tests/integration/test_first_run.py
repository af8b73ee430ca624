"""The first run (examples/try-without-aws.sh runs examples/try_it.py) works against the testbed and stays readable:
one line per call, a few lines of each answer, what to try next; the full JSON only with --json."""

import json
import subprocess
import sys

from mcp_harness import REPO_ROOT, server_binary

SCRIPT = REPO_ROOT / "examples" / "try_it.py"
MAX_LINES = 150


def run_try_it(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *flags, str(server_binary())],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )


def calls_made() -> list[str]:
    """The calls try_it.py makes, read from the script itself."""
    namespace: dict = {}
    source = SCRIPT.read_text()
    start, end = source.index("CALLS = ["), source.index("]\n\n", source.index("CALLS = [")) + 1
    exec(source[start:end], namespace)
    return [f"> {tool} {json.dumps(args)}" for tool, args in namespace["CALLS"]]


def test_the_first_run_is_short_and_shows_each_call_with_its_answer():
    run = run_try_it()
    assert run.returncode == 0, run.stderr[-4000:]
    lines = run.stdout.splitlines()
    assert len(lines) < MAX_LINES, f"{len(lines)} lines"
    assert "ERROR" not in run.stdout
    expected = calls_made()
    assert [line for line in lines if line.startswith("> ")] == expected
    # Every call is followed by at least one line of its answer, and no raw JSON object is printed.
    for index, line in enumerate(lines):
        if line.startswith("> "):
            assert lines[index + 1].startswith("  ") and lines[index + 1].strip(), line
    assert not any(line.startswith("{") for line in lines)
    # The answers' own verdicts come through (the demo account has one accessible repository to start with).
    assert "workflows/bwa: accessible" in run.stdout
    assert "Created the policy of `tools/fastqc`" in run.stdout
    assert "What next:" in lines and lines.index("What next:") > max(i for i, l in enumerate(lines) if l.startswith("> "))


def test_json_flag_adds_the_full_answers():
    run = run_try_it("--json")
    assert run.returncode == 0, run.stderr[-4000:]
    assert len(run.stdout.splitlines()) > MAX_LINES
    assert '"pull_through_caches_checked": ' in run.stdout


def test_the_shell_wrapper_passes_flags_through():
    wrapper = (REPO_ROOT / "examples" / "try-without-aws.sh").read_text()
    assert 'examples/try_it.py "$@"' in wrapper
    assert subprocess.run(["bash", "-n", str(REPO_ROOT / "examples" / "try-without-aws.sh")]).returncode == 0
