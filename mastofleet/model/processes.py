"""The Mastodon processes of an app host: Puma, streaming and Sidekiq."""

from __future__ import annotations

from pydantic import Field, field_validator

from mastofleet.model.base import Strict
from mastofleet.model.ports import Port


class QueueWeight(Strict):
    """One queue of a Sidekiq process and its weight (`-q name,weight`)."""

    name: str = Field(description="One of Mastodon's queues.")
    weight: int = Field(1, ge=1, description="Relative weight in this process.")


class SidekiqProcess(Strict):
    """One Sidekiq process: its own unit `mastodon-sidekiq-<name>.service`."""

    name: str = Field(description="Unit suffix, unique on the host: mastodon-sidekiq-<name>.")
    queues: list[QueueWeight] = Field(min_length=1, description="`-q` list: names, or [name, weight] pairs.")
    threads: int = Field(5, ge=1, description="`-c`: Sidekiq threads.")
    db_pool: int | None = Field(None, ge=1, description="DB_POOL; defaults to threads.")
    shutdown_seconds: int = Field(
        25,
        ge=1,
        le=3600,
        description="`-t`: when stopped, how long Sidekiq lets running jobs finish before it pushes them back"
        " onto their queue; systemd waits this plus 15 s before it kills (Sidekiq's own default is 25).",
    )

    @property
    def stop_timeout_seconds(self) -> int:
        """systemd's TimeoutStopSec: after Sidekiq's own shutdown, so jobs are requeued, never killed."""
        return self.shutdown_seconds + 15

    @field_validator("queues", mode="before")
    @classmethod
    def _short_queues(cls, value: object) -> object:
        # Accept the compact forms operators write: "ingress", ["push", 6], {"name": ...}.
        if not isinstance(value, list):
            return value
        parsed: list[object] = []
        for item in value:
            if isinstance(item, str):
                parsed.append({"name": item})
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                parsed.append({"name": item[0], "weight": item[1]})
            else:
                parsed.append(item)
        return parsed

    @property
    def pool(self) -> int:
        return self.db_pool if self.db_pool is not None else self.threads

    @property
    def unit(self) -> str:
        return f"mastodon-sidekiq-{self.name}.service"

    @property
    def queue_names(self) -> list[str]:
        return [queue.name for queue in self.queues]


class Web(Strict):
    """Puma on an app host: WEB_CONCURRENCY processes x MAX_THREADS threads."""

    processes: int = Field(2, ge=1, description="WEB_CONCURRENCY.")
    threads: int = Field(5, ge=1, description="MAX_THREADS; each thread may hold a DB connection.")
    port: Port = Field(3000, description="PORT of Puma on the private address.")

    @property
    def connections(self) -> int:
        return self.processes * self.threads


class Streaming(Strict):
    """Streaming API processes, one `mastodon-streaming@PORT` unit per port."""

    ports: list[Port] = Field(default_factory=lambda: [4000], min_length=1, description="One process per port.")
    db_pool: int = Field(10, ge=1, description="DB_POOL of each streaming process.")

    @property
    def connections(self) -> int:
        return len(self.ports) * self.db_pool
