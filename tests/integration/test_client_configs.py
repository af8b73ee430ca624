"""The client configuration files in examples/clients/ are read by real clients, and the README shows them verbatim.

What each check runs (the command each file names, `healthomics-ecr-mcp`, is the built binary: a folder holding a
link to it comes first on PATH):
- Files in the `mcpServers` format (Claude Desktop, Claude Code's `.mcp.json`, Amazon Q Developer / Kiro CLI, Kiro
  IDE, Cline): the MCP Inspector CLI reads the file itself, `mcp-inspector --cli --config FILE --server
  healthomics-ecr --method tools/list`, starts the server as the file says and must list the eight tools.
- VS Code's `.vscode/mcp.json` keeps its servers under `servers`, a key the Inspector does not read (it requires
  `mcpServers`): the test moves the file's `servers` object, entries untouched, under `mcpServers` in a scratch
  file and runs the same Inspector command; the rest of the file is checked against VS Code's documented shape.
- Claude Code: the real `claude` CLI (npm `@anthropic-ai/claude-code`, which needs no login for `claude mcp`) runs
  `claude_code_add.sh` as it is in a scratch project and home, then `claude mcp get healthomics-ecr` must report the
  server connected and the stored entry must equal the `.mcp.json` file's; the `.mcp.json` file, copied into a
  project, must be reported connected too (the project's trust dialog accepted beforehand, as a user would).
- `autoApprove` lists name only tools the server annotates as read-only.

The Inspector comes from tests/run-all.sh (MCP_INSPECTOR). The `claude` CLI is $CLAUDE_CODE_CLI, else
`.tools/claude-code` (installed there with npm on first use). Without them these tests are skipped locally and
fail in CI.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from mcp_harness import REPO_ROOT, server_binary

CLIENTS = REPO_ROOT / "examples" / "clients"
SERVER = "healthomics-ecr"
MCP_SERVERS_FILES = [
    "claude_desktop_config.json",
    "claude_code.mcp.json",
    "kiro_cli_mcp.json",
    "kiro_ide_mcp.json",
    "cline_mcp_settings.json",
]
CLAUDE_CODE_VERSION = "2.1.332"


def need_tool(path: str | None, what: str) -> str:
    if path and Path(path).exists():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not available")
    pytest.skip(f"{what} is not available")


def tool_names_in_source() -> set[str]:
    """The nine public tool names, read from src/core/tool_names.rs (the one place they are written)."""
    source = (REPO_ROOT / "src" / "core" / "tool_names.rs").read_text()
    names = set(re.findall(r'=> "([A-Za-z]+)"', source))
    assert len(names) == 9, names
    return names


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory) -> Path:
    """A folder whose `healthomics-ecr-mcp` is the binary under test, to put first on PATH."""
    folder = tmp_path_factory.mktemp("bin")
    (folder / "healthomics-ecr-mcp").symlink_to(server_binary().resolve())
    return folder


def client_env(bin_dir: Path | None, home: Path) -> dict[str, str]:
    """This machine's environment with a scratch HOME (no AWS or client settings of ours leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(home)
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def inspector_tools(config: Path, bin_dir: Path, home: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    inspector = need_tool(os.environ.get("MCP_INSPECTOR"), "the MCP Inspector CLI (MCP_INSPECTOR)")
    run = subprocess.run(
        [inspector, "--cli", "--config", str(config), "--server", SERVER, "--method", "tools/list"],
        capture_output=True,
        text=True,
        timeout=120,
        env=client_env(bin_dir, home),
        cwd=home,
    )
    tools = json.loads(run.stdout)["tools"] if run.returncode == 0 and run.stdout.strip() else []
    return run, tools


def readme_snippets() -> dict[str, str]:
    """Each fenced block of the README's "Client configuration" section, keyed by the examples/clients/ file its
    paragraph links to."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("\n## Client configuration\n", 1)[1].split("\n## ", 1)[0]
    snippets: dict[str, str] = {}
    last_named = None
    for match in re.finditer(r"examples/clients/([\w.\-]+)\)|```[a-z]*\n(.*?)```", section, re.S):
        if match.group(1):
            last_named = match.group(1)
        else:
            assert last_named, "a snippet in the README's Client configuration section names no file"
            assert last_named not in snippets, f"two snippets for {last_named}"
            snippets[last_named] = match.group(2)
            last_named = None
    return snippets


def test_the_readme_shows_every_client_file_verbatim():
    snippets = readme_snippets()
    files = sorted(p.name for p in CLIENTS.iterdir())
    assert sorted(snippets) == files
    for name, snippet in snippets.items():
        assert snippet == (CLIENTS / name).read_text(), f"README snippet for {name} differs from the file"


def test_every_json_file_names_the_built_command_and_a_region():
    for name in [*MCP_SERVERS_FILES, "vscode_mcp.json"]:
        config = json.loads((CLIENTS / name).read_text())
        entry = config["servers" if name == "vscode_mcp.json" else "mcpServers"][SERVER]
        assert entry["command"] == "healthomics-ecr-mcp", name
        assert entry["args"][:2] == ["--region", "us-east-1"], name


@pytest.mark.parametrize("name", MCP_SERVERS_FILES)
def test_the_inspector_reads_the_file_and_lists_the_eight_tools(name, bin_dir, tmp_path):
    run, tools = inspector_tools(CLIENTS / name, bin_dir, tmp_path)
    assert run.returncode == 0, run.stderr[-4000:]
    assert {t["name"] for t in tools} == tool_names_in_source()


def test_the_inspector_fails_when_the_command_is_not_on_path(tmp_path):
    """The check above can fail: without the binary's folder on PATH the same file lists nothing."""
    if shutil.which("healthomics-ecr-mcp", path=os.environ.get("PATH")):
        pytest.skip("healthomics-ecr-mcp is installed on this machine's PATH")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    run, tools = inspector_tools(CLIENTS / "claude_desktop_config.json", empty, tmp_path)
    assert run.returncode != 0 and tools == []


def test_vscode_servers_are_listed_by_the_inspector(bin_dir, tmp_path):
    config = json.loads((CLIENTS / "vscode_mcp.json").read_text())
    # VS Code's documented shape: `servers` (and optionally `inputs`) at the top, stdio entries typed.
    assert set(config) <= {"servers", "inputs"}
    assert config["servers"][SERVER]["type"] == "stdio"
    moved = tmp_path / "mcp-servers.json"
    moved.write_text(json.dumps({"mcpServers": config["servers"]}))
    run, tools = inspector_tools(moved, bin_dir, tmp_path)
    assert run.returncode == 0, run.stderr[-4000:]
    assert {t["name"] for t in tools} == tool_names_in_source()


@pytest.mark.parametrize("name", ["kiro_ide_mcp.json", "cline_mcp_settings.json"])
def test_auto_approved_tools_are_read_only(name, bin_dir, tmp_path):
    approved = json.loads((CLIENTS / name).read_text())["mcpServers"][SERVER]["autoApprove"]
    _, tools = inspector_tools(CLIENTS / name, bin_dir, tmp_path)
    read_only = {t["name"] for t in tools if t.get("annotations", {}).get("readOnlyHint")}
    assert approved and set(approved) <= read_only, (approved, read_only)


# --- Claude Code, with the real CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def claude_cli() -> str:
    """The `claude` CLI: $CLAUDE_CODE_CLI, else .tools/claude-code, installed there with npm on first use."""
    if os.environ.get("CLAUDE_CODE_CLI"):
        return need_tool(os.environ["CLAUDE_CODE_CLI"], "the claude CLI ($CLAUDE_CODE_CLI)")
    prefix = Path(os.environ.get("CLAUDE_CODE_PREFIX", REPO_ROOT / ".tools" / "claude-code"))
    cli = prefix / "node_modules" / ".bin" / "claude"
    if not cli.exists() and shutil.which("npm"):
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix),
             f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"],
            capture_output=True,
            timeout=600,
        )
    return need_tool(str(cli), f"the claude CLI (npm @anthropic-ai/claude-code into {prefix})")


