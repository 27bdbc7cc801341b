"""Schemathesis over the served OpenAPI schema (/api/schema/): every operation, as every role, with
valid and invalid generated requests. A failure is a 5xx, or a response whose status is documented
but whose body or content type doesn't match the schema.

Shared by the bounded run in the test suite (tests/security/test_fuzz_api.py) and the longer one
(scripts/fuzz_api.py). Requests go in-process through Django's WSGI handler (no sockets), on
whatever database Django is configured with.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import hypothesis
import hypothesis.errors
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
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
