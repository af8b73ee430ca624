"""Fault injection, added latency and call counting: what makes a loopback emulator behave like a remote service.

Real AWS is tens of milliseconds away and sometimes refuses, throttles or hangs; moto answers instantly and
always. Tests arm faults through the admin API ("the next N calls of ecr.GetRepositoryPolicy fail with
AccessDeniedException") and read the call counter to assert how many calls the server made. The registry endpoint
counts and fails the same way (service "registry"), and so does the import step of a pull-through pull
(service "ecr", operation "BatchImportUpstreamImage").
"""

import threading
from collections import Counter
from dataclasses import asdict, dataclass

from protocol import ApiError, throttling_error

# "registry" is the ECR registry endpoint (OCI distribution API): its operations are named in registry.py
# (GetManifest, PutManifest, GetBlob, PatchBlob, PutBlob, ...).
SERVICES = ("ecr", "secretsmanager", "sts", "omics", "registry")
KINDS = ("error", "throttle", "stall")


@dataclass
class Fault:
    """The next `count` calls of `service`.`operation` fail (error, throttle) or hang first (stall)."""

    service: str
    operation: str
    kind: str
    count: int = 1
    error_code: str | None = None
    message: str = "Injected by the testbed"
    http_status: int = 400
    stall_seconds: float = 5.0

    @classmethod
    def from_spec(cls, spec: dict) -> "Fault":
        """Builds a fault from the admin API's JSON, or raises ValueError saying what is wrong with it."""
        unknown = set(spec) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        try:
            fault = cls(**spec)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        if fault.service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}")
        if not fault.operation:
            raise ValueError("operation is required")
        if fault.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if fault.kind == "error" and not fault.error_code:
            raise ValueError("kind 'error' needs an error_code")
        if not isinstance(fault.count, int) or fault.count < 1:
            raise ValueError("count must be a positive integer")
        return fault

    def error(self) -> ApiError:
        """The error this fault answers with (not used for stalls)."""
        if self.kind == "throttle":
            return throttling_error(self.service)
        return ApiError(self.error_code, self.message, self.http_status)


class FaultBook:
    """Armed faults, the latency setting and the call counter; shared by all request threads."""

    def __init__(self, latency_ms: int = 0):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._calls: Counter[tuple[str, str]] = Counter()
        self._latency_ms = latency_ms
        # Set by reset() to release requests that are stalling, so a reset never waits for a stall to end.
        self._release = threading.Event()

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def set_latency(self, ms: int) -> None:
        with self._lock:
            self._latency_ms = ms

    def record(self, service: str, operation: str) -> Fault | None:
        """Counts one call and returns the first armed fault it triggers, using up one of its calls."""
        with self._lock:
            self._calls[(service, operation)] += 1
            for fault in self._faults:
                if fault.service == service and fault.operation == operation:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def delay(self) -> None:
        """Sleeps for the configured latency, as a remote endpoint would take."""
        if self._latency_ms:
            self._release.wait(self._latency_ms / 1000)

    def stall(self, seconds: float) -> None:
        """Holds a request for `seconds`, or until the next reset."""
        self._release.wait(seconds)

    def snapshot(self) -> dict:
        """Remaining faults, latency and call counts as {service: {operation: n}}."""
        with self._lock:
            calls: dict[str, dict[str, int]] = {}
            for (service, operation), n in sorted(self._calls.items()):
                calls.setdefault(service, {})[operation] = n
            return {"faults": [asdict(f) for f in self._faults], "latency_ms": self._latency_ms, "calls": calls}

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def reset(self) -> None:
        """Disarms every fault, zeroes latency and counters, and releases stalled requests."""
        with self._lock:
            self._faults.clear()
            self._calls.clear()
            self._latency_ms = 0
            self._release.set()
            self._release = threading.Event()
