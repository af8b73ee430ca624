"""The admin API under /_testbed/, on the same port as the AWS APIs.

Tests use it to start each test from nothing (reset), to make the next calls of an operation fail, throttle or
hang (faults), to add latency, to count the calls the server made, and to plant policy text that the real APIs
would refuse — an account can still hold invalid JSON (written before validation existed, or by other tools), and
the server must cope with it. Requests and answers are JSON; a bad request gets 400 {"error": "..."}.

Registry routes: `POST upstreams {"quay.io": "http://127.0.0.1:5001", "ghcr.io": null}` sets (or, with null,
removes) the loopback address serving an upstream registry host for pull-through pulls, and answers the whole
mapping, which `GET upstreams` also reads; reset keeps it (it describes the environment, not the account).
`GET registry` reads the registry's blob store: how many blobs and bytes, and uploads still in progress.
"""

import json
import time

from moto.ecr.models import ecr_backends
from werkzeug.wrappers import Request, Response

from faults import Fault
from protocol import DEFAULT_REGION

PREFIX = "/_testbed/"


def _reset(testbed, body: dict) -> dict:
    started = time.monotonic()
    testbed.reset()
    return {"reset": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _arm_fault(testbed, body: dict) -> dict:
    testbed.faults.arm(Fault.from_spec(body))
    return testbed.faults.snapshot()


def _faults(testbed, body: dict) -> dict:
    return testbed.faults.snapshot()


def _reset_calls(testbed, body: dict) -> dict:
    testbed.faults.reset_calls()
    return testbed.faults.snapshot()


def _latency(testbed, body: dict) -> dict:
    ms = body.get("ms")
    if not isinstance(ms, int) or ms < 0:
        raise ValueError("ms must be a non-negative integer")
    testbed.faults.set_latency(ms)
    return testbed.faults.snapshot()


def _field(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} (a string) is required")
    return value


def _raw_repository_policy(testbed, body: dict) -> dict:
    backend = ecr_backends[testbed.account_id][body.get("region", DEFAULT_REGION)]
    name = _field(body, "repositoryName")
    if name not in backend.repositories:
        raise LookupError(f"no repository {name!r}")
    backend.repositories[name].policy = _field(body, "policyText")
    return {"planted": True}


def _raw_registry_policy(testbed, body: dict) -> dict:
    ecr_backends[testbed.account_id][body.get("region", DEFAULT_REGION)].registry_policy = _field(body, "policyText")
    return {"planted": True}


def _raw_template_policy(testbed, body: dict) -> dict:
    prefix = _field(body, "prefix")
    try:
        testbed.ecr.plant_template_policy(body.get("region", DEFAULT_REGION), prefix, _field(body, "policyText"))
    except KeyError:
        raise LookupError(f"no repository creation template with prefix {prefix!r}") from None
    return {"planted": True}


def _set_upstreams(testbed, body: dict) -> dict:
    return {"upstreams": testbed.upstreams.update(body)}


def _upstreams(testbed, body: dict) -> dict:
    return {"upstreams": testbed.upstreams.snapshot()}


def _registry(testbed, body: dict) -> dict:
    return testbed.blobs.stats()


ROUTES = {
    ("POST", "reset"): _reset,
    ("POST", "faults"): _arm_fault,
    ("GET", "faults"): _faults,
    ("POST", "calls/reset"): _reset_calls,
    ("POST", "latency"): _latency,
    ("POST", "raw-repository-policy"): _raw_repository_policy,
    ("POST", "raw-registry-policy"): _raw_registry_policy,
    ("POST", "raw-template-policy"): _raw_template_policy,
    ("POST", "upstreams"): _set_upstreams,
    ("GET", "upstreams"): _upstreams,
    ("GET", "registry"): _registry,
}


def _answer(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def handle(testbed, request: Request) -> Response:
    """Serves one admin request."""
    handler = ROUTES.get((request.method, request.path[len(PREFIX) :].strip("/")))
    if handler is None:
        return _answer(
            {
                "error": f"no admin route {request.method} {request.path}",
                "routes": [f"{m} {PREFIX}{p}" for m, p in ROUTES],
            },
            404,
        )
    try:
        body = json.loads(request.get_data() or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return _answer(handler(testbed, body))
    except LookupError as exc:
        return _answer({"error": str(exc.args[0] if exc.args else exc)}, 404)
    except ValueError as exc:
        return _answer({"error": str(exc)}, 400)
