"""Version sync through the API: each strategy, a real three-way conflict, `profileIds`, and
the watchdog that restarts jobs whose worker died."""

from __future__ import annotations

import datetime as dt

import pytest

from agentyard.core import clock, jobs
from agentyard.core import ids as id_gen
from agentyard.core.store import connection, write
from agentyard.harnesslayer import sync
from agentyard.harnesslayer.bundle_models import SyncJob
from agentyard.harnesslayer.models import Profile
from tests.harnesslayer.bundle_helpers import (
    download,
    make_profile,
    publish_state,
    publish_version,
    sri,
    unzip,
    wait_for,
)


@pytest.fixture(scope="module")
def consumer(app):
    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


def lines(*edits: tuple[int, str], count: int = 12, name: str = "line") -> bytes:
    """`count` numbered lines, with some replaced: edits = (index, text)."""
    out = [f"{name} {i}\n" for i in range(count)]
    for index, text in edits:
        out[index] = text + "\n"
    return "".join(out).encode()


V1 = {
    "agent.json": b'{"model": "claude"}\n',
    "notes.md": lines(),
    "prompt.md": lines(name="prompt"),
    "old.md": b"to be removed by v2\n",
    "logo.bin": b"\x00\x01\x02v1",
}
# The profile's edits on top of v1.
PROFILE = {
    **V1,
    "notes.md": lines((3, "line 3 as the profile wrote it")),
    "prompt.md": lines((1, "prompt 1, profile's wording"), name="prompt"),
    "old.md": b"the profile edited this\n",
    "logo.bin": b"\x00\x01\x02profile",
    "memory.json": b'{"likes": "tea"}\n',
}
# v2 changes the same line of notes.md, another region of prompt.md, and more.
V2 = {
    "agent.json": b'{"model": "claude", "tools": ["search"]}\n',
    "notes.md": lines((3, "line 3 as version 2 has it")),
    "prompt.md": lines((10, "prompt 10, new in v2"), name="prompt"),
    "logo.bin": b"\x00\x01\x02v2",
    "tools.md": b"search: the web\n",
}


def setup_app(ws, profiles: int = 1) -> tuple[dict, dict, list[str], list[dict]]:
    """(app, v1, profile ids, their v1-based states); v2 is not published yet."""
    app = ws.app()
    v1 = publish_version(ws, app, V1)
    ids = [make_profile(app["id"]) for _ in range(profiles)]
    states = [publish_state(ws, p, PROFILE) for p in ids]
    assert all(s["baseVersionId"] == v1["id"] for s in states)
    return app, v1, ids, states


def run_sync(ws, app: dict, **body: object) -> dict:
    r = ws.http.post("/v1/version/sync", headers=ws.headers, json={"appId": app["id"], **body})
    assert r.status_code == 202, r.text
    job = r.json()["data"]
    assert job["status"] == "queued" and job["id"].startswith("sync-")

    def finished() -> dict | None:
        data = ws.http.get(f"/v1/sync/{job['id']}", headers=ws.headers).json()["data"]
        return data if data["status"] in ("completed", "failed") else None

    return wait_for(finished)


def head_files(ws, profile_id: str) -> tuple[dict, dict[str, bytes]]:
    with connection():
        head = Profile.get_by_id(profile_id).head_state_id
    state = ws.http.get(f"/v1/state/{head}", headers=ws.headers).json()["data"]
    _, archive = download(ws, f"/v1/state/download/{head}", method="POST")
    return state, unzip(archive.content)


def conflicts_of(ws, app: dict) -> list[dict]:
    r = ws.http.get(
        "/v1/conflict/list", headers=ws.headers, params={"appId": app["id"], "pageSize": 100}
    )
    assert r.status_code == 200
    return r.json()["data"]["items"]


