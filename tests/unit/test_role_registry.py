"""The roles' one registry: every role registered once under its module's name, sharing that name
with its templates and its testinfra file; roles never import the registry, and importing one role
imports only what it needs (no cycle around them); what `status` watches comes from the roles."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from fleet_builder import build, default_fleet_data
from import_graph import cycles, graph, within

from mastofleet.deploys import registry
from mastofleet.deploys.component import Stage
from mastofleet.plan.services import expected_services

REPO = Path(__file__).resolve().parents[2]
# The modules that read the registry (what runs where): nothing else may import it.
READERS = {
    "mastofleet.plan.files",
    "mastofleet.plan.firewall",
    "mastofleet.plan.metrics",
    "mastofleet.plan.services",
    "mastofleet.runtime.deployment",
}
# Role pieces that are not roles: the contract, value types and shared mechanics (pyinfra operations).
NOT_ROLES = {"component", "registry", "release", "units", "postgres_cluster", "operations"}
# Templates that several roles share: the Mastodon units' folder (one sandbox block) and the cutover's.
SHARED_TEMPLATES = {"systemd", "database"}


def test_every_role_is_registered_once_under_its_module_name() -> None:
    names = [component.name for component in registry.COMPONENTS]
    assert len(names) == len(set(names)), names
    modules = {path.stem for path in (REPO / "mastofleet" / "deploys").glob("*.py")} - NOT_ROLES - {"__init__"}
    assert set(names) == modules
    for name in names:
        module = importlib.import_module(f"mastofleet.deploys.{name}")
        assert hasattr(module, "COMPONENT") or hasattr(module, "component"), name


def test_templates_and_testinfra_files_are_named_after_a_role() -> None:
    names = {component.name for component in registry.COMPONENTS}
    folders = {path.name for path in (REPO / "templates").iterdir() if path.is_dir()} - SHARED_TEMPLATES
    assert folders <= names, folders - names
    infra = {path.stem.removeprefix("test_") for path in (REPO / "tests" / "infra").glob("test_*.py")}
    assert infra <= names, infra - names


def test_only_the_readers_import_the_registry_and_no_role_does() -> None:
    edges = graph()
    importers = {name for name, targets in edges.items() if "mastofleet.deploys.registry" in targets}
    assert importers <= READERS, importers - READERS


def test_no_import_cycle_around_the_roles() -> None:
    area = ("mastofleet.deploys", "mastofleet.plan.files", "mastofleet.plan.firewall", "mastofleet.plan.services")
    area += ("mastofleet.runtime.deployment", "mastofleet.views.openings", "mastofleet.views.config_file", "mastofleet.deploys.operations")
    assert cycles(within(graph(), area)) == []


def test_importing_one_role_imports_only_what_it_needs() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, mastofleet.deploys.postgres; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    roles = {name for name in loaded if name.startswith("mastofleet.deploys.")}
    assert "mastofleet.deploys.registry" not in roles
    assert "mastofleet.deploys.nginx" not in roles and "mastofleet.deploys.mastodon" not in roles


def test_the_stages_run_in_the_upgrade_order() -> None:
    """A step is planned in (stage, registry) order: the data services before the release, the
    balancer before the processes start, the migrations after the retirement."""
    order = [(stage, component.name) for stage in Stage for component in registry.COMPONENTS if stage in component.steps]
    assert [name for _, name in order] == [
        "base", "operators", "firewall",
        "postgres", "pgbouncer", "backup", "db_replica", "standby",
        "redis", "backup", "search",
        "mastodon",
        "nginx",
        "mastodon", "sidekiq", "mastodon_exporter", "web", "streaming",
        "retirement",
        "mastodon",
        "edge", "exporters", "monitoring",
    ]  # fmt: skip


def test_status_watches_every_redis_server_of_a_host() -> None:
    """The cache and Sidekiq Redis servers are watched as the main one is (they were missing)."""
    hosts, common = default_fleet_data()
    hosts.append(
        {"name": "irma", "groups": ["redis_cache", "redis_sidekiq"], "data": {"private_address": "10.0.1.20"}}
    )
    fleet = build(hosts, common)
    assert [name for name in expected_services(fleet, fleet.host("irma")) if name.startswith("redis")] == [
        "redis-server@cache.service",
        "redis-server@sidekiq.service",
    ]
    assert [name for name in expected_services(fleet, fleet.host("nixie")) if name.startswith("redis")] == [
        "redis-server.service"
    ]


def test_each_service_is_watched_once() -> None:
    fleet = build(*default_fleet_data())
    for host in fleet.hosts:
        services = expected_services(fleet, host)
        assert services and len(services) == len(set(services)), host.name

