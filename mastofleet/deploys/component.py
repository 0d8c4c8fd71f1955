"""The contract every role implements, and what one host's deploy carries from stage to stage.

A role is one `Component`: where it applies (a predicate on the model), the files it renders, the
firewall openings it needs, the systemd services it runs (what `status` and `doctor` watch), and
what it deploys at each `Stage` of the run. `mastofleet.deploys.registry` lists every component in
order; nothing else says which role runs where. A role module defines its own `COMPONENT` and
never imports the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType

from mastofleet.deploys.release import Application, PendingRestart, Prepared
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, RoleFiles, SecretValues
from mastofleet.views.metrics_endpoints import MetricsOf, no_metrics
from mastofleet.views.openings import FirewallRules, Opening

Applies = Callable[[Fleet, Host], bool]
Services = Callable[[Fleet, Host], list[str]]
OpeningsOf = Callable[[Fleet, Host], list[Opening]]


class Stage(IntEnum):
    """The deploy's choreography, in order. Between stages the runtime (`mastofleet.runtime.deployment`)
    holds its meeting points: every host waits after SERVICES until the data services are up, and
    after START the rollout restarts the app hosts one at a time."""

    SYSTEM = 1  # the host itself: packages, operators, firewall
    DATABASE = 2  # PostgreSQL, its pooler, its backups and replicas
    SERVICES = 3  # Redis and search, and the Redis backups
    PREPARE = 4  # the new release is made ready on every app host while the old one serves
    BALANCE = 5  # the load balancer, before processes of the new release start
    START = 6  # `live` switched; Sidekiq restarted; web and streaming owe their restarts to the rollout
    RETIRE = 7  # retired hosts leave, once the rollout is done
    MIGRATE = 8  # the post-deployment migrations, once every process runs the new code
    PERIPHERY = 9  # what stands around the core: edge caches, exporters, monitoring


@dataclass
class Run:
    """One host's deploy: the fleet and host, and what one stage hands to a later one."""

    fleet: Fleet
    host: Host
    secrets: SecretValues
    secrets_document: Callable[[], str | None]  # the encrypted secrets file, backed up next to Redis
    check_disk: Callable[[], object]  # the doctor's disk probe: refuses (raises) before the database is touched
    rollback_release: str | None = None  # deploy this already prepared release (a rollback)
    hold_post_migrations: bool = False  # skip the post-deployment migrations: a rollback stays possible
    kept: frozenset[str] = frozenset()  # retired hosts pg_hba still admits (read before PostgreSQL)
    prepared: Prepared | None = None
    application: Application | None = None
    pending: list[PendingRestart] = field(default_factory=list)

    @property
    def first_app_host(self) -> bool:
        """The app host that sets the database up and runs the migrations, once for the fleet."""
        return bool(self.fleet.app_hosts) and self.host.name == self.fleet.app_hosts[0].name


Step = Callable[[Run], None]


def no_files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    return []


def no_openings(fleet: Fleet, host: Host) -> list[Opening]:
    return []


def no_services(fleet: Fleet, host: Host) -> list[str]:
    return []


@dataclass(frozen=True, eq=False)  # a registry entry is itself: compared and hashed by identity
class Component:
    """One role. Each part is asked only on hosts where `applies` holds; a part may still give
    nothing on some of them (web files on an app host without web processes, say)."""

    name: str  # its module, mastofleet/deploys/<name>.py
    applies: Applies
    files: RoleFiles = no_files
    openings: FirewallRules = no_openings
    services: Services = no_services
    metrics: MetricsOf = no_metrics  # what Prometheus scrapes of it (`mastofleet.views.metrics_endpoints`)
    steps: Mapping[Stage, Step] = field(default_factory=lambda: MappingProxyType({}))


def everywhere(fleet: Fleet, host: Host) -> bool:
    return True


def with_role(*roles: Role) -> Applies:
    """Hosts with any of `roles`."""
    return lambda fleet, host: any(host.has(role) for role in roles)


def in_service(host: Host) -> bool:
    """Not retired: a retired host gets no new system changes, only its way out."""
    return not host.has(Role.retired)
