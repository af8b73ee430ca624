"""The testbed's WSGI application: moto's server, with our emulators and fault injection in front of it.

Everything runs in one process so that our code and moto share one state: a repository created through moto is
the one our DescribeRepositories pages, and the registry policy we store is the one on moto's ECR backend.

A request goes, in order: admin API (/_testbed/...) → the ECR registry endpoint (/v2/..., registry.py, which counts
and fails its own calls) → identify the AWS call → added latency → call counter and armed faults → our emulators
(HealthOmics, the image-store ECR operations in registry.py, the ECR operations in ecr_ext) → moto for everything
else.
"""

import io
import json
import logging
import time

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

import admin
import omics
from blobstore import BlobStore
from ecr_ext import EcrContext, EcrEmulator
from faults import FaultBook
from omics import OmicsEmulator
from protocol import DEFAULT_REGION, ApiError, Call, credential_scope, error_response, identify_rpc_call, json_response
from ptc import PullThroughCache, Upstreams
from registry import Registry

log = logging.getLogger("testbed")

ACCOUNT_ID = DEFAULT_ACCOUNT_ID  # moto's account for any access key it does not know, e.g. "testing"


def _json(body: bytes) -> dict:
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ApiError("SerializationException", "The request body is not a JSON object")
    return document


class Testbed:
    """The WSGI app serving the AWS APIs and the admin API on one port."""

    def __init__(self, latency_ms: int = 0, upstreams: dict[str, str] | None = None) -> None:
        self.account_id = ACCOUNT_ID
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.faults = FaultBook(latency_ms)
        self.ecr = EcrEmulator()
        self.omics = OmicsEmulator()
        # Which loopback address serves each upstream registry host: the environment, so reset() keeps it.
        self.upstreams = Upstreams(upstreams)  # first: it validates the addresses
        self.blobs = BlobStore()
        self.ptc = PullThroughCache(self.faults, self.blobs, self.upstreams, self.ecr.rule_for, self.ecr.template_for)
        self.registry = Registry(self.faults, self.blobs, self.ptc, self.ecr.template_for)

    def __call__(self, environ: dict, start_response):
        request = Request(environ)
        if request.path.startswith(admin.PREFIX):
            return admin.handle(self, request)(environ, start_response)
        if request.path.startswith(omics.DEFINITIONS_PREFIX) and request.method == "GET":
            bundle = self.omics.definition(request.path)
            status = 200 if bundle is not None else 404
            return Response(bundle or b"", status=status, content_type="application/zip")(environ, start_response)
        if self.registry.handles_path(request.path):  # streams its bodies: must not be read here
            return self.registry.serve(request)(environ, start_response)
        body = request.get_data()
        # Put the body back for moto, which reads the raw WSGI input itself.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        call = self._identify(request, body)
        if call is None:
            return self.moto(environ, start_response)
        return self._serve(call, request, body)(environ, start_response)

    def warm_up(self) -> None:
        """Builds moto's per-service apps now, so the first test call is not the one that waits ~0.5 s for it."""
        for service, target in (
            ("ecr", "AmazonEC2ContainerRegistry_V20150921.DescribeRegistry"),
            ("secretsmanager", "secretsmanager.ListSecrets"),
            ("sts", None),
        ):
            headers = {
                "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20250101/{DEFAULT_REGION}/{service}/aws4_request"
            }
            if target:
                builder = EnvironBuilder(method="POST", headers={**headers, "X-Amz-Target": target}, data=b"{}")
            else:
                builder = EnvironBuilder(
                    method="POST", headers=headers, data={"Action": "GetCallerIdentity", "Version": "2011-06-15"}
                )
            Response.from_app(self.moto, builder.get_environ(), buffered=True)

    def reset(self) -> None:
        """Forgets all state (moto's and ours: images, blobs, uploads), faults, latency and counters.

        Kept: the upstream registry addresses, which describe the environment rather than the account."""
        moto_api_backend.reset()
        self.ecr.reset()
        self.omics.reset()
        self.registry.reset()
        self.faults.reset()

    def close(self) -> None:
        """Deletes the blob store's temporary directory."""
        self.blobs.close()

    def _identify(self, request: Request, body: bytes) -> Call | None:
        region, service = credential_scope(request)
        if service == "omics" or (service is None and omics.is_workflow_path(request.path)):
            route = omics.match_route(request.method, request.path)
            return Call("omics", route[0] if route else "", region or DEFAULT_REGION)
        return identify_rpc_call(request, body)

    def _serve(self, call: Call, request: Request, body: bytes) -> Response:
        started = time.monotonic()
        self.faults.delay()
        fault = self.faults.record(call.service, call.operation)
        if fault is not None:
            log.info("%s.%s: injecting %s", call.service, call.operation, fault.kind)
            if fault.kind != "stall":
                return error_response(call.service, fault.error())
            self.faults.stall(fault.stall_seconds)
        try:
            response = self._dispatch(call, request, body)
        except ApiError as error:
            response = error_response(call.service, error)
        log.info(
            "%s.%s -> %s (%.0f ms)",
            call.service,
            call.operation,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _dispatch(self, call: Call, request: Request, body: bytes) -> Response:
        if call.service == "omics":
            route = omics.match_route(request.method, request.path)
            if route is None:
                raise ApiError("UnknownOperationException", f"{request.method} {request.path} is not emulated", 404)
            query = request.args.to_dict()
            status, result = self.omics.handle(
                route[0], self.account_id, call.region, route[1], query, _json(body), request.host_url.rstrip("/")
            )
            return json_response(result, status, content_type="application/json")
        if call.service == "ecr" and self.registry.handles(call.operation):
            result = self.registry.handle(
                call.operation,
                self.account_id,
                call.region,
                _json(body),
                request.host_url.rstrip("/"),
                forward=lambda p: self._moto_json(request.environ, p),
            )
            return json_response(result)
        if call.service == "ecr" and self.ecr.handles(call.operation):
            ctx = EcrContext(self.account_id, call.region, forward=lambda p: self._moto_json(request.environ, p))
            return json_response(self.ecr.handle(call.operation, ctx, _json(body)))
        return Response.from_app(self.moto, request.environ, buffered=True)

    def _moto_json(self, environ: dict, params: dict) -> dict:
        """Sends the same JSON call with other parameters to moto; its result, or its error raised as ApiError."""
        data = json.dumps(params).encode()
        response = Response.from_app(
            self.moto, {**environ, "wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))}, buffered=True
        )
        result = json.loads(response.get_data() or b"{}")
        if response.status_code != 200:
            raise ApiError(result.get("__type", "ServerException"), result.get("message", ""), response.status_code)
        return result