def test_smart_sync_merges_text_and_records_real_conflicts(ws, consumer):
    app, v1, (profile,), (state,) = setup_app(ws)
    fresh = make_profile(app["id"])  # no state: unchanged
    v2 = publish_version(ws, app, V2)
    job = run_sync(ws, app, strategy="smart")
    assert job["status"] == "completed" and job["versionId"] == v2["id"]
    assert job["strategy"] == "smart" and job["profileIds"] is None
    assert job["startedAt"] and job["completedAt"] and job["failure"] is None
    assert job["counts"] == {"total": 2, "synced": 0, "unchanged": 1, "conflicted": 1, "failed": 0}

    new, files = head_files(ws, profile)
    assert new["source"] == "sync" and new["syncId"] == job["id"]
    assert new["baseVersionId"] == v2["id"] and new["number"] == 2 and new["isHead"]
    assert files["notes.md"] == PROFILE["notes.md"]  # overlapping edits: the profile's kept
    assert files["prompt.md"] == lines(  # different regions: both edits merged
        (1, "prompt 1, profile's wording"), (10, "prompt 10, new in v2"), name="prompt"
    )
    assert files["agent.json"] == V2["agent.json"]  # changed by the version only
    assert files["memory.json"] == PROFILE["memory.json"]  # added by the profile only
    assert files["tools.md"] == V2["tools.md"]  # added by the version only
    assert files["old.md"] == PROFILE["old.md"]  # modified vs deleted: a conflict, kept
    assert files["logo.bin"] == PROFILE["logo.bin"]  # binary, both changed: a conflict, kept

    found = {c["file"]: c for c in conflicts_of(ws, app)}
    assert {f: c["reason"] for f, c in found.items()} == {
        "notes.md": "both_modified",
        "old.md": "modify_delete",
        "logo.bin": "binary",
    }
    notes = found["notes.md"]
    assert notes["profileId"] == profile and notes["syncId"] == job["id"]
    assert notes["strategy"] == "smart" and notes["stateId"] == state["id"]
    assert notes["baseVersionId"] == v1["id"] and notes["versionId"] == v2["id"]
    assert notes["baseHash"] == sri(V1["notes.md"])
    assert notes["currentHash"] == sri(PROFILE["notes.md"])
    assert notes["incomingHash"] == sri(V2["notes.md"])
    assert found["old.md"]["incomingHash"] is None
    one = ws.http.get(f"/v1/conflict/{notes['id']}", headers=ws.headers)
    assert one.status_code == 200 and one.json()["data"] == notes
    with connection():
        assert Profile.get_by_id(fresh).head_state_id is None

    # The state now derives from v2: syncing again leaves it alone.
    again = run_sync(ws, app)
    assert again["counts"]["unchanged"] == 2 and again["counts"]["synced"] == 0
    listed = ws.http.get("/v1/sync/list", headers=ws.headers, params={"appId": app["slug"]})
    assert [j["id"] for j in listed.json()["data"]["items"]] == [again["id"], job["id"]]


def test_a_non_overlapping_edit_is_merged_without_conflict(ws, consumer):
    app = ws.app()
    publish_version(ws, app, {"notes.md": lines()})
    profile = make_profile(app["id"])
    publish_state(ws, profile, {"notes.md": lines((2, "profile edit"))})
    publish_version(ws, app, {"notes.md": lines((9, "version edit"))})
    job = run_sync(ws, app)  # strategy defaults to smart
    assert job["strategy"] == "smart"
    assert job["counts"] == {"total": 1, "synced": 1, "unchanged": 0, "conflicted": 0, "failed": 0}
    _, files = head_files(ws, profile)
    assert files == {"notes.md": lines((2, "profile edit"), (9, "version edit"))}
    assert conflicts_of(ws, app) == []


@pytest.mark.parametrize("strategy", ["incoming", "current"])
def test_incoming_and_current_settle_files_both_sides_changed(ws, consumer, strategy):
    app, _, (profile,), _ = setup_app(ws)
    publish_version(ws, app, V2)
    job = run_sync(ws, app, strategy=strategy)
    assert job["counts"]["synced"] == 1 and job["counts"]["conflicted"] == 0
    state, files = head_files(ws, profile)
    assert state["source"] == "sync"
    side = V2 if strategy == "incoming" else PROFILE
    for name in ("notes.md", "prompt.md", "logo.bin"):  # changed differently on both sides
        assert files[name] == side[name], name
    assert ("old.md" in files) is (strategy == "current")  # deleted by v2, edited by profile
    # Changes made on one side only are taken whatever the strategy.
    assert files["agent.json"] == V2["agent.json"] and files["tools.md"] == V2["tools.md"]
    assert files["memory.json"] == PROFILE["memory.json"]
    assert conflicts_of(ws, app) == []


