"""The AWS wire protocols the testbed speaks, kept in one place.

Every emulated response and every injected fault has to look exactly like the real service's, because the Rust
SDK decides what an error *is* (and whether to retry it) from these bytes alone:

- ECR and Secrets Manager: awsJson1_1 — POST /, operation in `X-Amz-Target`, errors as HTTP 400 with
  `{"__type": code, "message": ...}`.
- STS: awsQuery — form body with `Action=...`, errors as an XML `<ErrorResponse>`.
- HealthOmics: restJson1 — operation chosen by method and path, error code in the `X-Amzn-ErrorType` header and
  `{"message": ...}` as the body.
- The ECR registry endpoint (service name `registry` here): the OCI distribution API, errors as
  `{"errors": [{"code": "MANIFEST_UNKNOWN", "message": ..., "detail": ...}]}` with the HTTP status carrying the kind.
"""

import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

DEFAULT_REGION = "us-east-1"

# X-Amz-Target prefixes of the JSON-protocol services the testbed knows, by signing name.
JSON_TARGET_PREFIXES = {
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
    "secretsmanager": "secretsmanager",
}
JSON_SERVICES = frozenset(JSON_TARGET_PREFIXES.values())

# SigV4: "Credential=<key>/<date>/<region>/<service>/aws4_request".
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


class ApiError(Exception):
    """A service error, rendered in whatever protocol the failing call used."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Call:
    """One AWS API request, as far as routing, fault injection and call counting need to know it."""

    service: str  # signing name: ecr, secretsmanager, sts, omics
    operation: str  # e.g. DescribeRepositories; empty when it could not be told
    region: str


def credential_scope(request: Request) -> tuple[str | None, str | None]:
    """(region, service) from the SigV4 Authorization header, or (None, None) for unsigned requests."""
    match = _CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))
    return (match.group(1), match.group(2)) if match else (None, None)


def identify_rpc_call(request: Request, body: bytes) -> Call | None:
    """Recognises an awsJson (X-Amz-Target) or awsQuery (Action=...) call; None for anything else."""
    region, service = credential_scope(request)
    target = request.headers.get("X-Amz-Target", "")
    if "." in target:
        prefix, operation = target.split(".", 1)
        service = service or JSON_TARGET_PREFIXES.get(prefix)
        return Call(service, operation, region or DEFAULT_REGION) if service else None
    if service and request.mimetype == "application/x-www-form-urlencoded":
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        return Call(service, action, region or DEFAULT_REGION)
    return None


def _request_id() -> str:
    return str(uuid.uuid4())


def json_response(payload: dict, status: int = 200, content_type: str = "application/x-amz-json-1.1") -> Response:
    """A successful JSON response (awsJson1_1 by default; restJson1 passes "application/json")."""
    return Response(
        json.dumps(payload), status=status, content_type=content_type, headers={"x-amzn-RequestId": _request_id()}
    )


def error_response(service: str, error: ApiError) -> Response:
    """Renders `error` the way `service` would send it."""
    request_id = _request_id()
    if service in JSON_SERVICES:
        return Response(
            json.dumps({"__type": error.code, "message": error.message}),
            status=error.status,
            content_type="application/x-amz-json-1.1",
            headers={"x-amzn-RequestId": request_id},
        )
    if service == "registry":
        return registry_error(error.status, error.code, error.message)
    if service == "omics":
        return Response(
            json.dumps({"message": error.message}),
            status=error.status,
            content_type="application/json",
            headers={"X-Amzn-ErrorType": error.code, "x-amzn-RequestId": request_id},
        )
    # awsQuery (STS): the fault type says whose fault it was.
    fault_type = "Receiver" if error.status >= 500 else "Sender"
    xml = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{fault_type}</Type><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(xml, status=error.status, content_type="text/xml", headers={"x-amzn-RequestId": request_id})


def registry_error(
    status: int, code: str, message: str, detail: object = None, headers: dict | None = None
) -> Response:
    """An OCI distribution API error response."""
    body = json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]})
    return Response(
        body,
        status=status,
        content_type="application/json",
        headers={"Docker-Distribution-API-Version": "registry/2.0", **(headers or {})},
    )


def throttling_error(service: str) -> ApiError:
    """The error each service sends when it throttles a caller."""
    if service == "registry":
        return ApiError("TOOMANYREQUESTS", "Rate exceeded", 429)
    if service == "sts":
        return ApiError("Throttling", "Rate exceeded", 400)
    if service == "omics":
        return ApiError("ThrottlingException", "Rate exceeded", 429)
    return ApiError("ThrottlingException", "Rate exceeded", 400)
