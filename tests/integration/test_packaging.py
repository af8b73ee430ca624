"""What can be checked of the packaging without Docker Hub or a release: server.json (the MCP registry entry), the
Dockerfile and the release workflow agree with Cargo.toml, the README and the code.

The image itself is not built here (no Docker Hub): these checks stop at the files. server.json is checked against
the fields the registry's 2025-12-11 schema requires; with $MCP_SERVER_SCHEMA naming a local copy of that schema
it is also validated with jsonschema.
"""

import glob
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from mcp_harness import REPO_ROOT

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
CARGO = tomllib.loads((REPO_ROOT / "Cargo.toml").read_text())
SERVER_JSON = json.loads((REPO_ROOT / "server.json").read_text())
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
BUILD = "cargo build --release --locked"


def rust_sources(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*.rs"))


def test_server_json_has_the_registry_fields_and_cargo_version():
    assert SERVER_JSON["$schema"] == SCHEMA_URL
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", SERVER_JSON["name"])
    assert 1 <= len(SERVER_JSON["description"]) <= 100
    assert SERVER_JSON["version"] == CARGO["package"]["version"]
    assert SERVER_JSON["repository"]["url"] == CARGO["package"]["repository"]
    kinds = {p["registryType"]: p for p in SERVER_JSON["packages"]}
    assert set(kinds) == {"cargo", "oci"}
    assert kinds["cargo"]["identifier"] == CARGO["package"]["name"]
    assert kinds["cargo"]["version"] == CARGO["package"]["version"]
    assert kinds["oci"]["identifier"].endswith(":" + CARGO["package"]["version"])
    for package in SERVER_JSON["packages"]:
        assert package["transport"] == {"type": "stdio"}


def test_server_json_names_only_variables_the_code_reads():
    ours = rust_sources(REPO_ROOT / "src")
    # Variables the AWS SDK reads are looked for in the SDK crates this build uses (the cargo registry's sources).
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    sdk_dirs = [Path(d) for d in glob.glob(str(home / "registry" / "src" / "*" / "aws-*"))]
    sdk = "\n".join(rust_sources(d / "src") for d in sdk_dirs if (d / "src").is_dir())
    for package in SERVER_JSON["packages"]:
        names = [v["name"] for v in package["environmentVariables"]]
        assert len(names) == len(set(names))
        for name in names:
            if f'"{name}"' in ours:
                continue
            if not name.startswith("AWS_"):
                pytest.fail(f"{name} is in server.json but no source file in src/ reads it")
            if not sdk:
                pytest.skip("the AWS SDK's sources are not in the cargo registry here")
            assert f'"{name}"' in sdk, f"{name}: neither src/ nor the AWS SDK crates read it"


def test_server_json_validates_against_the_registry_schema():
    schema_path = os.environ.get("MCP_SERVER_SCHEMA")
    if not schema_path:
        pytest.skip("MCP_SERVER_SCHEMA (a local copy of the 2025-12-11 server.schema.json) is not set")
    import jsonschema

    schema = json.loads(Path(schema_path).read_text())
    assert schema["$id"] == SCHEMA_URL
    jsonschema.validate(SERVER_JSON, schema)


def test_dockerfile_builds_as_the_readme_says_and_runs_unprivileged_over_stdio():
    readme = (REPO_ROOT / "README.md").read_text()
    assert BUILD in readme
    stages = re.split(r"^FROM ", DOCKERFILE, flags=re.M)[1:]
    assert len(stages) == 2, "a build stage and a final stage"
    build, final = stages
    assert f"RUN {BUILD}" in build
    binary = CARGO["bin"][0]["name"]
    assert f"--from=build /src/target/release/{binary} " in final
    users = re.findall(r"^USER (\S+)", final, re.M)
    assert users and users[-1] not in ("root", "0")
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", final, re.M).group(1))
    assert Path(entry[0]).name == binary and len(entry) == 1
    label = re.search(r'^LABEL io\.modelcontextprotocol\.server\.name="([^"]+)"', final, re.M)
    assert label and label.group(1) == SERVER_JSON["name"]
    # The toolchain is at least the one Cargo.toml asks for.
    image_rust = re.search(r"^rust:(\d+\.\d+(?:\.\d+)?)", build).group(1)
    wanted = CARGO["package"]["rust-version"]
    assert tuple(map(int, image_rust.split("."))) >= tuple(map(int, wanted.split(".")))


def test_dockerignore_keeps_what_the_build_copies():
    ignored = [line.strip().rstrip("/") for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.M)
    for sources in copied:
        for source in sources.split():
            assert source not in ignored, f"{source} is copied but .dockerignore drops it"
    assert "target" in ignored and ".git" in ignored


def test_release_workflow_checks_the_tag_and_publishes_checksummed_binaries():
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "release.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert triggers["push"]["tags"] == ["v*"]
    jobs = workflow["jobs"]
    version_script = "\n".join(step.get("run", "") for step in jobs["version"]["steps"])
    assert "Cargo.toml" in version_script and "GITHUB_REF_NAME" in version_script
    targets = {entry["target"] for entry in jobs["build"]["strategy"]["matrix"]["include"]}
    assert {"x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"} <= targets
    assert any("apple-darwin" in t for t in targets)
    build_runs = "\n".join(step.get("run", "") for step in jobs["build"]["steps"])
    assert BUILD in build_runs and "shasum -a 256" in build_runs
    publish_runs = "\n".join(step.get("run", "") for step in jobs["publish"]["steps"])
    assert "sha256sum --check" in publish_runs and "SHA256SUMS" in publish_runs
    assert jobs["publish"]["needs"] == ["version", "build"]
