"""Schemathesis over the served OpenAPI schema (/api/schema/): every operation, as every role, with
valid and invalid generated requests. A failure is a 5xx, or a response whose status is documented
but whose body or content type doesn't match the schema.

Shared by the bounded run in the test suite (tests/security/test_fuzz_api.py) and the longer one
(scripts/fuzz_api.py). `hostile_fuzz` adds the classes of input that once broke the platform (lone
surrogates, NUL, huge integers, Unicode digits, bodies that are not JSON objects, oversized bodies)
on every operation and role, and `read_everything_back` then reads every list and export. Requests go in-process through Django's WSGI handler (no sockets), on
whatever database Django is configured with.
"""

import json
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import hypothesis
import hypothesis.errors
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@dataclass
class FuzzReport:
    calls: int = 0
    by_status: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)  # "ROLE METHOD PATH: message"
    operations: set = field(default_factory=set)
    unsatisfiable: list = field(default_factory=list)
    seconds_by_operation: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self):
        return {"operations": len(self.operations), "calls": self.calls, "by_status": dict(sorted(self.by_status.items())),
                "failures": len(self.failures), "seconds": round(self.seconds, 1),
                "slowest": sorted(((round(t, 1), op) for op, t in self.seconds_by_operation.items()), reverse=True)[:5]}