def test_manual_records_conflicts_and_changes_nothing(ws, consumer):
    app, _, (profile,), (state,) = setup_app(ws)
    publish_version(ws, app, V2)
    job = run_sync(ws, app, strategy="manual")
    assert job["counts"]["conflicted"] == 1 and job["counts"]["synced"] == 0
    with connection():
        assert Profile.get_by_id(profile).head_state_id == state["id"]
    found = conflicts_of(ws, app)
    # Every file the version changed whose content differs from the profile's.
    assert sorted(c["file"] for c in found) == [
        "agent.json",
        "logo.bin",
        "notes.md",
        "old.md",
        "prompt.md",
        "tools.md",
    ]
    assert {c["reason"] for c in found} == {"divergent"}
    assert {c["strategy"] for c in found} == {"manual"}
    # Nothing moved, so the next manual sync reports the same divergences.
    assert run_sync(ws, app, strategy="manual")["counts"]["conflicted"] == 1
    assert len(conflicts_of(ws, app)) == 2 * len(found)


def test_profile_ids_select_the_profiles_synced(ws, consumer, other_ws):
    app, _, profiles, states = setup_app(ws, profiles=3)
    publish_version(ws, app, V2)
    job = run_sync(ws, app, strategy="incoming", profileIds=profiles[:2])
    assert job["profileIds"] == profiles[:2]
    assert job["counts"] == {"total": 2, "synced": 2, "unchanged": 0, "conflicted": 0, "failed": 0}
    with connection():
        heads = [Profile.get_by_id(p).head_state_id for p in profiles]
    assert heads[0] != states[0]["id"] and heads[1] != states[1]["id"]
    assert heads[2] == states[2]["id"]  # not asked: untouched
    other_app = ws.app()
    stranger = make_profile(other_app["id"])
    for ids in ([stranger], [profiles[0], "prof-unknown"]):
        r = ws.http.post(
            "/v1/version/sync",
            headers=ws.headers,
            json={"appId": app["id"], "profileIds": ids},
        )
        assert r.status_code == 404, r.text
    bad = ws.http.post(
        "/v1/version/sync", headers=ws.headers, json={"appId": app["id"], "strategy": "theirs"}
    )
    assert bad.status_code == 400
    headless = ws.http.post("/v1/version/sync", headers=ws.headers, json={"appId": other_app["id"]})
    assert headless.status_code == 409 and headless.json()["error"]["code"] == "conflict"
    # Sync jobs and conflicts are the organization's own.
    assert other_ws.http.get(f"/v1/sync/{job['id']}", headers=other_ws.headers).status_code == 404


