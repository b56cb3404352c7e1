"""Configuration: zero-config embedded default, overridable by a TOML file and environment.

Precedence (highest first): environment variables ``ZHIJING_*`` (nested with ``__``), the
file named by ``ZHIJING_CONFIG`` or ``./zhijing.toml``, then the defaults below. The
defaults run everything on one machine with no services: DuckDB, SQLite, an in-process
queue.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class SparkSettings(BaseModel):
    master: str = "local[2]"
    driver_memory: str = "4g"


class NatsSettings(BaseModel):
    url: str = "nats://127.0.0.1:4222"
    stream: str = "SENSORS"


class AuthSettings(BaseModel):
    token_minutes: int = 15  # an access token's life; the console renews it with the session's refresh token
    session_hours: int = 12  # a login session lasts at most a shift, however often it is renewed
    idle_minutes: int = 30  # a session not renewed for this long ends (the console renews only while the officer works)
    issuer: str = "zhijing"
    audience: str = "zhijing-api"


class AuditSettings(BaseModel):
    """What the audit trail's verification trusts, held outside the audit database (docs/access.md).

    Paths default under ``home`` (``keys/``, ``witness/``); a deployment points them at storage the
    oversight department holds, and pins ``public_key`` (hex) so a replaced key file is noticed too."""

    algorithm: Literal["ed25519", "sm2-sm3"] = "ed25519"
    public_key: str | None = None  # the pinned public key (hex); overrides public_key_file
    public_key_file: Path | None = None  # default home/keys/audit_signing.pub
    signing_key_file: Path | None = None  # the private key, file mode 0600; default home/keys/audit_signing.key
    witness_file: Path | None = None  # append-only copy of every signed head; default home/witness/heads.jsonl
    max_batch: int = 2048  # events the group-commit writer puts into one transaction at most


class SecuritySettings(BaseModel):
    """Login and request hardening (OWASP ASVS V2, V3, V12, V14): limits a deployment may tune."""

    login_max_failures: int = 5  # wrong passwords per account within the window, then a lockout
    login_client_max_failures: int = 20  # wrong passwords per client address within the window
    login_window_minutes: int = 15
    lockout_minutes: int = 15
    anonymous_refusals: str = "30/minute"  # refused unauthenticated requests per client; then 429, not audited
    audit_text_max: int = 200  # characters of a stated purpose / query / reason kept in the audit trail
    max_body_bytes: int = 1 << 20  # request bodies above this answer 413
    max_push_body_bytes: int = 8 << 20  # the departments' push endpoint takes larger batches
    trusted_proxies: list[str] = []  # addresses / CIDRs whose X-Forwarded-For names the client
    totp_required_for: list[str] = []  # roles or departments that must log in with TOTP, e.g. admin, auditor, 督察
    umask: int = 0o077  # data files 0600, folders 0700 (password hashes, audit trail, the lake)


class ScheduleSettings(BaseModel):
    """Work the server does on a clock (0 switches a job off)."""

    seal_minutes: int = 10  # sign a Merkle tree head over the audit trail
    oversight_minutes: int = 60  # run the misuse rules for 督察
    retention_hour: int = 3  # local hour of the daily purge of expired data and audit entries
    risk_hour: int = 4  # local hour of the daily run of the risk models (-1: on demand only)
    watch_minutes: int = 1  # build the model from what was pushed over HTTP and match it against the watchlist (智能布控)
    sharing_delivery_seconds: int = 1  # post the sharing subscriptions' due deliveries (订阅: p99 ≤ 5 s after a change)
    sharing_detect_minutes: int = 10  # find subscribed persons' moves and vehicle transfers in the serving store
    sharing_purge_minutes: int = 30  # delete batch comparison uploads and results past their retention
    warm_hour: int = 0  # local hour (and at start) to compute the map's layers and the day's hot-spot forecast ahead of the first screen (-1: on first request only)


class ExportSettings(BaseModel):
    """When an export of person data needs a second officer's approval (双人审批)."""

    approval_rows: int = 200  # more rows than this
    approval_grade: Literal["public", "internal", "sensitive", "secret"] = "secret"  # or discloses a field this grade or above


class DispatchSettings(BaseModel):
    """Command and dispatch (docs/dispatch.md): the demo's simulator, staleness, duplicate merging, KPI targets.

    Targets follow NFPA 1225 (call processing ≤ 60 s) and NFPA 1710 (turnout 80 s, travel 240 s) at
    the 90th percentile; a bureau sets its own."""

    simulate: bool = False  # drive units along the street graph in the background (the demo)
    stale_minutes: int = 10  # a unit silent this long is never recommended
    pgrouting_url: str | None = None  # PostgreSQL with PostGIS + pgRouting to route on (production); None: networkit in process
    dedup_metres: int = 300  # calls this close ...
    dedup_minutes: int = 15  # ... and this near in time about the same type are one event
    call_processing_s: int = 60  # received → dispatched
    turnout_s: int = 80  # dispatched → en route
    travel_s: int = 240  # en route → on scene
    total_s: int = 480  # received → on scene
    percentile: int = 90  # the percentile the targets are held to