@contextmanager
def connections_kept_open():
    """Like Django's test client: requests don't close the database connection (the test's
    transaction lives on it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def has_input(operation):
    return bool(list(operation.iter_parameters()) or operation.get_request_payload_content_types())


def load_schema(wsgi_app):
    return schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)


def fuzz(wsgi_app, headers_by_role, max_examples=5, modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
         seed=0, before_each=None, report=None, anonymous_examples=1):
    """Run every operation for every role ({role: headers}); returns a FuzzReport. Anonymous callers
    are turned away before their input is read, so they get `anonymous_examples` valid requests."""
    report = report or FuzzReport()
    started = time.monotonic()
    with connections_kept_open():
        schema = load_schema(wsgi_app)
        for result in schema.get_all_operations():
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            report.operations.add(label)
            operation_started = time.monotonic()
            for role, headers in headers_by_role.items():
                if not headers:
                    _fuzz_operation(operation, label, role, headers, GenerationMode.POSITIVE, anonymous_examples, seed,
                                    before_each, report)
                    continue
                for mode in modes:
                    if mode == GenerationMode.NEGATIVE and not has_input(operation):
                        continue  # nothing to make invalid; Hypothesis would search in vain
                    _fuzz_operation(operation, label, role, headers, mode, max_examples, seed, before_each, report)
            report.seconds_by_operation[label] = time.monotonic() - operation_started
    report.seconds = time.monotonic() - started
    return report


def _fuzz_operation(operation, label, role, headers, mode, max_examples, seed, before_each, report):
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(max_examples=max_examples, deadline=None, database=None, derandomize=seed is not None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         print_blob=False, report_multiple_bugs=False)
    def run(case):
        if before_each:
            before_each()
        response = case.call(headers=headers)
        report.calls += 1
        report.by_status[response.status_code] = report.by_status.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # a check failed: keep going, report them all
            message = str(exc).strip().splitlines()
            report.failures.append(f"{role} {label} [{mode.value}] -> {response.status_code}: "
                                   + " | ".join(message[:6])[:1500] + f"\n    {case.as_curl_command()[:600]}")

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # nothing to make invalid (an operation without parameters or body has no negative cases)
        report.unsatisfiable.append(f"{role} {label} [{mode.value}]")


# ---- hostile cases: the classes of input that broke the platform, on every operation and role ------

HUGE_INT = 2**70
HUGE_DIGITS = "99999999999999999999"
# case name -> (what goes in each string, what goes in each integer, the raw query value, the path id)
TEXT_CASES = {
    "lone-surrogate": ("x\ud800", None, "x%ED%A0%80", None),
    "nul": ("x\x00", None, "x%00", None),
    "huge-int": (None, HUGE_INT, HUGE_DIGITS, HUGE_DIGITS),
    "unicode-digits": (None, "²", "%C2%B2", None),
}
BODY_CASES = {"json-array": "[1, 2]", "json-null": "null", "json-string": '"text"', "json-number": "42"}
OVERSIZED = "oversized"
CASES = [*TEXT_CASES, *BODY_CASES, OVERSIZED]


@dataclass
class HostileReport:
    requests: int = 0
    operations: int = 0
    roles: int = 0
    by_status: dict = field(default_factory=dict)
    server_errors: list = field(default_factory=list)  # "ROLE CASE METHOD PATH -> status"
    readback: list = field(default_factory=list)  # "ROLE GET PATH -> status" of the reads afterwards
    seconds: float = 0.0

    def as_dict(self):
        return {"operations": self.operations, "cases": len(CASES), "roles": self.roles, "requests": self.requests,
                "by_status": dict(sorted(self.by_status.items())), "server_errors": len(self.server_errors),
                "readback_requests": len(self.readback),
                "seconds": round(self.seconds, 1)}


def deref(schema, node):
    """The schema object behind a {"$ref": "#/components/schemas/X"} (one level at a time, as needed)."""
    while isinstance(node, dict) and "$ref" in node:
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def sample_value(schema, node, case_text, case_int, depth=0):
    """A value for `node` with every string set to case_text and every integer to case_int (when given),
    else a plain valid-looking value."""
    node = deref(schema, node)
    if depth > 4 or not isinstance(node, dict):
        return case_text or "x"
    for key in ("allOf", "oneOf", "anyOf"):
        if node.get(key):
            return sample_value(schema, node[key][0], case_text, case_int, depth + 1)
    kind = node.get("type")
    if "enum" in node and kind != "array":
        return case_text if case_text is not None else (node["enum"][0] if node["enum"] else "x")
    if kind == "object" or "properties" in node:
        return {name: sample_value(schema, prop, case_text, case_int, depth + 1)
                for name, prop in node.get("properties", {}).items() if not deref(schema, prop).get("readOnly")}
    if kind == "array":
        return [sample_value(schema, node.get("items", {}), case_text, case_int, depth + 1)]
    if kind == "integer":
        return case_int if case_int is not None else 1
    if kind == "number":
        return case_int if case_int is not None else 1.0
    if kind == "boolean":
        return True
    return case_text if case_text is not None else "x"


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, op


def _request(client, method, path, query, headers, body=None, content_type="application/json"):
    url = path + (f"?{query}" if query else "")
    if body is None:
        return client.generic(method.upper(), url, **headers)
    return client.generic(method.upper(), url, body, content_type=content_type, **headers)


def hostile_fuzz(client, schema, headers_by_role, ids, max_body_bytes, report=None):
    """Send every case to every operation as every role ({role: extra WSGI headers}); `ids` fills path
    parameters with real objects' ids. Counts every answer; a 5xx is recorded as a server error.
    A case is sent twice where it can be: in the query and path, then in the body."""
    report = report or HostileReport()
    started = time.monotonic()
    ops = list(operations(schema))
    report.operations, report.roles = len(ops), len(headers_by_role)
    for path, method, op in ops:
        params = [deref(schema, p) for p in op.get("parameters", [])]
        query_params = [p for p in params if p["in"] == "query"]
        content = op.get("requestBody", {}).get("content", {})
        body_schema = (content.get("application/json") or content.get("multipart/form-data") or {}).get("schema")
        multipart_only = bool(content) and "application/json" not in content
        for role, headers in headers_by_role.items():
            for case in CASES:
                sends = []
                concrete = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)
                if case in TEXT_CASES:
                    text, integer, raw, path_id = TEXT_CASES[case]
                    if query_params or path_id:
                        hostile_path = re.sub(r"\{\w+\}", path_id, path) if path_id else concrete
                        sends.append((hostile_path, "&".join(f"{p['name']}={raw}" for p in query_params), None, None))
                    if body_schema is not None:
                        value = sample_value(schema, body_schema, text, integer)
                        if multipart_only:
                            line = json.dumps({"prompt": text or "q", "responses": ["a", text or "b"], "ranks": [1, integer or 2]})
                            body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("f.jsonl", line.encode())})
                            sends.append((concrete, "", body, MULTIPART_CONTENT))
                        else:
                            sends.append((concrete, "", json.dumps(value), "application/json"))
                elif case in BODY_CASES and content:
                    sends.append((concrete, "", BODY_CASES[case], "application/json"))
                elif case == OVERSIZED and content:
                    sends.append((concrete, "", json.dumps({"text": "x" * (max_body_bytes + 1)}), "application/json"))
                if not sends:  # nothing of this case fits the operation: send it plainly, still counted
                    sends.append((concrete, "", None, None))
                for where, query, body, content_type in sends:
                    response = _request(client, method, where, query, headers, body, content_type or "application/json")
                    report.requests += 1
                    report.by_status[response.status_code] = report.by_status.get(response.status_code, 0) + 1
                    if response.status_code >= 500:
                        report.server_errors.append(f"{role} {case} {method.upper()} {where}?{query} -> {response.status_code}")
    report.seconds = time.monotonic() - started
    return report


def read_everything_back(client, schema, headers_by_role, report):
    """After the hostile writes: every list endpoint as every role, then a snapshot of each kind frozen
    and downloaded by the ML engineer. A write that "succeeded" and broke a read shows up here."""
    for path, method, op in operations(schema):
        if method != "get" or "{" in path:
            continue
        for role, headers in headers_by_role.items():
            status = client.get(path, **headers).status_code
            report.readback.append(f"{role} GET {path} -> {status}")
            if status >= 500:
                report.server_errors.append(f"readback {role} GET {path} -> {status}")
    engineer = headers_by_role["ml_engineer"]
    for kind in ("sft", "pairs", "rankings"):
        frozen = client.post("/api/snapshots/", json.dumps({"kind": kind}), content_type="application/json", **engineer)
        report.readback.append(f"ml_engineer POST /api/snapshots/ {kind} -> {frozen.status_code}")
        if frozen.status_code != 201:
            report.server_errors.append(f"readback freeze {kind} -> {frozen.status_code}")
            continue
        download = client.get(frozen.json()["download_url"], **engineer)
        body = b"".join(download.streaming_content) if download.streaming else download.content
        report.readback.append(f"ml_engineer GET download {kind} -> {download.status_code}")
        try:
            [json.loads(line) for line in body.decode("utf-8").splitlines()]
        except ValueError as exc:
            report.server_errors.append(f"readback download {kind}: not JSON Lines ({exc})")
    return report
