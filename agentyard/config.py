"""Settings read from environment variables (see README "Configuration").

Every environment variable agentyard reads is read here, by `Settings.from_env()`; modules take
their values from a `Settings` (passed in, or `Settings.from_env()` at the moment they need one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _str(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw not in (None, "") else default


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    return default if raw == "" else raw in ("1", "true", "yes", "on")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    return float(raw) if raw not in (None, "") else default


def _llm_from_env(env: Mapping[str, str]) -> dict[str, object]:
    """The LLM upstream: `offline` (default), `anthropic` or `openai` (any compatible API)."""
    kind = (env.get("AGENTYARD_LLM_PROVIDER") or "offline").strip().lower()
    prefix = {"anthropic": "ANTHROPIC", "openai": "AGENTYARD_OPENAI"}.get(kind, "")
    return {
        "llm_provider": kind,
        "llm_base_url": env.get(f"{prefix}_BASE_URL") or None if prefix else None,
        "llm_api_key": env.get(f"{prefix}_API_KEY") or None if prefix else None,
        "llm_model": env.get("AGENTYARD_OPENAI_MODEL") or None,
        "llm_timeout_seconds": _float(env, "AGENTYARD_LLM_TIMEOUT_SECONDS", 600.0),
        "llm_connect_timeout_seconds": _float(env, "AGENTYARD_LLM_CONNECT_TIMEOUT_SECONDS", 10.0),
        "llm_max_retries": _int(env, "AGENTYARD_LLM_MAX_RETRIES", 2),
    }


@dataclass(frozen=True)
class Settings:
    """Process-wide configuration; build it with `Settings.from_env()`."""

    # --- the process: storage, pub/sub, HTTP ---
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    max_body_bytes: int = 1_048_576
    sse_heartbeat_seconds: float = 15.0
    key_cache_seconds: float = 5.0  # API key lookups cached per process (0: off); core/keys
    key_cache_entries: int = 10_000
    log_level: str = "INFO"  # AGENTYARD_LOG_LEVEL
    log_format: str = "json"  # AGENTYARD_LOG_FORMAT: json | logfmt
    metrics_token: str | None = None  # AGENTYARD_METRICS_TOKEN: /metrics wants it as Bearer
    operator_token: str | None = None  # AGENTYARD_OPERATOR_TOKEN: the console's (else minted)
    # --- aisp-hub ---
    aisp_reads_per_minute: int = 1000
    aisp_writes_per_minute: int = 200
    aisp_ping_timeout_seconds: float = 5.0
    aisp_jwt_max_ttl_seconds: int = 3600
    # --- hasp-ai ---
    hasp_requests_per_minute: int = 60
    hasp_credit_allotment: int = 10_000_000
    hasp_phi_timeout_seconds: float = 10.0
    # --- hasp-studio (sign-in sessions, login throttle, invitations) ---
    hasp_studio_session_idle_minutes: int = 720
    hasp_studio_session_max_hours: int = 168
    hasp_studio_login_per_minute_account: int = 10
    hasp_studio_login_per_minute_ip: int = 30
    hasp_studio_invite_hours: int = 72
    # argon2id cost of member passwords (RFC 9106's second recommendation, argon2-cffi's default)
    hasp_studio_password_time_cost: int = 3
    hasp_studio_password_memory_kib: int = 65_536
    # --- hasp-runtime: `serve --surface hasp-runtime` takes the org from `{org}.<this domain>` ---
    hasp_runtime_domain: str = "localhost"
    # --- PHI guard (agentyard/phi) ---
    phi_scan_processes: int = 2
    phi_cache_entries: int = 4096
    phi_cache_key: str | None = field(default=None, repr=False)
    # --- the LLM upstream (agentyard/llm) ---
    llm_provider: str = "offline"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout_seconds: float = 600.0
    llm_connect_timeout_seconds: float = 10.0
    llm_max_retries: int = 2
    # --- background jobs and webhook deliveries (core) ---
    jobs_queue: str = "agentyard"
    jobs_workers: int = 1
    flows_lease_seconds: float = 30.0
    flows_reaper_seconds: float = 15.0
    webhook_allow_private: str = ""
    webhook_require_https: bool = True
    # --- timestamp authority of audit exports (core/timestamping, hasp audit export) ---
    tsa: str = "offline"
    tsa_url: str | None = None
    tsa_cacert_url: str | None = None
    tsa_ca_file: str | None = None
    tsa_timeout_seconds: float = 10.0
    # --- secrets kept encrypted (core/vault) ---
    vault_key: str | None = field(default=None, repr=False)
    # --- blob storage and signed blob URLs (core/blobs) ---
    blob_signing_key: str | None = field(default=None, repr=False)
    blob_max_file_bytes: int = 256 * 1024 * 1024
    blob_max_archive_bytes: int = 1024 * 1024 * 1024
    blob_fetch_allow: str | None = None
    blob_fetch_allow_private: str | None = None
    # --- harnesslayer ---
    harnesslayer_requests_per_minute: int = 600
    harnesslayer_upload_ttl_seconds: int = 3600
    harnesslayer_download_ttl_seconds: int = 900
    harnesslayer_max_file_bytes: int = 100 * 1024 * 1024
    harnesslayer_max_archive_bytes: int = 100 * 1024 * 1024
    sendblue_base_url: str | None = None
    # --- hyphen ---
    hyphen_requests_per_minute: int = 600
    # `X-Org-Id` with no secret: only behind a gateway that strips it from outside traffic.
    hyphen_direct_engine_mode: bool = False
    # the root of every OAuth provider URL (tests, provider proxies); None: the real providers
    hyphen_oauth_base_url: str | None = None
    # POST /gateway/signup takes no credential: limited per client address.
    hyphen_signups_per_minute: int = 10
    # SDK sessions (`POST /sdk/auth/session`) live this long; OTP requests per email and per key
    hyphen_sdk_session_seconds: int = 3600
    hyphen_sdk_otp_per_email_per_minute: int = 3
    hyphen_sdk_otp_per_key_per_minute: int = 30
    # --- outbox (core.outbox): SMTP when set, else the dev outbox (stored, not sent) ---
    smtp_url: str | None = None
    smtp_from: str = "agentyard@localhost"
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read AGENTYARD_* / DATABASE_URL / REDIS_URL from `environ` (default `os.environ`);
        keyword overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            # the process
            "data_dir": Path(env.get("AGENTYARD_DATA_DIR") or "data"),
            "database_url": _str(env, "DATABASE_URL"),
            "redis_url": _str(env, "REDIS_URL"),
            "max_body_bytes": _int(env, "AGENTYARD_MAX_BODY_BYTES", 1_048_576),
            "sse_heartbeat_seconds": _float(env, "AGENTYARD_SSE_HEARTBEAT_SECONDS", 15.0),
            "key_cache_seconds": _float(env, "AGENTYARD_KEY_CACHE_SECONDS", 5.0),
            "key_cache_entries": _int(env, "AGENTYARD_KEY_CACHE_ENTRIES", 10_000),
            "log_level": (env.get("AGENTYARD_LOG_LEVEL") or "INFO").strip().upper(),
            "log_format": (env.get("AGENTYARD_LOG_FORMAT") or "json").strip().lower(),
            "metrics_token": _str(env, "AGENTYARD_METRICS_TOKEN"),
            "operator_token": _str(env, "AGENTYARD_OPERATOR_TOKEN"),
            # aisp-hub
            "aisp_reads_per_minute": _int(env, "AGENTYARD_AISP_READS_PER_MINUTE", 1000),
            "aisp_writes_per_minute": _int(env, "AGENTYARD_AISP_WRITES_PER_MINUTE", 200),
            "aisp_ping_timeout_seconds": _float(env, "AGENTYARD_AISP_PING_TIMEOUT_SECONDS", 5.0),
            "aisp_jwt_max_ttl_seconds": _int(env, "AGENTYARD_AISP_JWT_MAX_TTL_SECONDS", 3600),
            # hasp-ai
            "hasp_requests_per_minute": _int(env, "AGENTYARD_HASP_REQUESTS_PER_MINUTE", 60),
            "hasp_credit_allotment": _int(env, "AGENTYARD_HASP_CREDIT_ALLOTMENT", 10_000_000),
            "hasp_phi_timeout_seconds": _float(env, "AGENTYARD_HASP_PHI_TIMEOUT_SECONDS", 10.0),
            # hasp-studio
            "hasp_studio_session_idle_minutes": _int(
                env, "AGENTYARD_HASP_STUDIO_SESSION_IDLE_MINUTES", 720
            ),
            "hasp_studio_session_max_hours": _int(
                env, "AGENTYARD_HASP_STUDIO_SESSION_MAX_HOURS", 168
            ),
            "hasp_studio_login_per_minute_account": _int(
                env, "AGENTYARD_HASP_STUDIO_LOGIN_PER_MINUTE_ACCOUNT", 10
            ),
            "hasp_studio_login_per_minute_ip": _int(
                env, "AGENTYARD_HASP_STUDIO_LOGIN_PER_MINUTE_IP", 30
            ),
            "hasp_studio_invite_hours": _int(env, "AGENTYARD_HASP_STUDIO_INVITE_HOURS", 72),
            # argon2's floors: 1 pass, 8 KiB for each of the 4 lanes (a smaller value is raised)
            "hasp_studio_password_time_cost": max(
                1, _int(env, "AGENTYARD_HASP_STUDIO_PASSWORD_TIME_COST", 3)
            ),
            "hasp_studio_password_memory_kib": max(
                32, _int(env, "AGENTYARD_HASP_STUDIO_PASSWORD_MEMORY_KIB", 65_536)
            ),
            "hasp_runtime_domain": _str(env, "AGENTYARD_HASP_RUNTIME_DOMAIN") or "localhost",
            # PHI guard
            "phi_scan_processes": _int(env, "AGENTYARD_PHI_SCAN_PROCESSES", 2),
            "phi_cache_entries": _int(env, "AGENTYARD_PHI_CACHE_ENTRIES", 4096),
            "phi_cache_key": _str(env, "AGENTYARD_PHI_CACHE_KEY"),
            # the LLM upstream
            **_llm_from_env(env),
            # jobs and webhooks
            "jobs_queue": env.get("AGENTYARD_JOBS_QUEUE") or "agentyard",
            "jobs_workers": _int(env, "AGENTYARD_JOBS_WORKERS", 1),
            # the workflow engine
            "flows_lease_seconds": _float(env, "AGENTYARD_FLOWS_LEASE_SECONDS", 30.0),
            "flows_reaper_seconds": _float(env, "AGENTYARD_FLOWS_REAPER_SECONDS", 15.0),
            "webhook_allow_private": env.get("AGENTYARD_WEBHOOK_ALLOW_PRIVATE") or "",
            "webhook_require_https": _bool(env, "AGENTYARD_WEBHOOK_REQUIRE_HTTPS", True),
            # timestamp authority
            "tsa": env.get("AGENTYARD_TSA") or "offline",
            "tsa_url": _str(env, "AGENTYARD_TSA_URL"),
            "tsa_cacert_url": _str(env, "AGENTYARD_TSA_CACERT_URL"),
            "tsa_ca_file": _str(env, "AGENTYARD_TSA_CA_FILE"),
            "tsa_timeout_seconds": _float(env, "AGENTYARD_TSA_TIMEOUT", 10.0),
            # vault
            "vault_key": _str(env, "AGENTYARD_VAULT_KEY"),
            # blobs
            "blob_signing_key": _str(env, "AGENTYARD_BLOB_SIGNING_KEY"),
            "blob_max_file_bytes": _int(env, "AGENTYARD_BLOB_MAX_FILE_BYTES", 256 * 1024 * 1024),
            "blob_max_archive_bytes": _int(
                env, "AGENTYARD_BLOB_MAX_ARCHIVE_BYTES", 1024 * 1024 * 1024
            ),
            "blob_fetch_allow": _str(env, "AGENTYARD_BLOB_FETCH_ALLOW"),
            "blob_fetch_allow_private": _str(env, "AGENTYARD_BLOB_FETCH_ALLOW_PRIVATE"),
            # harnesslayer
            "harnesslayer_requests_per_minute": _int(
                env, "AGENTYARD_HARNESSLAYER_REQUESTS_PER_MINUTE", 600
            ),
            "harnesslayer_upload_ttl_seconds": _int(
                env, "AGENTYARD_HARNESSLAYER_UPLOAD_TTL_SECONDS", 3600
            ),
            "harnesslayer_download_ttl_seconds": _int(
                env, "AGENTYARD_HARNESSLAYER_DOWNLOAD_TTL_SECONDS", 900
            ),
            "harnesslayer_max_file_bytes": _int(
                env, "AGENTYARD_HARNESSLAYER_MAX_FILE_BYTES", 100 * 1024 * 1024
            ),
            "harnesslayer_max_archive_bytes": _int(
                env, "AGENTYARD_HARNESSLAYER_MAX_ARCHIVE_BYTES", 100 * 1024 * 1024
            ),
            "sendblue_base_url": _str(env, "AGENTYARD_SENDBLUE_BASE_URL"),
            # hyphen
            "hyphen_requests_per_minute": _int(env, "AGENTYARD_HYPHEN_REQUESTS_PER_MINUTE", 600),
            "hyphen_direct_engine_mode": _bool(env, "AGENTYARD_HYPHEN_DIRECT_ENGINE_MODE", False),
            "hyphen_oauth_base_url": _str(env, "AGENTYARD_HYPHEN_OAUTH_BASE_URL"),
            "hyphen_signups_per_minute": _int(env, "AGENTYARD_HYPHEN_SIGNUPS_PER_MINUTE", 10),
            "hyphen_sdk_session_seconds": _int(env, "AGENTYARD_HYPHEN_SDK_SESSION_SECONDS", 3600),
            "hyphen_sdk_otp_per_email_per_minute": _int(
                env, "AGENTYARD_HYPHEN_SDK_OTP_PER_EMAIL_PER_MINUTE", 3
            ),
            "hyphen_sdk_otp_per_key_per_minute": _int(
                env, "AGENTYARD_HYPHEN_SDK_OTP_PER_KEY_PER_MINUTE", 30
            ),
            # outbox
            "smtp_url": _str(env, "AGENTYARD_SMTP_URL"),
            "smtp_from": _str(env, "AGENTYARD_SMTP_FROM") or "agentyard@localhost",
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