class PublicSettings(BaseModel):
    """Public services for citizens (为民服务, docs/public-services.md)."""

    certificate_key_file: Path | None = None  # Ed25519 private key, 0600; default home/keys/certificate_signing.key
    certificate_public_key: str | None = None  # pinned public key (hex) verification trusts; default the .pub beside the key
    certificate_days: int = 90  # a certificate is valid this long from its issue
    simulate_sms: bool = True  # no SMS gateway: the one-time code is shown on the page (the demo); a deployment wires its gateway
    code_minutes: int = 5  # a one-time code expires
    session_minutes: int = 15  # a confirmed identity lasts this long without a new code
    rate: str = "30/minute"  # citizen requests per client address; then 429


class SharingSettings(BaseModel):
    """The sharing exchange (docs/sharing.md): batch limits, subscription delivery, enumeration watch."""

    batch_max_rows: int = 1_000_000  # rows of one uploaded list
    batch_max_bytes: int = 256 << 20  # bytes of one upload (the body cap of /api/sharing/batch)
    batch_retention_hours: int = 24  # an upload and its result file are deleted this long after the job ends
    delivery_attempts: int = 5  # pushes of one change to an endpoint before it shows as failed
    delivery_timeout_s: float = 5.0  # one push waits this long for the endpoint
    delivery_backoff_s: float = 1.0  # wait before the n-th retry: backoff × 2^(n-1)
    throttle_minutes: int = 15  # a contract seen enumerating is refused this long (and flagged to 督察)
    probe_window: int = 100  # the last calls of a contract the enumeration watch looks at
    probe_misses: float = 0.5  # share of IDs naming nobody (or malformed) in a full window that is random probing
    probe_sequential: int = 10  # IDs of one division and birth date within ±20 sequence numbers: sequential probing


class Settings(BaseSettings):
    """Everything a deployment may change; nothing here is required."""

    model_config = SettingsConfigDict(env_prefix="ZHIJING_", env_nested_delimiter="__", extra="ignore")

    home: Path = Path("var")
    engine: Literal["duckdb", "spark"] = "duckdb"
    stream: Literal["memory", "nats"] = "memory"
    metadata_url: str | None = None  # SQLAlchemy URL; default SQLite under home
    audit_url: str | None = None  # SQLAlchemy URL; default SQLite under home
    serving_url: str | None = None  # PostgreSQL URL for the serving store; default SQLite under home/state
    serving_schema: str = "serving"  # the live schema of a PostgreSQL serving store
    web_workers: int = 1  # `zhijing serve` processes: 1 for a county laptop, one per core behind a proxy at scale
    # the deployment's zone (IANA name): a source's wall time is read in it, and every time the API,
    # a screen, a report or an export shows is given in it, with its offset (zhijing/localtime.py)
    timezone: str = "Asia/Shanghai"
    # the packaged registry (the generated city's departments) beside the deployment's own
    # declarations; false: only <home>/sources/*.yaml (a city whose departments are all its own)
    city_registry: bool = True
    audit_retention_days: int = 1095  # PIPL: processing records ≥ 3 years; never below 183 (CSL Art. 21)
    spark: SparkSettings = SparkSettings()
    nats: NatsSettings = NatsSettings()
    auth: AuthSettings = AuthSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    audit: AuditSettings = AuditSettings()
    security: SecuritySettings = SecuritySettings()
    exports: ExportSettings = ExportSettings()
    dispatch: DispatchSettings = DispatchSettings()
    public: PublicSettings = PublicSettings()
    sharing: SharingSettings = SharingSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)") from None
        return name

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("ZHIJING_CONFIG", "zhijing.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    # Derived locations: one root, one folder per concern.
    @property
    def city_dir(self) -> Path:
        """Generated department sources and (beside them, never read by jobs) ground truth."""
        return self.home / "city"

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    def sqlalchemy_url(self, which: Literal["metadata", "audit"]) -> str:
        url = self.metadata_url if which == "metadata" else self.audit_url
        return url or _sqlite_url(self.state_dir, which)


@lru_cache(maxsize=64)
def _sqlite_url(state_dir: Path, which: str) -> str:
    """The embedded default's database under the state folder (made once per process: every
    request's access checks ask for it, and a mkdir and a path resolve were 10 % of a request)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(state_dir / f'{which}.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change ZHIJING_* between cases)."""
    get_settings.cache_clear()
