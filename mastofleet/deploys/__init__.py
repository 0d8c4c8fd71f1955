"""One `@deploy()` per role; `ROLE_FILES` lists which files each role renders on which hosts, and
`ROLE_FIREWALL` which ports each role opens to whom (a role that listens adds its entry here)."""

from __future__ import annotations

from collections.abc import Callable

from mastofleet.deploys import (
    backup,
    base,
    db_replica,
    edge,
    exporters,
    firewall,
    mastodon,
    mastodon_exporter,
    media_migration,
    monitoring,
    nginx,
    operators,
    pgbouncer,
    postgres,
    redis,
    search,
    sidekiq,
    standby,
    streaming,
    web,
)
from mastofleet.files import RoleFiles
from mastofleet.firewall import FirewallRules
from mastofleet.model import Fleet, Host, Role
from mastofleet.redis_servers import REDIS_ROLES

Applies = Callable[[Fleet, Host], bool]


def _has(role: Role) -> Applies:
    return lambda fleet, host: host.has(role)


ROLE_FILES: list[tuple[Applies, RoleFiles]] = [
    (lambda fleet, host: True, base.files_for),
    (lambda fleet, host: True, operators.files_for),
    (lambda fleet, host: fleet.firewall.enabled, firewall.files_for),
    (_has(Role.db), postgres.files_for),
    (_has(Role.db), standby.files_for),  # while the database migrates: a standby of the old primary
    (lambda fleet, host: host.has(Role.db) and fleet.pgbouncer.enabled, pgbouncer.files_for),
    (lambda fleet, host: host.has(Role.db) and fleet.backup is not None, backup.database_files),
    (_has(Role.db_replica), db_replica.files_for),
    (lambda fleet, host: any(host.has(role) for role in REDIS_ROLES), redis.files_for),
    (lambda fleet, host: host.has(Role.redis) and fleet.backup is not None, backup.redis_files),
    (_has(Role.search), search.files_for),
    (_has(Role.app), mastodon.files_for),
    (_has(Role.app), web.files_for),
    (_has(Role.app), streaming.files_for),
    (_has(Role.app), sidekiq.files_for),
    (_has(Role.app), mastodon_exporter.files_for),
    (_has(Role.lb), nginx.files_for),
    (_has(Role.edge), edge.files_for),
    (_has(Role.edge), media_migration.files_for),
    (lambda fleet, host: True, exporters.files_for),
    (_has(Role.monitor), monitoring.files_for),
]

ROLE_FIREWALL: list[tuple[Applies, FirewallRules]] = [
    (lambda fleet, host: True, base.firewall_rules),
    (lambda fleet, host: host.has(Role.db) or host.has(Role.db_replica), postgres.firewall_rules),
    (
        lambda fleet, host: (host.has(Role.db) or host.has(Role.db_replica)) and fleet.pgbouncer.enabled,
        pgbouncer.firewall_rules,
    ),
    (lambda fleet, host: any(host.has(role) for role in REDIS_ROLES), redis.firewall_rules),
    (_has(Role.search), search.firewall_rules),
    (_has(Role.app), web.firewall_rules),
    (_has(Role.app), streaming.firewall_rules),
    (_has(Role.lb), nginx.firewall_rules),
    (_has(Role.edge), edge.firewall_rules),
    (lambda fleet, host: True, exporters.firewall_rules),
    (_has(Role.monitor), monitoring.firewall_rules),
]
