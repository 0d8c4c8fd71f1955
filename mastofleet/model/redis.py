"""The Redis sections: the main server, and the optional cache and Sidekiq servers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mastofleet.model.base import Strict
from mastofleet.model.ports import Port
from mastofleet.model.secrets_reference import SecretReference


class Redis(Strict):
    """Redis for Mastodon (cache, Sidekiq and streaming pub/sub unless split)."""

    port: Port = Field(6379, description="REDIS_PORT.")
    password: SecretReference = Field(
        "secret:redis_password", description="Password of the app's ACL user / REDIS_PASSWORD, by reference."
    )
    app_user: str = Field("mastodon", description="ACL user the app logs in as (REDIS_USER); the default user is off.")
    maxmemory_mb: int | None = Field(None, ge=1, description="maxmemory; unset means no limit.")


class SidekiqRedis(Redis):
    """The Sidekiq Redis (hosts in the group `redis_sidekiq`): the job queues, persistent, never evicting."""

    port: Port = Field(6381, description="SIDEKIQ_REDIS_PORT; differs from the others' so they may share a host.")
    password: SecretReference = Field(
        "secret:sidekiq_redis_password", description="Password of the app's ACL user / SIDEKIQ_REDIS_PASSWORD."
    )


class CacheRedis(Redis):
    """The cache Redis (hosts in the group `redis_cache`): no persistence, bounded memory, evicting."""

    port: Port = Field(6380, description="CACHE_REDIS_PORT; differs from the others' so they may share a host.")
    password: SecretReference = Field(
        "secret:cache_redis_password", description="Password of the app's ACL user / CACHE_REDIS_PASSWORD."
    )
    maxmemory_mb: int = Field(1024, ge=1, description="maxmemory: the cache never grows past it.")
    maxmemory_policy: Literal["allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu"] = Field(
        "allkeys-lru", description="Which keys Redis evicts at maxmemory (an LRU or LFU policy)."
    )
