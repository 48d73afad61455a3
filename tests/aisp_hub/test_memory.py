"""Memory: ownership, namespaces, grants, the 64 KB limit and all-or-nothing batches."""

from __future__ import annotations

MEM = "/api/v1/memory"


def write(realm, s, entries):
    return realm.http.post(MEM, headers=s.headers, json={"entries": entries})


def test_write_read_and_namespace_filter(realm):
    a = realm.session()
    r = write(
        realm,
        a,
        [
            {"key": "project.name", "value": "My Project"},
            {"key": "project.stage", "value": "planning"},
            {"key": "projector", "value": {"on": True}},
        ],
    )
    assert r.status_code == 200
    assert r.json() == {"written": 3, "entries": ["project.name", "project.stage", "projector"]}
    entries = realm.http.get(MEM, params={"namespace": "project"}, headers=a.headers).json()
    assert [e["key"] for e in entries["entries"]] == ["project.name", "project.stage"]
    first = entries["entries"][0]
    assert first["value"] == "My Project" and first["owner"] == a.id
    assert first["updated_at"].endswith("Z")
    everything = realm.http.get(MEM, headers=a.headers).json()["entries"]
    assert [e["key"] for e in everything] == ["project.name", "project.stage", "projector"]
    page = realm.http.get(MEM, params={"limit": 1, "after": "project.name"}, headers=a.headers)
    assert [e["key"] for e in page.json()["entries"]] == ["project.stage"]


def test_other_sessions_keys_need_grants(realm):
    owner, other = realm.session(), realm.session()
    write(
        realm, owner, [{"key": "project.name", "value": "x"}, {"key": "secret.plan", "value": "y"}]
    )
    # reading a namespace with someone else's keys
    r = realm.http.get(MEM, params={"namespace": "project"}, headers=other.headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "no_read_grant"
    # without a namespace foreign keys are simply not listed
    assert realm.http.get(MEM, headers=other.headers).json()["entries"] == []
    # writing and deleting them
    r = write(realm, other, [{"key": "project.name", "value": "hijack"}])
    assert r.status_code == 403 and r.json()["error"]["code"] == "no_write_grant"
    r = realm.http.delete(f"{MEM}/project.name", headers=other.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "no_delete_grant"

    read_grant = realm.grant(other, owner, "memory.read", "project.*")
    got = realm.http.get(MEM, params={"namespace": "project"}, headers=other.headers).json()
    assert [e["value"] for e in got["entries"]] == ["x"]
    assert [e["key"] for e in realm.http.get(MEM, headers=other.headers).json()["entries"]] == [
        "project.name"
    ]
    assert (
        realm.http.get(MEM, params={"namespace": "secret"}, headers=other.headers).status_code
        == 403
    )

    realm.grant(other, owner, "memory.write", "project.name")
    assert write(realm, other, [{"key": "project.name", "value": "shared"}]).status_code == 200
    # still owned by the first writer
    entry = realm.http.get(MEM, params={"namespace": "project.name"}, headers=owner.headers)
    assert entry.json()["entries"][0] == {
        **entry.json()["entries"][0],
        "owner": owner.id,
        "value": "shared",
    }
    realm.grant(other, owner, "memory.delete", "project.*")
    assert realm.http.delete(f"{MEM}/project.name", headers=other.headers).json() == {
        "deleted": True,
        "key": "project.name",
    }

    # revocation takes effect on the very next request
    write(realm, owner, [{"key": "project.next", "value": 1}])
    realm.http.delete(f"/api/v1/grants/{read_grant}", headers=owner.headers)
    r = realm.http.get(MEM, params={"namespace": "project"}, headers=other.headers)
    assert r.status_code == 403


def test_value_over_64kb_is_422_and_nothing_written(realm):
    a = realm.session()
    big = "x" * (64 * 1024)  # serialized with quotes: 65538 bytes
    r = write(realm, a, [{"key": "ok.one", "value": 1}, {"key": "too.big", "value": big}])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "value_too_large"
    assert realm.http.get(MEM, headers=a.headers).json()["entries"] == []
    fits = "x" * (64 * 1024 - 2)
    assert write(realm, a, [{"key": "just.fits", "value": fits}]).status_code == 200


def test_forbidden_key_in_batch_writes_nothing(realm):
    owner, other = realm.session(), realm.session()
    write(realm, owner, [{"key": "taken", "value": 1}])
    r = write(realm, other, [{"key": "mine", "value": 1}, {"key": "taken", "value": 2}])
    assert r.status_code == 403
    assert realm.http.get(MEM, headers=other.headers).json()["entries"] == []


def test_bad_keys_and_batches_are_400(realm):
    a = realm.session()
    for entries in (
        [],
        [{"key": "bad key", "value": 1}],
        [{"key": "a..b", "value": 1}],
        [{"key": "k", "value": 1}, {"key": "k", "value": 2}],
        [{"key": "k"}],
    ):
        assert write(realm, a, entries).status_code == 400, entries
    assert realm.http.delete(f"{MEM}/not%20valid", headers=a.headers).status_code == 400


def test_delete_missing_key_is_404_and_memory_is_per_realm(make_realm):
    realm, other = make_realm(), make_realm()
    a, b = realm.session(), other.session()
    write(realm, a, [{"key": "shared.name", "value": "realm-a"}])
    assert realm.http.delete(f"{MEM}/nothing.here", headers=a.headers).status_code == 404
    # same key in another realm is a different entry, owned there
    assert write(other, b, [{"key": "shared.name", "value": "realm-b"}]).status_code == 200
    assert other.http.delete(f"{MEM}/shared.name", headers=b.headers).status_code == 200
    assert realm.http.get(MEM, headers=a.headers).json()["entries"][0]["value"] == "realm-a"
