"""Starts the AWS testbed (AWS APIs, the ECR registry endpoint and, on request, upstream registries).

`python tests/testbed/serve.py [--port 0] [--latency-ms N] [--seed-sample] [--upstream HOST=URL ...]
[--upstream-registries HOST,HOST,...] [--upstream-credentials HOST=USER:PASSWORD ...] [--seed-upstreams]`

The one way to run it, for tests and for people. It serves ECR, Secrets Manager, STS (moto, extended by our
emulators), a HealthOmics subset and the ECR registry endpoint (OCI distribution API under /v2/) on one 127.0.0.1
port, prints one JSON line with its endpoints on stdout, and serves until SIGTERM/SIGINT or until its stdin
closes — so a test runner that dies never leaves it behind. When stdin is not a pipe or a terminal (e.g.
/dev/null) it is not watched. Logs go to stderr.

Upstream registries: `--upstream-registries quay.io,registry-1.docker.io` starts one Debian docker-registry per
host on a free loopback port (`--upstream-credentials HOST=USER:PASSWORD` puts Basic auth on one) and wires each as
the address of its host for pull-through pulls; `--upstream HOST=URL` wires a registry that is already running.
The JSON line lists them all: `"upstreams": {"quay.io": "http://127.0.0.1:PORT"}`. The registries stop with it.
`--seed-upstreams` pushes oci_images.py's standard images into each started registry as `test/<name>:1` and lists
them in the JSON line: `"upstream_images": {"quay.io": {"amd64": {"repository": "test/amd64", "digest": ...}}}`.
"""

import argparse
import json
import logging
import os
import signal
import stat
import sys
import threading

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server

from app import Testbed
from protocol import DEFAULT_REGION

HOST = "127.0.0.1"


def _stdin_is_watchable() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or sys.stdin.isatty()


def _watch_stdin(stop: threading.Event) -> None:
    """Sets `stop` once stdin reaches end of file (its writer closed it or died)."""
    # os.read, not sys.stdin: a daemon thread blocked in a buffered read aborts the interpreter at exit.
    while os.read(sys.stdin.fileno(), 4096):
        pass
    stop.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (0: a free one)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every AWS API response")
    parser.add_argument("--seed-sample", action="store_true", help="create a small demo account state")
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="the loopback address serving an upstream registry host, e.g. quay.io=http://127.0.0.1:5001",
    )
    parser.add_argument(
        "--upstream-registries",
        default="",
        metavar="HOST,HOST",
        help="start a docker-registry for each of these upstream hosts and wire it as that host's address",
    )
    parser.add_argument(
        "--upstream-credentials",
        action="append",
        default=[],
        metavar="HOST=USER:PASSWORD",
        help="Basic auth on the started registry for HOST",
    )
    parser.add_argument(
        "--seed-upstreams",
        action="store_true",
        help="push oci_images.py's standard test images into each started registry (test/<name>:1)",
    )
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    upstream_map = {}
    for item in args.upstream:
        host, sep, url = item.partition("=")
        if not sep or not host or not url:
            parser.error(f"--upstream wants HOST=URL, not {item!r}")
        upstream_map[host] = url
    credentials = {}
    for item in args.upstream_credentials:
        host, sep, user_password = item.partition("=")
        user, sep2, password = user_password.partition(":")
        if not (sep and sep2 and host and user):
            parser.error(f"--upstream-credentials wants HOST=USER:PASSWORD, not {item!r}")
        credentials[host] = (user, password)
    started = None
    upstream_images: dict[str, dict] = {}
    hosts = [h.strip() for h in args.upstream_registries.split(",") if h.strip()]
    if hosts:
        from upstreams import UpstreamRegistries

        try:
            started = UpstreamRegistries.start(hosts, credentials)  # before any thread: they fork
        except RuntimeError as exc:  # e.g. docker-registry is not installed
            parser.exit(2, f"serve.py: {exc}\n")
        upstream_map.update(started.urls())
        if args.seed_upstreams:
            import oci_images

            for host, registry in started.registries.items():
                user, password = registry.credentials or (None, None)
                upstream_images[host] = oci_images.seed(
                    registry.url, prefix="test", tag="1", user=user, password=password
                )

    try:
        testbed = Testbed(latency_ms=args.latency_ms, upstreams=upstream_map)
    except ValueError as exc:
        if started:
            started.stop()
        parser.error(str(exc))
    try:
        return _serve(testbed, args, upstream_images)
    finally:
        testbed.close()
        if started:
            started.stop()


def _serve(testbed: Testbed, args, upstream_images: dict) -> int:
    testbed.warm_up()
    server = make_server(HOST, args.port, testbed, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="http", daemon=True).start()
    endpoint = f"http://{HOST}:{server.server_port}"

    if args.seed_sample:
        import seed  # boto3 is only needed here

        seed.seed_sample(endpoint)
        testbed.faults.reset_calls()  # the seeding is not a call any test made

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if _stdin_is_watchable():
        threading.Thread(target=_watch_stdin, args=(stop,), name="stdin", daemon=True).start()

    info = {
        "aws_endpoint": endpoint,
        "admin_endpoint": f"{endpoint}/_testbed",
        "account_id": testbed.account_id,
        "region": DEFAULT_REGION,
        "registry_endpoint": endpoint,
        "upstreams": testbed.upstreams.snapshot(),
    }
    if upstream_images:
        info["upstream_images"] = upstream_images
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # that line is stdout's whole contract: the rest goes to stderr
    logging.getLogger("testbed").info("serving on %s", endpoint)

    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
