"""core.tenant_keys: the plain keys a scaffolded surface starts with."""

from __future__ import annotations

import secrets

import pytest

from agentyard.core import keys
from agentyard.core.errors import ApiError
from agentyard.core.store import connection
from agentyard.core.tenant_keys import TenantKeys


def _keys(**kw) -> TenantKeys:
    surface = f"tk-{secrets.token_hex(4)}"
    return TenantKeys(surface, lambda: keys.random_secret("tk_"), **kw)


def test_the_first_start_makes_the_dev_tenant_and_key_once(server):
    plain = _keys(tenant_label="realm", presented_as="X-Key")
    with connection():
        [line] = plain.bootstrap("http://x")
        assert line.startswith(f"{plain.surface}: realm 'default', API key tk_")
        assert line.endswith("(X-Key; shown once)")
        secret = line.split("API key ")[1].split(" ")[0]
        key = plain.authenticate(secret)
        assert plain.describe(key) == "default" and key.kind == keys.DEFAULT_KIND
        assert plain.bootstrap("http://x") == []


def test_mint_creates_the_tenant_once_and_refuses_scopes_kinds_and_bad_names(server):
    plain = _keys(check_name=lambda name: name if name.islower() else plain_refusal(name))
    with connection():
        first = plain.mint("acme", kind="api", scopes=None, name="a", base_url="http://x")
        again = plain.mint("acme", kind="api", scopes=[], name="b", base_url="http://x")
        assert first.created == ("tenant acme",) and again.created == ()
        assert first.owner == again.owner == "tenant acme"
        assert first.key.tenant.id == again.key.tenant.id
        with pytest.raises(keys.KeyRequestError, match="take no scopes"):
            plain.mint("acme", kind="api", scopes=["x"], name="c", base_url="http://x")
        with pytest.raises(keys.KeyRequestError, match="unknown key kind"):
            plain.mint("acme", kind="user", scopes=None, name="c", base_url="http://x")
        with pytest.raises(keys.KeyRequestError, match="lowercase"):
            plain.mint("ACME", kind="api", scopes=None, name="c", base_url="http://x")
        assert keys.find_tenant(plain.surface, "ACME") is None


def plain_refusal(name: str) -> str:
    raise keys.KeyRequestError(f"{name}: lowercase only")


def test_authenticate_refuses_unknown_revoked_and_other_surfaces_keys(server):
    plain, other = _keys(), _keys()
    with connection():
        minted = plain.mint("t", kind="api", scopes=None, name="", base_url="http://x")
        assert plain.authenticate(minted.secret).id == minted.key.id
        assert minted.key.last_used_at is None
        assert keys.ApiKey.get_by_id(minted.key.id).last_used_at is not None  # touched
        for refused in (lambda: other.authenticate(minted.secret), lambda: plain.authenticate("")):
            with pytest.raises(ApiError) as caught:
                refused()
            assert caught.value.status == 401
        keys.revoke(plain.surface, minted.key.id)
        with pytest.raises(ApiError, match="Missing or invalid API key"):
            plain.authenticate(minted.secret)
