"""A HealthOmics subset (workflows and their container registry maps), written from the Omics API reference.

moto has no HealthOmics at all. The server creates workflows whose `containerRegistryMap` points HealthOmics at
pull-through caches, and reads them back, so the testbed keeps workflows with exactly the fields the API defines,
validated as the API validates them (restJson1: ValidationException 400, ResourceNotFoundException 404).
"""

import base64
import hashlib
import re
import threading
import uuid
from datetime import UTC, datetime

from paging import page
from protocol import ApiError

# Where GetWorkflow's exported definition URLs point (served by app.py).
DEFINITIONS_PREFIX = "/_omics-definitions/"

ROUTES = (
    ("POST", re.compile(r"/workflow/?"), "CreateWorkflow"),
    ("GET", re.compile(r"/workflow/?"), "ListWorkflows"),
    ("GET", re.compile(r"/workflow/(?P<id>[^/]+)/?"), "GetWorkflow"),
)
ENGINES = ("WDL", "NEXTFLOW", "CWL", "WDL_LENIENT")
WORKFLOW_TYPES = ("PRIVATE", "READY2RUN")
SECRET_ARN = re.compile(r"arn:aws(?:-\w+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[a-zA-Z0-9/_+=.@-]+")
FIRST_ID = 1000001


def match_route(method: str, path: str) -> tuple[str, dict] | None:
    """The operation and path parameters for a request, or None when the path is not a workflow route."""
    for route_method, pattern, operation in ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return operation, match.groupdict()
    return None


def is_workflow_path(path: str) -> bool:
    return any(pattern.fullmatch(path) for _, pattern, _ in ROUTES)


def _validation(message: str) -> ApiError:
    return ApiError("ValidationException", message, 400)


