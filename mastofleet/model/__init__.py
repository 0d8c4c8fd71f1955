"""The fleet model: every option of a mastofleet deployment, typed and documented in one place.

Units, env files, nginx upstreams, pg_hba, firewall rules and Prometheus targets are all rendered
from a `Fleet`. Each section has its own module, on one base (`Strict`: unknown keys are errors);
field-level checks are pydantic validators there. The rules over the whole fleet are in `rules`,
in one ordered list (`RULES`) that `fleet_problems` runs, reporting every problem at once.

The model is pure: it imports pydantic, the standard library and itself, never pyinfra or another
layer of mastofleet (tests/unit/test_model_package.py holds it to that).
"""

from mastofleet.model.access import RESERVED_ACCOUNTS, Access, Firewall
from mastofleet.model.backup import Backup
from mastofleet.model.base import Strict
from mastofleet.model.database import (
    ADDRESS_OR_NAME_PATTERN,
    ROLE_NAME_PATTERN,
    DatabaseMigration,
    Pgbouncer,
    Postgres,
    Replication,
)
from mastofleet.model.doctor import Doctor
from mastofleet.model.edge import Edge, Tls
from mastofleet.model.fleet import Fleet
from mastofleet.model.hetzner import Hetzner
from mastofleet.model.hosts import Host
from mastofleet.model.instance import CodeSource, Install, Instance
from mastofleet.model.mail import Smtp
from mastofleet.model.media import MediaMigration, ObjectStorage
from mastofleet.model.monitoring import DEFAULT_SIDEKIQ_LATENCY, Alertmanager, Monitoring, Receiver
from mastofleet.model.operators import OPERATOR_NAME_PATTERN, SSH_KEY_TYPES, Operator, ssh_key_problem
from mastofleet.model.problems import FleetError, InventoryError, Problem
from mastofleet.model.processes import QueueWeight, SidekiqProcess, Streaming, Web
from mastofleet.model.queues import QUEUES, SCHEDULER_QUEUE
from mastofleet.model.redis import CacheRedis, Redis, SidekiqRedis
from mastofleet.model.roles import REQUIRED_ROLES, Role
from mastofleet.model.rules import RULES, Rule, fleet_problems
from mastofleet.model.rules.connections import connection_budget, replica_connection_budget
from mastofleet.model.rules.hosts import HOST_NAME_PATTERN
from mastofleet.model.rules.instance import DOMAIN_PATTERN, VERSION_PATTERN
from mastofleet.model.rules.search import search_settings
from mastofleet.model.search import REPLICAS, Search
from mastofleet.model.secrets_reference import MASTODON_SECRETS, SecretReference, secret_name

__all__ = [
    "ADDRESS_OR_NAME_PATTERN",
    "DEFAULT_SIDEKIQ_LATENCY",
    "DOMAIN_PATTERN",
    "HOST_NAME_PATTERN",
    "MASTODON_SECRETS",
    "OPERATOR_NAME_PATTERN",
    "QUEUES",
    "REPLICAS",
    "REQUIRED_ROLES",
    "RESERVED_ACCOUNTS",
    "ROLE_NAME_PATTERN",
    "RULES",
    "SCHEDULER_QUEUE",
    "SSH_KEY_TYPES",
    "VERSION_PATTERN",
    "Access",
    "Alertmanager",
    "Backup",
    "CacheRedis",
    "CodeSource",
    "DatabaseMigration",
    "Doctor",
    "Edge",
    "Firewall",
    "Fleet",
    "FleetError",
    "InventoryError",
    "Hetzner",
    "Host",
    "Install",
    "Instance",
    "MediaMigration",
    "Monitoring",
    "ObjectStorage",
    "Operator",
    "Pgbouncer",
    "Postgres",
    "Problem",
    "QueueWeight",
    "Receiver",
    "Redis",
    "Replication",
    "Role",
    "Rule",
    "Search",
    "SecretReference",
    "SidekiqProcess",
    "SidekiqRedis",
    "Smtp",
    "Streaming",
    "Strict",
    "Tls",
    "Web",
    "connection_budget",
    "fleet_problems",
    "replica_connection_budget",
    "search_settings",
    "secret_name",
    "ssh_key_problem",
]
