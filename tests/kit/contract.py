"""The contract harness: Schemathesis against a surface's served spec, openapi-core as a
second judge of every response.

A surface's contract test starts from:

    from tests.kit.contract import config, load_schema, openapi_of, validate_response
    from tests.kit.tenants import make_key

    @pytest.fixture(scope="module")
    def my_schema(app):
        key = make_key("my-surface")
        return load_schema(app, "my-surface", config(auth={"ApiKey": {"api_key": key.secret}}))

    @pytest.fixture(scope="module")
    def openapi():
        return openapi_of("my-surface")

    schema = schemathesis.pytest.from_fixture("my_schema")

    @schema.parametrize()
    def test_my_surface_contract(case, openapi):
        validate_response("my-surface", openapi, case, case.call_and_validate())
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable
from functools import cache
from typing import Any

import hypothesis
import pytest
import schemathesis
import yaml
from openapi_core import OpenAPI
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from agentyard import surfaces
from agentyard.specs import operations
from tests.kit.openapi_views import ReceivedResponse, SentRequest

SEED = 20260406
MAX_EXAMPLES = 10  # per operation: bounded so a contract run stays within minutes on two cores

# Statuses that refuse schema-violating data: Schemathesis' defaults plus 413, since an
# invalid body past the size limit is refused by its size first.
NEGATIVE_DATA_REJECTION = {
    "expected-statuses": [
        "400",
        "401",
        "403",
        "404",
        "405",
        "406",
        "409",
        "413",
        "415",
        "422",
        "428",
        "429",
    ]  # fmt: skip
}


def generation(max_examples: int) -> dict[str, object]:
    """Schemathesis' generation settings: `max_examples` per operation, deterministic (the
    CI contract run). A long fuzz (`benchmarks/fuzz.sh`) sets AGENTYARD_FUZZ_EXAMPLES to
    generate that many random examples per operation instead, with a fresh seed each run.

    U+0000 is generated as Schemathesis does by default: the served documents declare which
    strings exclude it (`agentyard.specs.document.declare_limits`), and free-form JSON keeps it."""
    fuzz = os.environ.get("AGENTYARD_FUZZ_EXAMPLES", "").strip()
    if fuzz:
        return {"max-examples": int(fuzz), "deterministic": False}
    return {"max-examples": max_examples, "deterministic": True}


def seeded() -> dict[str, object]:
    """Top-level config: the fixed seed of the CI run (none, so a random one, for a long fuzz),
    and no `too_slow` health check: how long generation takes depends on the machine's load,
    and speed is never asserted in tests."""
    fuzz = os.environ.get("AGENTYARD_FUZZ_EXAMPLES", "").strip()
    return {"suppress-health-check": ["too_slow"], **({} if fuzz else {"seed": SEED})}


def config(
    *, auth: dict[str, dict[str, str]], max_examples: int = MAX_EXAMPLES, **extra: Any
) -> dict[str, Any]:
    """A contract run's config: seeded, `auth` as the spec's security schemes' credentials
    (e.g. `{"ApiKey": {"api_key": secret}}`: Schemathesis sends them as configured auth and
    checks that requests without them or with bad ones are refused), `max_examples` per
    operation, and `extra` top-level entries (`checks`, `operations`)."""
    return {
        **seeded(),
        "auth": {"openapi": auth},
        "generation": generation(max_examples),
        **extra,
    }


# On the scaled backend (PostgreSQL + Redis) a contract run takes this share of the examples
# the embedded run takes: that run is there to catch what the store and pub/sub change (a NUL
# in text, ordering, types), the embedded run and the live CLI fuzz the schemas in depth, and
# `benchmarks/fuzz.sh` runs both backends at hundreds of examples. It keeps CI within budget.
SCALED_SHARE = 3


def _without_coverage(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` without Schemathesis' coverage phase.

    The deterministic CI run sends the coverage phase's boundary and negative cases once, where
    a client's view is judged: the schemathesis CLI against a live `agentyard serve`
    (tests/contract/live_cli.py), which runs every phase over every surface. Its cases do not
    depend on the backend, the hooks or the transport that sends them, and building them for
    deep schemas is about two thirds of an in-process run (measured on four surfaces: 297 s of
    CPU with it, 133 s without). A long fuzz (`benchmarks/fuzz.sh`) keeps it in-process too.
    """
    return {**settings, "phases": {**settings.get("phases", {}), "coverage": {"enabled": False}}}