def claude(cli: str, args: list[str], project: Path, env: dict[str, str]) -> str:
    run = subprocess.run(
        [cli, *args], capture_output=True, text=True, timeout=120, cwd=project, env=env, stdin=subprocess.DEVNULL
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def claude_env(cli: str, bin_dir: Path | None, home: Path) -> dict[str, str]:
    env = client_env(bin_dir, home)
    # `sh claude_code_add.sh` finds `claude` on PATH, as in a user's shell.
    env["PATH"] = f"{Path(cli).parent}{os.pathsep}{env['PATH']}"
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    return env


def status_line(get_output: str) -> str:
    return next(line for line in get_output.splitlines() if line.strip().startswith("Status:"))


def test_claude_code_add_script_registers_a_server_that_connects(claude_cli, bin_dir, tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    env = claude_env(claude_cli, bin_dir, home)
    run = subprocess.run(
        ["sh", str(CLIENTS / "claude_code_add.sh")],
        capture_output=True, text=True, timeout=120, cwd=project, env=env, stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout + run.stderr

    shown = claude(claude_cli, ["mcp", "get", SERVER], project, env)
    assert "Connected" in status_line(shown) and "Failed" not in shown, shown
    # What the script stored is what the project file says.
    stored = json.loads((home / ".claude.json").read_text())["projects"][str(project)]["mcpServers"][SERVER]
    assert stored == json.loads((CLIENTS / "claude_code.mcp.json").read_text())["mcpServers"][SERVER]

    # And the check can fail: without the binary on PATH the same server does not connect.
    shown = claude(claude_cli, ["mcp", "get", SERVER], project, claude_env(claude_cli, None, home))
    if not shutil.which("healthomics-ecr-mcp", path=os.environ.get("PATH")):
        assert "Connected" not in status_line(shown), shown


def test_claude_code_project_file_connects(claude_cli, bin_dir, tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    shutil.copyfile(CLIENTS / "claude_code.mcp.json", project / ".mcp.json")
    # Stands for the user accepting the folder's trust dialog and approving the project's servers; unapproved
    # .mcp.json servers are listed as pending and not started.
    (home / ".claude.json").write_text(json.dumps({"projects": {str(project): {"hasTrustDialogAccepted": True}}}))
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.local.json").write_text(json.dumps({"enableAllProjectMcpServers": True}))

    shown = claude(claude_cli, ["mcp", "get", SERVER], project, claude_env(claude_cli, bin_dir, home))
    assert "Project config" in shown and "Connected" in status_line(shown), shown
