"""Settings read from environment variables (see README "Configuration")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    return default if raw == "" else raw in ("1", "true", "yes", "on")


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _llm_from_env() -> dict[str, object]:
    """The LLM upstream: `offline` (default), `anthropic` or `openai` (any compatible API)."""
    kind = (os.environ.get("AGENTYARD_LLM_PROVIDER") or "offline").strip().lower()
    prefix = {"anthropic": "ANTHROPIC", "openai": "AGENTYARD_OPENAI"}.get(kind, "")
    return {
        "llm_provider": kind,
        "llm_base_url": os.environ.get(f"{prefix}_BASE_URL") or None if prefix else None,
        "llm_api_key": os.environ.get(f"{prefix}_API_KEY") or None if prefix else None,
        "llm_model": os.environ.get("AGENTYARD_OPENAI_MODEL") or None,
        "llm_timeout_seconds": _float("AGENTYARD_LLM_TIMEOUT_SECONDS", 600.0),
        "llm_connect_timeout_seconds": _float("AGENTYARD_LLM_CONNECT_TIMEOUT_SECONDS", 10.0),
        "llm_max_retries": _int("AGENTYARD_LLM_MAX_RETRIES", 2),
    }


@dataclass(frozen=True)
class Settings:
    """Process-wide configuration; build it with `Settings.from_env()`."""

    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    max_body_bytes: int = 1_048_576
    sse_heartbeat_seconds: float = 15.0
    aisp_reads_per_minute: int = 1000
    aisp_writes_per_minute: int = 200
    aisp_ping_timeout_seconds: float = 5.0
    aisp_jwt_max_ttl_seconds: int = 3600
    hasp_requests_per_minute: int = 60
    hasp_credit_allotment: int = 10_000_000
    hasp_phi_timeout_seconds: float = 10.0
    phi_scan_processes: int = 2
    phi_cache_entries: int = 4096
    phi_cache_key: str | None = field(default=None, repr=False)
    llm_provider: str = "offline"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout_seconds: float = 600.0
    llm_connect_timeout_seconds: float = 10.0
    llm_max_retries: int = 2
    jobs_queue: str = "agentyard"
    jobs_workers: int = 1
    webhook_allow_private: str = ""
    webhook_require_https: bool = True
    harnesslayer_requests_per_minute: int = 600
    harnesslayer_upload_ttl_seconds: int = 3600
    harnesslayer_download_ttl_seconds: int = 900
    harnesslayer_max_file_bytes: int = 100 * 1024 * 1024
    harnesslayer_max_archive_bytes: int = 100 * 1024 * 1024
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read AGENTYARD_* / DATABASE_URL / REDIS_URL; keyword overrides win."""
        values: dict[str, object] = {
            "data_dir": Path(os.environ.get("AGENTYARD_DATA_DIR") or "data"),
            "database_url": os.environ.get("DATABASE_URL") or None,
            "redis_url": os.environ.get("REDIS_URL") or None,
            "max_body_bytes": _int("AGENTYARD_MAX_BODY_BYTES", 1_048_576),
            "sse_heartbeat_seconds": _float("AGENTYARD_SSE_HEARTBEAT_SECONDS", 15.0),
            "aisp_reads_per_minute": _int("AGENTYARD_AISP_READS_PER_MINUTE", 1000),
            "aisp_writes_per_minute": _int("AGENTYARD_AISP_WRITES_PER_MINUTE", 200),
            "aisp_ping_timeout_seconds": _float("AGENTYARD_AISP_PING_TIMEOUT_SECONDS", 5.0),
            "aisp_jwt_max_ttl_seconds": _int("AGENTYARD_AISP_JWT_MAX_TTL_SECONDS", 3600),
            "hasp_requests_per_minute": _int("AGENTYARD_HASP_REQUESTS_PER_MINUTE", 60),
            "hasp_credit_allotment": _int("AGENTYARD_HASP_CREDIT_ALLOTMENT", 10_000_000),
            "hasp_phi_timeout_seconds": _float("AGENTYARD_HASP_PHI_TIMEOUT_SECONDS", 10.0),
            "phi_scan_processes": _int("AGENTYARD_PHI_SCAN_PROCESSES", 2),
            "phi_cache_entries": _int("AGENTYARD_PHI_CACHE_ENTRIES", 4096),
            "phi_cache_key": os.environ.get("AGENTYARD_PHI_CACHE_KEY") or None,
            **_llm_from_env(),
            "jobs_queue": os.environ.get("AGENTYARD_JOBS_QUEUE") or "agentyard",
            "jobs_workers": _int("AGENTYARD_JOBS_WORKERS", 1),
            "webhook_allow_private": os.environ.get("AGENTYARD_WEBHOOK_ALLOW_PRIVATE") or "",
            "webhook_require_https": _bool("AGENTYARD_WEBHOOK_REQUIRE_HTTPS", True),
            "harnesslayer_requests_per_minute": _int(
                "AGENTYARD_HARNESSLAYER_REQUESTS_PER_MINUTE", 600
            ),
            "harnesslayer_upload_ttl_seconds": _int(
                "AGENTYARD_HARNESSLAYER_UPLOAD_TTL_SECONDS", 3600
            ),
            "harnesslayer_download_ttl_seconds": _int(
                "AGENTYARD_HARNESSLAYER_DOWNLOAD_TTL_SECONDS", 900
            ),
            "harnesslayer_max_file_bytes": _int(
                "AGENTYARD_HARNESSLAYER_MAX_FILE_BYTES", 100 * 1024 * 1024
            ),
            "harnesslayer_max_archive_bytes": _int(
                "AGENTYARD_HARNESSLAYER_MAX_ARCHIVE_BYTES", 100 * 1024 * 1024
            ),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