def test_cross_organization_conflicts_are_404(ws, other_ws, consumer):
    app, _, _, _ = setup_app(ws)
    publish_version(ws, app, V2)
    run_sync(ws, app)
    conflict = conflicts_of(ws, app)[0]
    r = other_ws.http.get(f"/v1/conflict/{conflict['id']}", headers=other_ws.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_resolve_one_sided_rules():
    base = {"same": "b", "cur": "b", "inc": "b", "both": "b", "gone": "b"}
    current = {"same": "b", "cur": "c", "inc": "b", "both": "c", "new": "c"}
    incoming = {"same": "b", "cur": "b", "inc": "i", "both": "i", "gone": "b"}
    assert sync.resolve_one_sided("incoming", base, current, incoming) == {
        "same": "b",
        "cur": "c",
        "inc": "i",
        "both": "i",
        "new": "c",
    }
    assert sync.resolve_one_sided("current", base, current, incoming)["both"] == "c"


# --- the watchdog ---------------------------------------------------------------------------
# Rows are made as a dead worker or a lost task would leave them, stamped with the real time;
# `recover` is called with a later `now`, so the consumer's own periodic watchdog (real time)
# never touches them meanwhile.


def orphan_job(app: dict, version: dict, status: str, attempt: int = 1) -> str:
    """A sync job row as a lost task (`queued`) or a dead worker (`running`) leaves it."""
    now = clock.now()
    with connection(), write():
        job = SyncJob.create(
            id=id_gen.new_id("sync", "-"),
            app=app["id"],
            version_id=version["id"],
            strategy="incoming",
            status=status,
            total=1,
            created_at=now,
            started_at=now if status == "running" else None,
            heartbeat_at=now if status == "running" else None,
            attempt=attempt,
        )
    return job.id


def recover_at(seconds_from_now: float) -> dict[str, int]:
    with connection():
        return sync.recover(now=clock.now() + dt.timedelta(seconds=seconds_from_now))


def job_view(ws, job_id: str) -> dict:
    r = ws.http.get(f"/v1/sync/{job_id}", headers=ws.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def settled(ws, job_id: str) -> dict:
    return wait_for(lambda: (v := job_view(ws, job_id))["status"] in ("completed", "failed") and v)


def test_a_job_whose_worker_died_is_restarted_and_completes(ws, consumer):
    app, _, (profile,), _ = setup_app(ws)
    v2 = publish_version(ws, app, V2)
    job_id = orphan_job(app, v2, "running")
    assert recover_at(sync.STALE_SECONDS - 30)["restarted"] == 0  # not stale yet
    assert recover_at(sync.STALE_SECONDS + 1) == {"requeued": 0, "restarted": 1, "failed": 0}
    view = settled(ws, job_id)
    assert view["status"] == "completed" and view["failure"] is None
    assert view["counts"] == {"total": 1, "synced": 1, "unchanged": 0, "conflicted": 0, "failed": 0}
    state, _ = head_files(ws, profile)
    assert state["baseVersionId"] == v2["id"] and state["syncId"] == job_id
    with connection():
        assert SyncJob.get_by_id(job_id).attempt == 2
    assert recover_at(sync.STALE_SECONDS + 1)["restarted"] == 0  # finished: left alone


def test_a_job_that_keeps_losing_its_worker_fails_as_worker_lost(ws, consumer):
    app, v1, (profile,), (state,) = setup_app(ws)
    job_id = orphan_job(app, v1, "running", attempt=sync.MAX_JOB_ATTEMPTS)
    assert recover_at(sync.STALE_SECONDS + 1) == {"requeued": 0, "restarted": 0, "failed": 1}
    view = job_view(ws, job_id)
    assert view["status"] == "failed" and view["completedAt"]
    assert view["failure"]["code"] == "worker_lost"
    with connection():
        assert Profile.get_by_id(profile).head_state_id == state["id"]  # nothing changed


def test_a_queued_job_whose_task_was_lost_is_enqueued_again_once(ws, consumer):
    app, _, _, _ = setup_app(ws)
    v2 = publish_version(ws, app, V2)
    job_id = orphan_job(app, v2, "queued")
    assert recover_at(sync.QUEUED_GRACE - 30)["requeued"] == 0
    assert recover_at(sync.QUEUED_GRACE + 1)["requeued"] == 1
    assert recover_at(sync.QUEUED_GRACE + 1)["requeued"] == 0  # just enqueued: not again
    assert settled(ws, job_id)["status"] == "completed"


def test_a_replaced_run_can_neither_save_nor_finish(ws):
    app, v1, _, _ = setup_app(ws)
    job_id = orphan_job(app, v1, "running")
    with connection():
        old_run = SyncJob.get_by_id(job_id)
        with write():
            SyncJob.update(attempt=2).where(SyncJob.id == job_id).execute()  # a restart took over
        assert not sync._save_counts(old_run, 1, dict.fromkeys(sync.OUTCOMES, 0))
        sync._finish(old_run, "completed")
        row = SyncJob.get_by_id(job_id)
    assert row.status == "running" and row.completed_at is None and row.total == 1