def _text(body: dict, name: str, max_len: int, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _validation(f"{name} is required")
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise _validation(f"{name} must be a string of 1 to {max_len} characters")
    return value


def _check_registry_map(registry_map: object) -> dict:
    """Validates a containerRegistryMap against the API's shapes and returns it unchanged."""
    if not isinstance(registry_map, dict) or set(registry_map) - {"registryMappings", "imageMappings"}:
        raise _validation("containerRegistryMap may only hold registryMappings and imageMappings")
    for mapping in registry_map.get("registryMappings", []):
        if not isinstance(mapping, dict):
            raise _validation("each registryMapping must be an object")
        _text(mapping, "upstreamRegistryUrl", 750, required=True)
        _text(mapping, "ecrRepositoryPrefix", 256, required=True)
        prefix = _text(mapping, "upstreamRepositoryPrefix", 30)
        if prefix is not None and len(prefix) < 2:
            raise _validation("upstreamRepositoryPrefix must have 2 to 30 characters")
        account = mapping.get("ecrAccountId")
        if account is not None and not re.fullmatch(r"\d{12}", str(account)):
            raise _validation("ecrAccountId must be a 12-digit account id")
        arn = mapping.get("credentialArn")
        if arn is not None and not (isinstance(arn, str) and 20 <= len(arn) <= 2048 and SECRET_ARN.fullmatch(arn)):
            raise _validation("credentialArn must be a Secrets Manager secret ARN")
    for mapping in registry_map.get("imageMappings", []):
        if not isinstance(mapping, dict):
            raise _validation("each imageMapping must be an object")
        _text(mapping, "sourceImage", 750, required=True)
        _text(mapping, "destinationImage", 750, required=True)
    return registry_map


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OmicsEmulator:
    """Private workflows per region; ids are sequential from FIRST_ID after every reset, so tests can predict them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._workflows: dict[str, dict[str, dict]] = {}  # region -> id -> workflow
            self._by_request_id: dict[tuple[str, str], str] = {}  # (region, requestId) -> id
            self._definitions: dict[tuple[str, str], bytes] = {}  # (region, id) -> definitionZip
            self._next_id = FIRST_ID

    def definition(self, path: str) -> bytes | None:
        """The definition bundle a GetWorkflow export URL names, or None."""
        region, _, name = path[len(DEFINITIONS_PREFIX) :].partition("/")
        with self._lock:
            return self._definitions.get((region, name.removesuffix(".zip")))

    def handle(
        self,
        operation: str,
        account_id: str,
        region: str,
        path_params: dict,
        query: dict,
        body: dict,
        base_url: str = "",
    ) -> tuple[int, dict]:
        """Serves one operation; returns (HTTP status, JSON body)."""
        with self._lock:
            workflows = self._workflows.setdefault(region, {})
            if operation == "CreateWorkflow":
                return 201, self._create(account_id, region, workflows, body)
            if operation == "GetWorkflow":
                workflow = self._get(workflows, path_params["id"])
                if "DEFINITION" in query.get("export", "").split(","):
                    # As HealthOmics answers: a short-lived URL to download the definition bundle.
                    workflow = {**workflow, "definition": f"{base_url}{DEFINITIONS_PREFIX}{region}/{workflow['id']}.zip"}
                return 200, workflow
            return 200, self._list(workflows, query)

    def _create(self, account_id: str, region: str, workflows: dict, body: dict) -> dict:
        request_id = _text(body, "requestId", 128, required=True)
        if (region, request_id) in self._by_request_id:  # idempotent retry of the same request
            return self._summary(workflows[self._by_request_id[(region, request_id)]])
        engine = body.get("engine")
        if engine is not None and engine not in ENGINES:
            raise _validation(f"engine must be one of {list(ENGINES)}")
        if "containerRegistryMap" in body and "containerRegistryMapUri" in body:
            raise _validation("containerRegistryMap and containerRegistryMapUri cannot both be given")
        definition = body.get("definitionZip")
        try:
            definition_bytes = base64.b64decode(definition, validate=True) if definition is not None else b""
        except (ValueError, TypeError):
            raise _validation("definitionZip must be base64-encoded") from None
        fields = {
            "name": _text(body, "name", 128),
            "description": _text(body, "description", 256),
            "engine": engine,
            "definition": _text(body, "definitionUri", 256),
            "main": _text(body, "main", 128),
            "digest": "sha256:" + hashlib.sha256(definition_bytes).hexdigest(),
            "parameterTemplate": body.get("parameterTemplate"),
            "storageCapacity": body.get("storageCapacity"),
            "storageType": body.get("storageType"),
            "accelerators": body.get("accelerators"),
            "tags": body.get("tags") or {},
        }
        if "containerRegistryMap" in body:
            fields["containerRegistryMap"] = _check_registry_map(body["containerRegistryMap"])
        workflow_id = str(self._next_id)
        self._next_id += 1
        workflow = {
            "arn": f"arn:aws:omics:{region}:{account_id}:workflow/{workflow_id}",
            "id": workflow_id,
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"omics/{region}/workflow/{workflow_id}")),
            "status": "ACTIVE",
            "type": "PRIVATE",
            "creationTime": _now(),
            **{k: v for k, v in fields.items() if v is not None},
        }
        workflows[workflow_id] = workflow
        self._definitions[(region, workflow_id)] = definition_bytes
        self._by_request_id[(region, request_id)] = workflow_id
        return self._summary(workflow)

    @staticmethod
    def _summary(workflow: dict) -> dict:
        return {k: workflow[k] for k in ("arn", "id", "status", "tags", "uuid")}

    @staticmethod
    def _get(workflows: dict, workflow_id: str) -> dict:
        if not re.fullmatch(r"\d{1,18}", workflow_id):
            raise _validation("id must be 1 to 18 digits")
        if workflow_id not in workflows:
            raise ApiError("ResourceNotFoundException", f"The requested workflow {workflow_id} was not found.", 404)
        return workflows[workflow_id]

    @staticmethod
    def _list(workflows: dict, query: dict) -> dict:
        max_results = query.get("maxResults")
        if max_results is not None:
            if not max_results.isdigit():
                raise _validation("maxResults must be an integer between 1 and 100")
            max_results = int(max_results)
        kind = query.get("type", "PRIVATE")
        if kind not in WORKFLOW_TYPES:
            raise _validation(f"type must be one of {list(WORKFLOW_TYPES)}")
        name = query.get("name")
        chosen = [w for w in workflows.values() if w["type"] == kind and (name is None or w.get("name") == name)]
        items, token = page(
            chosen,
            max_results,
            query.get("startingToken"),
            scope=f"ListWorkflows:{kind}:{name}",
            maximum=100,
            error_code="ValidationException",
            token_name="startingToken",
        )
        fields = ("arn", "id", "name", "status", "type", "digest", "creationTime")
        result: dict = {"items": [{f: w[f] for f in fields if f in w} for w in items]}
        if token:
            result["nextToken"] = token
        return result
