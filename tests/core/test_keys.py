"""core/keys: key kinds, revocation by what `keys list` prints, and keys of older stores."""

from __future__ import annotations

import secrets

import httpx
import pytest

from agentyard.aisp.bootstrap import new_secret
from agentyard.core import keys
from agentyard.core.store import connection
from agentyard.harnesslayer import orgs
from agentyard.harnesslayer.auth import create_user, new_org_secret


def test_a_key_is_found_only_in_its_own_kind(server):
    with connection():
        tenant, _ = keys.get_or_create_tenant("keys-test", f"t-{secrets.token_hex(4)}")
        key, secret = keys.create_key(tenant, new_secret, kind="user")
        assert keys.lookup("keys-test", secret) is None  # the default kind is `api`
        assert keys.lookup("keys-test", secret, "user").id == key.id
        assert keys.lookup("other-surface", secret, "user") is None


def test_revoke_takes_an_id_the_listed_prefix_or_the_secret_and_refuses_ambiguity(server):
    with connection():
        tenant, _ = keys.get_or_create_tenant("keys-test", f"r-{secrets.token_hex(4)}")
        shared = "aisp_key_" + secrets.token_hex(4)[:7]  # two keys, one visible prefix

        def same_prefix() -> str:
            return shared + secrets.token_hex(12)

        one, one_secret = keys.create_key(tenant, same_prefix)
        two, two_secret = keys.create_key(tenant, same_prefix)
        assert one.prefix == two.prefix == shared
        with pytest.raises(keys.KeyRequestError, match="revoke by id"):
            keys.revoke("keys-test", shared)
        assert keys.lookup("keys-test", one_secret) is not None  # nothing was revoked
        assert keys.revoke("keys-test", keys.shown(one)).id == one.id  # `prefix…last4`
        assert keys.lookup("keys-test", one_secret) is None
        assert keys.lookup("keys-test", two_secret) is not None
        assert keys.revoke("keys-test", keys.shown(one)) is None  # no live key left
        assert keys.revoke("keys-test", two.prefix + "...").id == two.id  # ASCII ellipsis
        three, three_secret = keys.create_key(tenant, new_secret)
        assert keys.revoke("other-surface", three_secret) is None
        assert keys.revoke("keys-test", three_secret).id == three.id


def test_an_org_key_of_a_tenant_an_older_cli_made_works(server):
    """An older `agentyard keys create --surface harnesslayer --tenant <slug>` made a tenant
    named like an existing organization's slug and no organization: its key got 500."""
    slug = f"old-{secrets.token_hex(4)}"
    with connection():
        user, _ = create_user("old")
        org, org_secret, _ = orgs.create(user, "Old", slug, False)
        tenant, _ = keys.get_or_create_tenant("harnesslayer", slug)  # what the old CLI did
        _, secret = keys.create_key(tenant, new_org_secret)
    hl = httpx.Client(base_url=server + "/harnesslayer", timeout=30)
    mine = {"Authorization": f"Bearer {secret}"}
    theirs = {"Authorization": f"Bearer {org_secret}"}
    assert hl.get("/v1/app/list", headers=mine).status_code == 200
    made = hl.post("/v1/app/create", headers=mine, json={"slug": "a", "type": "claude"})
    assert made.status_code == 201, made.text
    assert hl.get("/v1/app/a", headers=theirs).status_code == 404  # its own organization
