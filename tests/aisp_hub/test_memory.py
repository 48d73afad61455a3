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
    # `?namespace=` is a key prefix (issue 10: it used to match whole segments only, so
    # `project` left `projector` out); the grant form `project.*` is the segment match.
    entries = realm.http.get(MEM, params={"namespace": "project.*"}, headers=a.headers).json()
    assert [e["key"] for e in entries["entries"]] == ["project.name", "project.stage"]
    prefixed = realm.http.get(MEM, params={"namespace": "project"}, headers=a.headers).json()
    assert [e["key"] for e in prefixed["entries"]] == ["project.name", "project.stage", "projector"]
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
    # A key that names nothing is 404 whatever its shape (issue 10: path ids; it was 400).
    r = realm.http.delete(f"{MEM}/not%20valid", headers=a.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "key_not_found"
    assert realm.http.delete(f"{MEM}/{'k' * 257}", headers=a.headers).status_code == 400


def test_delete_missing_key_is_404_and_memory_is_per_realm(make_realm):
    realm, other = make_realm(), make_realm()
    a, b = realm.session(), other.session()
    write(realm, a, [{"key": "shared.name", "value": "realm-a"}])
    assert realm.http.delete(f"{MEM}/nothing.here", headers=a.headers).status_code == 404
    # same key in another realm is a different entry, owned there
    assert write(other, b, [{"key": "shared.name", "value": "realm-b"}]).status_code == 200
    assert other.http.delete(f"{MEM}/shared.name", headers=b.headers).status_code == 200
    assert realm.http.get(MEM, headers=a.headers).json()["entries"][0]["value"] == "realm-a"


def read(realm, s, namespace=None):
    params = {"namespace": namespace} if namespace else {}
    return realm.http.get(MEM, params=params, headers=s.headers)


def keys_of(response):
    assert response.status_code == 200, response.text
    return [e["key"] for e in response.json()["entries"]]


def test_a_namespace_belongs_to_its_first_writer(realm):
    """Issue 10: C wrote `project.hijack` into A's namespace (200) and then A's own read of
    `project` was 403. Now the namespace is A's: C needs A's write grant."""
    a, c = realm.session(), realm.session()
    assert write(realm, a, [{"key": "project.name", "value": "mine"}]).status_code == 200
    for key in ("project.hijack", "project", "project.name.deep"):
        r = write(realm, c, [{"key": key, "value": "x"}])
        assert r.status_code == 403, (key, r.text)
        assert r.json()["error"]["code"] == "no_write_grant"
        assert r.json()["error"]["details"]["owner"] == a.id
    assert keys_of(read(realm, a, "project")) == ["project.name"]
    assert read(realm, c, "project").status_code == 403

    # with A's write grant C writes there; the keys stay A's, A still reads all of it
    realm.grant(c, a, "memory.write", "project.*")
    assert write(realm, c, [{"key": "project.hijack", "value": "by c"}]).status_code == 200
    got = read(realm, a, "project").json()["entries"]
    assert [(e["key"], e["owner"]) for e in got] == [
        ("project.hijack", a.id),
        ("project.name", a.id),
    ]
    # writing is not reading or deleting
    assert read(realm, c, "project").status_code == 403
    r = realm.http.delete(f"{MEM}/project.hijack", headers=c.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "no_delete_grant"
    assert realm.http.delete(f"{MEM}/project.hijack", headers=a.headers).status_code == 200
    # C's own namespace is C's
    assert write(realm, c, [{"key": "cee.notes", "value": 1}]).status_code == 200
    assert write(realm, a, [{"key": "cee.other", "value": 1}]).status_code == 403


def test_a_namespace_stays_owned_when_emptied(realm):
    a, c = realm.session(), realm.session()
    write(realm, a, [{"key": "plan.a", "value": 1}])
    assert realm.http.delete(f"{MEM}/plan.a", headers=a.headers).status_code == 200
    assert write(realm, c, [{"key": "plan.b", "value": 2}]).status_code == 403
    assert write(realm, a, [{"key": "plan.b", "value": 2}]).status_code == 200


def test_read_grants_cover_what_their_pattern_says(realm):
    a, c = realm.session(), realm.session()
    write(
        realm,
        a,
        [
            {"key": "project.name", "value": 1},
            {"key": "project.stage", "value": 2},
            {"key": "secret.plan", "value": 3},
        ],
    )
    realm.grant(c, a, "memory.read", "project.name")
    assert keys_of(read(realm, c, "project")) == ["project.name"]  # the readable part
    assert keys_of(read(realm, c)) == ["project.name"]
    r = read(realm, c, "project.stage")
    assert r.status_code == 403 and r.json()["error"]["code"] == "no_read_grant"
    assert read(realm, c, "secret").status_code == 403
    assert keys_of(read(realm, c, "nothing.here")) == []  # matches no key: no 403
    # C's own keys next to A's unreadable ones: C reads its own, never a 403
    write(realm, c, [{"key": "secretive", "value": 4}])
    assert keys_of(read(realm, c, "secret")) == ["secretive"]
    # the namespace owner always reads all of it
    assert keys_of(read(realm, a, "project.*")) == ["project.name", "project.stage"]


def test_namespace_filter_is_a_prefix_and_takes_the_grant_form(realm):
    a = realm.session()
    keys = ["proj", "project", "project.name", "project.stage.v2", "projector", "other"]
    assert write(realm, a, [{"key": k, "value": 1} for k in keys]).status_code == 200
    expect = {
        "proj": ["proj", "project", "project.name", "project.stage.v2", "projector"],
        "project": ["project", "project.name", "project.stage.v2", "projector"],
        "project.": ["project.name", "project.stage.v2"],
        "project.*": ["project", "project.name", "project.stage.v2"],
        "project.stage.*": ["project.stage.v2"],
        "*": sorted(keys),
        "PROJ": [],  # exact, not case-folded
        "pro%": [],  # no wildcard but `.*`
        "x_y": [],
    }
    for namespace, keys_expected in expect.items():
        assert keys_of(read(realm, a, namespace)) == keys_expected, namespace
    page = realm.http.get(
        MEM, params={"namespace": "proj", "limit": 2, "after": "project"}, headers=a.headers
    )
    assert keys_of(page) == ["project.name", "project.stage.v2"]


def test_deregistering_deletes_its_namespaces_and_frees_them(realm):
    a, b, c = realm.session(), realm.session(), realm.session()
    write(realm, a, [{"key": "project.name", "value": "a's"}])
    realm.grant(b, a, "memory.write", "project.*")
    assert write(realm, b, [{"key": "project.by-b", "value": "b's"}]).status_code == 200
    write(realm, b, [{"key": "bee.own", "value": 1}])
    assert realm.http.delete(f"/api/v1/sessions/{a.id}", headers=realm.headers).status_code == 200
    # A's namespace went with it (B's write there included); B's own namespace stays
    assert keys_of(read(realm, b)) == ["bee.own"]
    # the name is free: the next writer claims it, and finds none of A's keys
    assert write(realm, c, [{"key": "project.fresh", "value": 1}]).status_code == 200
    assert keys_of(read(realm, c, "project")) == ["project.fresh"]
    assert write(realm, b, [{"key": "project.by-b", "value": 2}]).status_code == 403


def test_concurrent_first_writes_in_a_namespace_have_one_owner(realm):
    import concurrent.futures

    sessions = [realm.session() for _ in range(6)]

    def claim(s):
        return write(realm, s, [{"key": f"race.{s.name}", "value": 1}]).status_code

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(claim, sessions))
    assert sorted(codes) == [200] + [403] * 5, codes
    winner = sessions[codes.index(200)]
    assert keys_of(read(realm, winner, "race")) == [f"race.{winner.name}"]


def test_upgrade_gives_each_namespace_to_its_first_writer(realm):
    """Stores written under per-key ownership: the migration hands every namespace (with the
    keys others wrote into it) to the writer of its oldest key, and drops departed sessions'
    keys, so the issue's hijacked namespace reads again for its owner."""
    import datetime as dt

    from agentyard.aisp import models
    from agentyard.aisp.models import MemoryEntry, Namespace
    from agentyard.core import clock
    from agentyard.core.keys import Tenant
    from agentyard.core.store import connection, db
    from agentyard.core.store import write as transaction

    a, c, gone = realm.session(), realm.session(), realm.session()
    realm.http.delete(f"/api/v1/sessions/{gone.id}", headers=realm.headers)
    t0 = clock.now() - dt.timedelta(hours=1)
    legacy = [  # (key, owner, age): what per-key ownership let C and `gone` write
        ("project.name", a.id, 0),
        ("project.hijack", c.id, 1),
        ("cee.notes", c.id, 2),
        ("dee.left", gone.id, 3),
        ("project.left", gone.id, 4),
    ]
    with connection(), transaction():
        tenant = Tenant.get((Tenant.surface == "aisp-hub") & (Tenant.name == realm.name))
        for key, owner, age in legacy:
            at = t0 + dt.timedelta(minutes=age)
            MemoryEntry.create(
                realm=tenant, key=key, value="1", owner=owner, created_at=at, updated_at=at
            )
        models._own_namespaces(db.obj)
        owners = {n.name: n.owner for n in Namespace.select().where(Namespace.realm == tenant)}
    assert owners == {"project": a.id, "cee": c.id}
    got = read(realm, a, "project").json()["entries"]
    assert [(e["key"], e["owner"]) for e in got] == [
        ("project.hijack", a.id),
        ("project.name", a.id),
    ]
    assert keys_of(read(realm, c)) == ["cee.notes"]
    assert write(realm, c, [{"key": "project.again", "value": 1}]).status_code == 403
