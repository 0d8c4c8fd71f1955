"""The fleet"s Redis servers, as the roles and reports use them: kept here for old imports.

The model holds them (`mastofleet.model.redis_servers`): the rules count their connections.
"""

from mastofleet.model.redis_servers import (
    CACHE,
    MAIN,
    MAXCLIENTS,
    PURPOSES,
    REDIS_ROLES,
    SIDEKIQ,
    SIDEKIQ_INTERNAL_POOL,
    STREAMING_CONNECTIONS,
    Purpose,
    RedisServer,
    connection_estimate,
    redis_servers,
    servers_on,
    serving,
    settings_for,
    what_it_holds,
)

__all__ = [
    "CACHE",
    "MAIN",
    "MAXCLIENTS",
    "PURPOSES",
    "Purpose",
    "REDIS_ROLES",
    "RedisServer",
    "SIDEKIQ",
    "SIDEKIQ_INTERNAL_POOL",
    "STREAMING_CONNECTIONS",
    "connection_estimate",
    "redis_servers",
    "servers_on",
    "serving",
    "settings_for",
    "what_it_holds",
]
