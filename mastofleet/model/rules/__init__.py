"""Every rule over a whole fleet, in the order `mastofleet check` reports their problems.

A rule takes a `Fleet` and returns its problems (an empty list when it has none). Field-level
checks are pydantic validators on the sections; these are the rules that span sections or hosts.
A new rule goes into its subject's module and into `RULES`, nowhere else.

`mastofleet check` runs one check besides these: whether `.env.production` would hold a key twice
(`environment.duplicate_key_problems`), which needs the rendered file, so it cannot be in the model.
"""

from __future__ import annotations

from collections.abc import Callable

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.rules.access import (
    backup_storage,
    operator_accounts,
    operator_names_and_keys,
    secrets_present,
    somebody_can_log_in,
)
from mastofleet.model.rules.connections import (
    connection_budget_exceeded,
    replica_connection_budget_exceeded,
)
from mastofleet.model.rules.database import database_migration_source, replication_roles
from mastofleet.model.rules.environment import environment_keys_known
from mastofleet.model.rules.hosts import (
    app_hosts_have_processes,
    edge_not_lb,
    hetzner_network,
    retired_alone,
    roles_present,
    single_primaries,
    unique_names_and_addresses,
)
from mastofleet.model.rules.instance import domains_and_version
from mastofleet.model.rules.media import media_migration_settings, object_storage_urls
from mastofleet.model.rules.memory import memory_budget
from mastofleet.model.rules.monitoring import monitoring_settings
from mastofleet.model.rules.processes import database_pools, queue_listeners
from mastofleet.model.rules.redis import redis_problems
from mastofleet.model.rules.search import search_problems
from mastofleet.model.rules.settings_pairs import settings_pairs

Rule = Callable[[Fleet], list[Problem]]

RULES: tuple[Rule, ...] = (
    roles_present,
    single_primaries,
    unique_names_and_addresses,
    app_hosts_have_processes,
    queue_listeners,
    database_pools,
    connection_budget_exceeded,
    domains_and_version,
    object_storage_urls,
    edge_not_lb,
    retired_alone,
    media_migration_settings,
    replication_roles,
    database_migration_source,
    replica_connection_budget_exceeded,
    secrets_present,
    operator_names_and_keys,
    hetzner_network,
    monitoring_settings,
    operator_accounts,
    somebody_can_log_in,
    backup_storage,
    redis_problems,
    search_problems,
    environment_keys_known,
    settings_pairs,
    memory_budget,
)


def fleet_problems(fleet: Fleet) -> list[Problem]:
    """The problems of every rule in `RULES`; an empty list means the fleet may be deployed."""
    problems: list[Problem] = []
    for rule in RULES:
        problems.extend(rule(fleet))
    return problems
