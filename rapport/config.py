"""Settings read from RAPPORT_* environment variables, with embedded defaults."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_RATE_LIMITS: dict[str, str] = {
    "read": "1000/minute",
    "write": "100/minute",
    "campaigns": "10/minute",
    "social": "30/minute",
    "bulk": "10/minute",
    "ai_reply": "10/minute",
    "ai_sentiment": "20/minute",
    "kb_scrape": "3/minute",
    "auth": "20/minute",
    "import_export": "5/minute",
}


_DEFAULT_DRIVERS = {
    "sqlite://": "sqlite+inline://",
    "sqlite+pysqlite://": "sqlite+inline://",
    "postgresql://": "postgresql+asyncpg://",
    "postgres://": "postgresql+asyncpg://",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    database_echo: bool = False
    database_pool_size: int = 32
    redis_url: str | None = None
    secret_key: str | None = Field(
        default=None,
        description="Signs user session tokens; generated into data_dir on first start if unset.",
    )
    jwt_ttl_seconds: int = 3600
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True
    log_flush_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Longest time a JSON log line waits in its process's buffer before it is "
        "written to stderr (errors are written at once, everything at exit)",
    )
    access_log_sample: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Fraction of requests that get an access-log line (those lines carry "
        "`sample`); server errors and slow requests always get one",
    )
    access_log_slow_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Requests at least this slow always get an access-log line, sampled or not",
    )
    max_body_bytes: int = 1_048_576
    max_import_bytes: int = Field(
        default=536_870_912,
        description="The size of a CSV file uploaded to /imports (and /imports/preview)",
    )
    max_batch_body_bytes: int = Field(
        default=16_777_216,
        description="The body size allowed to batch operations (paths ending in /batch or "
        "/batch/<action>), which carry up to 1,000 records",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        description="How long a client may take to send a request body, from the end of its "
        "headers; then 408 and the connection is closed",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies (comma-separated addresses or networks) whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; none by default, so the client "
        "address is the connection's",
    )
    rate_limits_enabled: bool = True
    rate_limits: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    export_expiry_seconds: int = Field(
        default=86_400,
        gt=0,
        description="How long an export's file, and its signed download links, last after "
        "the export completes",
    )
    api_key_cache_seconds: float = 5.0
    worker_lease_seconds: float = 60.0
    worker_task_modules: list[str] = Field(
        default_factory=list,
        description="Extra modules declaring tasks (JSON list), beside Rapport's own",
    )
    event_gap_grace_seconds: float = Field(
        default=120.0,
        description="How long an event stream consumer waits for a missing event sequence "
        "(a transaction still open) before skipping it as rolled back",
    )
    allow_private_webhooks: bool = Field(
        default=False,
        description="Let webhooks reach loopback, private and link-local addresses, and plain "
        "HTTP (development only: it opens the server to SSRF)",
    )
    allow_private_smtp: bool = Field(
        default=False,
        description="Let outbound email connections use SMTP servers on loopback, private and "
        "link-local addresses (development only: it opens the server to SSRF)",
    )
    webhook_retry_base_seconds: float = Field(
        default=30.0, description="Wait before the first retry of a failed delivery; doubles"
    )
    webhook_retry_cap_seconds: float = Field(
        default=6 * 3600.0, description="Longest wait between two attempts of a delivery"
    )
    webhook_retry_window_seconds: float = Field(
        default=3 * 86400.0,
        description="How long a delivery is retried before it fails and its webhook is disabled",
    )
    public_url: str | None = Field(
        default=None,
        description="The address people reach this server at, which links in emails use "
        "(unsubscribe, confirmation); by default the served one, http://<host>:<port>",
    )
    embedded_worker: bool | None = Field(
        default=None,
        description="Run a job worker inside the server; by default only on SQLite, where a "
        "separate `rapport worker` process is not needed",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: Any) -> Any:
        """`10.0.0.5, 10.1.0.0/16` -> the addresses and networks in canonical form; anything
        else is refused at start rather than silently never matching."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        found = []
        for item in (str(i).strip() for i in items):
            if item:
                network = ipaddress.ip_network(item, strict=False)
                found.append(str(network) if "/" in item else str(network.network_address))
        return found

    @cached_property
    def resolved_database_url(self) -> str:
        """The URL with an async driver: plain `sqlite://` and `postgresql://` URLs get the
        embedded inline SQLite driver and asyncpg."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'rapport.db').as_posix()}"
        for plain, driver in _DEFAULT_DRIVERS.items():
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    @property
    def resolved_public_url(self) -> str:
        """The base of links in emails, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def runs_embedded_worker(self) -> bool:
        return self.is_sqlite if self.embedded_worker is None else self.embedded_worker

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in data_dir (readable by its
        owner only)."""
        if not self.secret_key:
            path = self.data_dir / "secret.key"
            if not path.exists():
                self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):  # made meanwhile: that one holds
                    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(descriptor, "w") as file:
                        file.write(secrets.token_urlsafe(48))
            self.secret_key = path.read_text().strip()
        return self.secret_key

    def existing_secret_key(self) -> str | None:
        """The secret key if one is configured or was generated before, never a new one: what
        migrations encrypt stored secrets with (a new key would not be the servers')."""
        if self.secret_key or (self.data_dir / "secret.key").exists():
            return self.resolved_secret_key()
        return None
