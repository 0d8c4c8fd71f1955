"""Prometheus and Alertmanager on the monitor host."""

from __future__ import annotations

from pydantic import Field, field_validator

from mastofleet.model.base import Strict
from mastofleet.model.secrets_reference import SecretReference

DEFAULT_SIDEKIQ_LATENCY: dict[str, int] = {
    "default": 300,
    "push": 600,
    "ingress": 600,
    "mailers": 300,
    "pull": 1800,
    "scheduler": 120,
    "fasp": 1800,
}


class Receiver(Strict):
    """Where Alertmanager sends notifications: e-mail through the fleet's smtp, a webhook, or both."""

    name: str = Field(description="Receiver name, unique.")
    email_to: str | None = Field(None, description="Send e-mail here, through the fleet's `smtp` settings.")
    webhook_url: SecretReference | None = Field(
        None, description="POST alerts to this URL, by reference (such URLs usually carry a token)."
    )


class Alertmanager(Strict):
    """Alertmanager next to Prometheus on the monitor host: routes firing alerts to receivers."""

    enabled: bool = Field(False, description="Run Alertmanager on the monitor host.")
    receivers: list[Receiver] = Field(default_factory=list, description="Receivers; the first one gets every alert.")
    repeat_hours: int = Field(4, ge=1, description="Notify again about an alert still firing after this many hours.")


class Monitoring(Strict):
    """Prometheus on the monitor host, scraping the exporters of every host (targets from the model)."""

    scrape_interval_seconds: int = Field(
        15, ge=1, le=300, description="How often each target is scraped and the alert rules evaluated."
    )
    retention_days: int = Field(30, ge=1, description="How long Prometheus keeps samples.")
    sidekiq_latency_seconds: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_SIDEKIQ_LATENCY),
        description="Per queue: alert when its oldest job has waited longer than this many seconds "
        "(queues not named keep their default).",
    )
    alertmanager: Alertmanager = Field(default_factory=Alertmanager, description="See `monitoring.alertmanager`.")

    @field_validator("sidekiq_latency_seconds", mode="after")
    @classmethod
    def _keep_default_latencies(cls, value: dict[str, int]) -> dict[str, int]:
        return {**DEFAULT_SIDEKIQ_LATENCY, **value}
