"""The roles a host can have: the inventory groups mastofleet knows."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a host does; a host's roles are the inventory groups it is in."""

    db = "db"
    db_replica = "db_replica"
    redis = "redis"
    redis_cache = "redis_cache"
    redis_sidekiq = "redis_sidekiq"
    lb = "lb"
    app = "app"
    edge = "edge"
    monitor = "monitor"
    search = "search"
    # An app host leaving the fleet: out of the balancer, its processes stopped, then dropped from
    # every allow-list. Delete it from the inventory once a deploy has done that.
    retired = "retired"


REQUIRED_ROLES = (Role.db, Role.redis, Role.app, Role.lb)
