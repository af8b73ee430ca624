"""Client side of the testbed: start serve.py as a subprocess and call its admin API.

Used by the testbed's own tests and by the server's integration tests, so both drive the testbed exactly as a
person would: through serve.py's JSON line and HTTP. Imports nothing from the testbed's server modules.
"""

import json
import selectors
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

SERVE = Path(__file__).with_name("serve.py")
START_TIMEOUT_S = 30
READABLE = ("faults", "upstreams", "registry")  # admin routes read with GET


class AdminError(Exception):
    """The admin API refused a request; `status` and `body` say why."""

    def __init__(self, status: int, body: dict):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Testbed:
    """A running serve.py. Stop it with stop(); closing its stdin also stops it if this process dies."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, process: subprocess.Popen, info: dict, log_path: Path):
        self.process = process
        self.log_path = log_path
        self.aws_endpoint: str = info["aws_endpoint"]
        self.admin_endpoint: str = info["admin_endpoint"]
        self.account_id: str = info["account_id"]
        self.region: str = info["region"]
        # The ECR registry endpoint (OCI distribution API), the `proxyEndpoint` GetAuthorizationToken returns.
        self.registry_endpoint: str = info.get("registry_endpoint", self.aws_endpoint)
        # Upstream registries serve.py started (--upstream-registries) or was given (--upstream): host -> URL.
        self.upstreams: dict[str, str] = info.get("upstreams", {})
        # With --seed-upstreams: host -> image name -> what oci_images.py pushed there (repository, tag, digest, ...).
        self.upstream_images: dict[str, dict] = info.get("upstream_images", {})

    @classmethod
    def start(cls, log_path: Path, *args: str) -> "Testbed":
        """Starts serve.py with `args`, its stderr going to `log_path`, and waits for its JSON line."""
        with open(log_path, "wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, str(SERVE), "--port", "0", *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(START_TIMEOUT_S)
        line = process.stdout.readline() if ready else b""
        if not line:
            process.kill()
            process.wait()
            raise RuntimeError(f"the testbed did not start; its log:\n{log_path.read_text()}")
        return cls(process, json.loads(line), log_path)

    def admin(self, path: str, payload: dict | None = None, method: str | None = None) -> dict:
        """Calls the admin API: POST when there is a payload or the path is an action, GET to read `faults`,
        `upstreams` or `registry`."""
        if method is None:
            method = "GET" if payload is None and path.strip("/") in READABLE else "POST"
        data = json.dumps(payload or {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            f"{self.admin_endpoint}/{path.strip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AdminError(exc.code, json.loads(exc.read() or b"{}")) from None

    def stop(self) -> None:
        """Closes serve.py's stdin, which ends it; kills it if it has not ended within five seconds."""
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