def _scaled_share(settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` with every deterministic example count (the run's and each operation's)
    divided by SCALED_SHARE (at least 3)."""

    def shared(entry: dict[str, Any]) -> dict[str, Any]:
        generation = entry.get("generation")
        if not generation or "max-examples" not in generation:
            return entry
        count = max(3, int(generation["max-examples"]) // SCALED_SHARE)
        return {**entry, "generation": {**generation, "max-examples": count}}

    return {**shared(settings), "operations": [shared(o) for o in settings.get("operations", [])]}


def load_schema(app: Any, surface: str, settings: dict[str, Any]) -> Any:
    """The spec `surface` serves (`<mount>/openapi.json`), loaded from `app` with `settings`
    (see `config`). The deterministic CI run has no coverage phase in-process (the live CLI run
    sends those cases) and, on the scaled backend's app (tagged by tests/kit/server.py), a third
    of the examples (`SCALED_SHARE`); a long fuzz keeps every phase and its count."""
    if (settings.get("generation") or {}).get("deterministic"):
        settings = _without_coverage(settings)
        if getattr(app, "agentyard_backend", None) == "scaled":
            settings = _scaled_share(settings)
    mount = surfaces.get(surface).mount
    return schemathesis.openapi.from_asgi(
        f"{mount}/openapi.json", app, config=schemathesis.Config.from_dict(settings)
    )


def scaffolded(surface: str) -> list[str]:
    """The operationIds of `surface` whose handler is still codegen's 501 scaffold (or missing)."""
    spec = surfaces.get(surface).spec
    report = operations.inspect(spec.parents[1], [spec])
    return sorted(op.operation_id or "" for op in report.scaffolded + report.missing)


def without_scaffolds(surface: str, settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` (see `config`) with the operations of `surface` that are still scaffolds
    disabled, so a surface's contract test runs over what is written while the rest is not.
    Skips the calling test (or fixture) while every operation is still a scaffold."""
    pending = scaffolded(surface)
    if len(pending) == len(operations.operations(surfaces.get(surface).spec)):
        pytest.skip(f"{surface}: every operation is still a 501 scaffold; write one first")
    left_out = [{"include-operation-id": op, "enabled": False} for op in pending]
    if not left_out:
        return settings
    return {**settings, "operations": [*settings.get("operations", []), *left_out]}


def openapi_of(surface: str) -> OpenAPI:
    """openapi-core's reading of the spec file of `surface` (what it publishes)."""
    return OpenAPI.from_file_path(str(surfaces.get(surface).spec))


@cache
def spec_host(surface: str) -> str:
    """The spec's (first) server URL; agentyard serves the surface under its mount instead."""
    document = yaml.safe_load(surfaces.get(surface).spec.read_text(encoding="utf-8"))
    return document["servers"][0]["url"]


def is_event_stream(content_type: str) -> bool:
    """openapi-core does not parse event streams (Schemathesis checked each event)."""
    return content_type.startswith("text/event-stream")


def validate_response(
    surface: str,
    openapi: OpenAPI,
    case: schemathesis.Case,
    response: schemathesis.Response,
    *,
    skip: Callable[[str], bool] = is_event_stream,
) -> None:
    """openapi-core's check of `response` against the spec of `surface`, unless the request
    used a method the path does not document (Schemathesis' unsupported_method and
    allow_header_conformance checks judge those 405s) or `skip(content type)` is true."""
    if case.method.upper() != case.operation.method.upper():
        return
    if skip(response.headers.get("content-type", [""])[0]):
        return
    s = surfaces.get(surface)
    sent = SentRequest(response, mount=s.mount, host=spec_host(surface))
    openapi.validate_response(sent, ReceivedResponse(response))


# --- making positive requests realistic (for `map_case` hooks) --------------------------------


def positive(case: schemathesis.Case, location: ParameterLocation) -> bool:
    """Whether `location` of the case was generated valid (only those are made realistic)."""
    meta = case.meta
    if meta is None:
        return True
    info = meta.components.get(location)
    return info is None or info.mode == GenerationMode.POSITIVE


class Chooser:
    """Deterministic choices derived from the generated case (same case, same choices)."""

    def __init__(self, case: schemathesis.Case) -> None:
        seed = json.dumps(
            [case.method, case.path_parameters, case.query, case.body], sort_keys=True, default=str
        )
        self.random = random.Random(hashlib.sha256(seed.encode()).digest())

    def real_or(self, real: list[Any], generated: Any) -> Any:
        """One of `real` (a real resource) two times in three, else the generated value."""
        if real and self.random.random() < 2 / 3:
            return self.random.choice(real)
        return generated

    def coin(self) -> bool:
        return self.random.random() < 0.5


def first_valid_case(operation: schemathesis.APIOperation) -> schemathesis.Case:
    """One schema-valid request for `operation` (deterministic; no shrinking)."""
    drawn: list[schemathesis.Case] = []

    @hypothesis.given(operation.as_strategy())
    @hypothesis.settings(
        max_examples=1,
        phases=[hypothesis.Phase.generate],
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def draw(case: schemathesis.Case) -> None:
        drawn.append(case)

    draw()
    return drawn[0]
