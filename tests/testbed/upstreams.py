"""Real upstream registries for the testbed: Debian's `docker-registry` (CNCF distribution 2.8) on loopback ports.

They stand in for quay.io, Docker Hub, Wave, ...: the server under test copies from them natively, and the testbed's
pull-through cache imports from them. Each runs with its own config (never the package's, which listens on all
interfaces): `127.0.0.1:<free port>`, filesystem storage in a temporary directory, deletes enabled, and optionally
htpasswd (bcrypt) Basic auth. A registry dies with the process that started it (PR_SET_PDEATHSIG), so a killed
test run leaves none behind.

    with UpstreamRegistry.start("quay.io") as quay:            # or start()/stop()
        push_image(quay.url, "biocontainers/samtools", ...)     # e.g. with oci_images.py

Needs `apt-get install docker-registry` (and `apache2-utils` for htpasswd, or Python's `bcrypt`, for an upstream
with credentials).
"""

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

# TESTBED_DOCKER_REGISTRY names another binary (e.g. a distribution `registry` built elsewhere).
BINARY = os.environ.get("TESTBED_DOCKER_REGISTRY", "/usr/bin/docker-registry")
START_TIMEOUT_S = 10
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RegistryNotInstalled(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            f"{BINARY} is missing: the upstream registries of the testbed need Debian's docker-registry "
            "(apt-get install docker-registry)"
        )


def installed() -> bool:
    return Path(BINARY).is_file()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the parent dies."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd entry (the only kind docker-registry accepts)."""
    if shutil.which("htpasswd"):
        result = subprocess.run(["htpasswd", "-Bbn", username, password], check=True, capture_output=True, text=True)
        return result.stdout.strip()
    try:
        import bcrypt
    except ImportError:
        raise RuntimeError(
            "an upstream with credentials needs htpasswd (apt-get install apache2-utils) or Python's bcrypt"
        ) from None
    return f"{username}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()}"


class UpstreamRegistry:
    """One running docker-registry; `url` is its base URL (http://127.0.0.1:PORT)."""

    def __init__(self, host: str, port: int, root: Path, process: subprocess.Popen, credentials):
        self.host = host
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.root = root
        self.process = process
        self.credentials: tuple[str, str] | None = credentials

    @classmethod
    def start(cls, host: str = "registry", credentials: tuple[str, str] | None = None) -> "UpstreamRegistry":
        """Starts a registry standing in for `host` (a label only), with Basic auth if `credentials` are given."""
        if not installed():
            raise RegistryNotInstalled()
        root = Path(tempfile.mkdtemp(prefix=f"testbed-upstream-{host}-"))
        last_error = ""
        for _ in range(3):  # the free port can be taken between choosing and binding it
            port = _free_port()
            config = [
                "version: 0.1",
                "log:",
                "  level: error",
                "  accesslog:",
                "    disabled: true",
                "storage:",
                "  filesystem:",
                f"    rootdirectory: {root / 'data'}",
                "  delete:",
                "    enabled: true",
                "http:",
                f"  addr: 127.0.0.1:{port}",
                "  secret: testbed-upstream",
            ]
            if credentials:
                (root / "htpasswd").write_text(htpasswd_line(*credentials) + "\n")
                config += ["auth:", "  htpasswd:", f"    realm: {host}", f"    path: {root / 'htpasswd'}"]
            (root / "config.yml").write_text("\n".join(config) + "\n")
            log = open(root / "registry.log", "ab")
            process = subprocess.Popen(
                [BINARY, "serve", str(root / "config.yml")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent,
            )
            log.close()
            registry = cls(host, port, root, process, credentials)
            if registry._wait_ready():
                return registry
            last_error = registry.log_tail()
            registry._terminate()
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"docker-registry for {host} did not start:\n{last_error}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with _NO_PROXY.open(f"{self.url}/v2/", timeout=1):
                    return True
            except urllib.error.HTTPError as exc:  # 401 with auth: it answers
                exc.close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.root / "registry.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stop(self) -> None:
        """Stops the registry and deletes its storage."""
        self._terminate()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "UpstreamRegistry":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class UpstreamRegistries:
    """Several registries, one per upstream host, e.g. for `serve.py --upstream-registries quay.io,ghcr.io`."""

    def __init__(self) -> None:
        self.registries: dict[str, UpstreamRegistry] = {}

    @classmethod
    def start(cls, hosts, credentials: dict[str, tuple[str, str]] | None = None) -> "UpstreamRegistries":
        group = cls()
        try:
            for host in hosts:
                group.registries[host] = UpstreamRegistry.start(host, (credentials or {}).get(host))
        except BaseException:
            group.stop()
            raise
        return group

    def urls(self) -> dict[str, str]:
        return {host: registry.url for host, registry in self.registries.items()}

    def stop(self) -> None:
        for registry in self.registries.values():
            registry.stop()
        self.registries.clear()

    def __enter__(self) -> "UpstreamRegistries":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
