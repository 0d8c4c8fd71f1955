"""The base role on every host: packages, time zone, the files it renders, no stray listeners,
and the run records each deploy leaves on the hosts it changed."""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime

import pytest
from infra_support import WILDCARD_ADDRESSES, Target, assert_files_as_rendered

from mastofleet.deploys import base
from mastofleet.model import Role
from mastofleet.plan.files import SecretValues
from mastofleet.runtime.run_record import HOST_DIRECTORY

SSH_PORT = 22
LB_PORTS = {80, 443}
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-\d+$")
REVISION = re.compile(r"^[0-9a-f]{40}(-dirty)?$")


def test_base_packages_installed(any_host: Target) -> None:
    packages = " ".join(base.PACKAGES)
    output = any_host.output(f"dpkg-query -W -f '${{Package}} ${{db:Status-Status}}\\n' {packages} 2>/dev/null || true")
    installed = {line.split()[0] for line in output.splitlines() if line.endswith(" installed")}
    assert set(base.PACKAGES) <= installed, f"{any_host.name}: not installed: {sorted(set(base.PACKAGES) - installed)}"


def test_base_time_zone_is_utc(any_host: Target) -> None:
    assert any_host.output("readlink /etc/localtime").strip() == "/usr/share/zoneinfo/Etc/UTC"


def test_base_files(any_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert_files_as_rendered(any_host, base.files_for(fleet, any_host.model, SecretValues()))


def test_only_ssh_and_the_balancer_listen_on_all_addresses(any_host: Target) -> None:
    """Every service of the fleet binds loopback or the private address; only sshd (and nginx on an
    lb or edge host, which the world must reach) listen on every address."""
    public = any_host.model.has(Role.lb) or any_host.model.has(Role.edge)
    allowed = {SSH_PORT} | (LB_PORTS if public else set())
    exposed = {(port, processes) for address, port, processes in any_host.listeners if address in WILDCARD_ADDRESSES}
    stray = {item for item in exposed if item[0] not in allowed}
    assert not stray, f"{any_host.name}: listening on every address: {sorted(stray)}"


# --- run records ---------------------------------------------------------------------------------


def _run_records(target: Target) -> list[tuple[str, dict]]:
    names = target.output(f"ls -1 {HOST_DIRECTORY} 2>/dev/null | grep '\\.json$' || true").split()
    assert names, f"{target.name}: no run record in {HOST_DIRECTORY}"
    records = []
    for name in sorted(names):
        text = target.output(f"cat {shlex.quote(f'{HOST_DIRECTORY}/{name}')}")
        records.append((name, json.loads(text)))
    return records


def test_run_records(any_host: Target) -> None:
    """Each deploy that changed this host left /var/lib/mastofleet/runs/<run>.json: who ran which
    revision of the deploy code against which inventory, and the operations that changed."""
    records = _run_records(any_host)
    for name, record in records:
        where = f"{any_host.name}:{HOST_DIRECTORY}/{name}"
        assert record.get("run") and RUN_ID.match(record["run"]), f"{where}: run is {record.get('run')!r}"
        assert name == f"{record['run']}.json", f"{where}: the file is not named after its run"
        started = datetime.fromisoformat(record.get("started") or "")
        assert record["run"].startswith(started.strftime("%Y%m%dT%H%M%SZ")), f"{where}: started {started}"
        assert record.get("host") == any_host.name, f"{where}: host is {record.get('host')!r}"
        assert record.get("operator"), f"{where}: no operator"
        assert REVISION.match(record.get("revision") or ""), f"{where}: revision is {record.get('revision')!r}"
        assert str(record.get("inventory", "")).endswith(".py"), f"{where}: inventory is {record.get('inventory')!r}"
        changed = record.get("changed")
        assert isinstance(changed, list) and changed, f"{where}: a record is only written when something changed"
        assert all(isinstance(item, str) and item for item in changed), f"{where}: changed holds non-names"
        assert record.get("failed") == [], f"{where}: operations failed: {record.get('failed')}"


def _sidekiq_layouts_differ(fleet) -> bool:  # type: ignore[no-untyped-def]
    return len({tuple(process.unit for process in host.sidekiq) for host in fleet.app_hosts}) > 1


def test_run_record_names_only_this_hosts_operations(app_host: Target, fleet_ready) -> None:  # type: ignore[no-untyped-def]
    """Each entry of a host's records is one operation of that host: none merges several operations,
    and the newest record names no Sidekiq unit the model does not give this host."""
    if not _sidekiq_layouts_differ(fleet_ready.fleet):
        pytest.skip("the app hosts share one Sidekiq layout: a foreign unit cannot show here")
    records = _run_records(app_host)
    merged = sorted({item for _, record in records for item in record["changed"] if item.count(" | ") > 1})
    newest_name, newest = records[-1]
    own_units = {process.unit for process in app_host.model.sidekiq}
    foreign = sorted(
        {
            unit
            for item in newest["changed"]
            if "no longer in the model" not in item
            for unit in re.findall(r"mastodon-sidekiq-[a-z0-9-]+\.service", item)
        }
        - own_units
    )
    assert not merged and not foreign, (
        f"{app_host.name}: {len(merged)} run-record entries merge several operations (e.g. {merged[:1]}); "
        f"{HOST_DIRECTORY}/{newest_name} names units this host does not have: {foreign}"
    )
