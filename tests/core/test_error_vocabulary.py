"""core/errors vocabulary and core/tenancy: generic errors, mapped by each surface's shape to
the codes it documents; a row of another tenant is not found."""

from __future__ import annotations

import json
import secrets

import pytest

from agentyard.core import errors, keys
from agentyard.core.errors import ApiError, conflict, forbidden, invalid, not_found, unauthorized
from agentyard.core.keys import ApiKey
from agentyard.core.store import connection
from agentyard.core.tenancy import find_in_tenant, found
from agentyard.harnesslayer import errors as hl_errors
from agentyard.hasp import errors as hasp_errors


def test_each_constructor_gives_its_status_and_generic_code():
    cases = {
        not_found("profile", "prof-1"): (404, "not_found", "No profile prof-1"),
        not_found("upload"): (404, "not_found", "No such upload"),
        conflict("Taken"): (409, "conflict", "Taken"),
        forbidden("Nope"): (403, "forbidden", "Nope"),
        invalid("Bad"): (400, "invalid_request", "Bad"),
        unauthorized(): (401, "unauthorized", "Missing or invalid API key"),
    }
    for err, expected in cases.items():
        assert isinstance(err, ApiError)
        assert (err.status, err.code, err.message) == expected


def test_a_surface_code_and_message_can_be_given():
    err = not_found("grant", "g1", code="grant_not_found", message="Grant not found: g1")
    assert (err.status, err.code, err.message) == (404, "grant_not_found", "Grant not found: g1")
    err = conflict("Taken", code="session_name_taken", details={"name": "a"})
    assert (err.code, err.details) == ("session_name_taken", {"name": "a"})


def _code(shape, err: ApiError) -> str:
    body = shape(err.status, err.code, err.message, err.details)
    return body["error"]["code"]


@pytest.mark.parametrize(
    ("err", "harnesslayer", "hasp"),
    [
        (not_found("app", "a"), "not_found", "RESOURCE_NOT_FOUND"),
        (conflict("c"), "conflict", "CONFLICT"),
        (forbidden("f"), "forbidden", "FORBIDDEN"),
        (invalid("i"), "bad_request", "VALIDATION_FAILED"),
        (unauthorized(), "unauthorized", "INVALID_API_KEY"),
    ],
)
def test_each_shape_maps_the_generic_codes_to_its_documented_ones(err, harnesslayer, hasp):
    assert _code(errors.default_shape, err) == err.code  # AISP: the generic codes
    assert _code(hl_errors.shape, err) == harnesslayer
    assert _code(hasp_errors.hasp_envelope, err) == hasp
    assert _code(hasp_errors.anthropic_shape, err) == hasp


def test_the_generic_not_found_renders_as_the_old_literal_did():
    """Bytes identical to `ApiError(404, "RESOURCE_NOT_FOUND" | "not_found", message)`."""
    for shape in (hasp_errors.hasp_envelope, hl_errors.shape, errors.default_shape):
        old = ApiError(
            404,
            "RESOURCE_NOT_FOUND" if shape is hasp_errors.hasp_envelope else "not_found",
            "No webhook w1",
        )
        new = not_found("webhook", "w1")
        assert json.dumps(shape(404, new.code, new.message, None)) == json.dumps(
            shape(404, old.code, old.message, None)
        )


def test_found_returns_the_row_or_raises_404():
    assert found("row", "thing", "t1") == "row"
    with pytest.raises(ApiError) as err:
        found(None, "thing", "t1")
    assert (err.value.status, err.value.message) == (404, "No thing t1")


def test_find_in_tenant_finds_its_own_and_not_another_tenants_row(app):
    with connection():
        mine, _ = keys.get_or_create_tenant("vocab-test", f"mine-{secrets.token_hex(4)}")
        theirs, _ = keys.get_or_create_tenant("vocab-test", f"theirs-{secrets.token_hex(4)}")
        key, _ = keys.create_key(mine, lambda: "vk_" + secrets.token_hex(12))
        assert find_in_tenant(ApiKey, key.id, mine, what="API key").id == key.id
        with pytest.raises(ApiError) as err:
            find_in_tenant(ApiKey, key.id, theirs, what="API key")
        assert (err.value.status, err.value.code) == (404, "not_found")
        assert err.value.message == f"No API key {key.id}"  # the same as for no such key
        with pytest.raises(ApiError) as err:
            find_in_tenant(
                ApiKey,
                key.id,
                mine,
                what="key",
                where=ApiKey.surface == "elsewhere",
                code="key_not_found",
                message="Key not found",
            )
        assert (err.value.code, err.value.message) == ("key_not_found", "Key not found")
        by_prefix = find_in_tenant(ApiKey, key.prefix, mine.id, what="k", id_field="prefix")
        assert by_prefix.id == key.id
