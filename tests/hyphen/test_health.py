"""GET /health and /health/ready: no credential; readiness asks the store, the job queue and
Redis (when configured), and answers 503 naming what is down."""

from __future__ import annotations

from agentyard.core import readiness
from tests.hyphen.conftest import error


def test_liveness_needs_no_key(anon) -> None:
    r = anon.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["service"] == "hyphen"


def test_readiness_reports_each_backing_service(anon, settings) -> None:
    r = anon.get("/health/ready")
    assert r.status_code == 200, r.text
    checks = r.json()["checks"]
    assert checks["store"] == "ok" and checks["jobs"] == "ok"
    assert checks["redis"] == ("ok" if settings.redis_url else "not_configured")


def test_readiness_names_what_is_down(anon, monkeypatch) -> None:
    def broken() -> str:
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(readiness, "_jobs", broken)
    body = error(anon.get("/health/ready"), 503)
    assert "jobs" in body["message"] and "queue unreachable" in body["message"]
    assert body["details"]["checks"]["store"] == "ok"
    assert body["details"]["checks"]["jobs"].startswith("down:")
