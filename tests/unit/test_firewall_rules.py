"""The firewall rendered from the model: what each role declares, who may reach it, and a table the
real `nft` accepts (checked in a network namespace of its own, so this machine's rules are untouched)."""

from __future__ import annotations

import re
import shutil
import subprocess
from ipaddress import ip_network

import pytest
from fleet_builder import SECRET_NAMES, build, default_fleet_data, host_data
from plans import plan_host
from pyinfra.api import FileUploadCommand

from mastofleet.deploys import firewall as firewall_role
from mastofleet.deploys import registry
from mastofleet.deploys.component import Component, everywhere
from mastofleet.model import Role
from mastofleet.plan import firewall
from mastofleet.plan.files import SecretValues


@pytest.fixture
def fleet():  # type: ignore[no-untyped-def]
    return build(*default_fleet_data())


def opened(fleet, name: str) -> dict[int, set[str] | None]:  # type: ignore[no-untyped-def]
    """port -> names of who may connect (None: anyone), over every opening of that port."""
    result: dict[int, set[str] | None] = {}
    for opening in firewall.openings(fleet, fleet.host(name)):
        if opening.sources is None or result.get(opening.port, set()) is None:
            result[opening.port] = None
        else:
            result[opening.port] = (result.get(opening.port) or set()) | {source.name for source in opening.sources}
    return result


def test_each_role_opens_its_ports_to_whom_it_needs(fleet) -> None:  # type: ignore[no-untyped-def]
    """The Hetzner example: nixie is db, redis, lb and monitor; every exporter answers nixie (Prometheus) only."""
    app = {"freud", "fritz", "franz"}
    ssh = {"alice", "bob"}
    monitor = {"nixie"}
    exporters = {9100: monitor}
    assert opened(fleet, "nixie") == {
        22: ssh,
        5432: app,
        6432: app,
        6379: app,
        80: None,
        443: None,
        **exporters,
        **dict.fromkeys((9187, 9127, 9121, 9113, 3903), monitor),
        # Prometheus and Alertmanager: scraped by Prometheus itself, read by the operators
        **dict.fromkeys((9090, 9093), monitor | ssh),
    }
    balancers = {"nixie", "esme"}
    assert opened(fleet, "freud") == {
        22: ssh,
        3000: balancers,
        4000: balancers | monitor,
        4001: balancers | monitor,
        9394: monitor,
        **exporters,
    }
    assert opened(fleet, "esme") == {22: ssh, 80: None, 443: None, 9113: monitor, 3903: monitor, **exporters}


def test_ssh_is_open_to_the_operators_networks_only(fleet) -> None:  # type: ignore[no-untyped-def]
    ssh = next(opening for opening in firewall.openings(fleet, fleet.host("esme")) if opening.port == 22)
    assert {str(source.network) for source in ssh.sources or ()} == {
        "198.51.100.0/28",
        "2001:db8:a11c::/48",
        "192.0.2.64/27",
    }
    rules = [rule.match for rule in firewall.rules(fleet, fleet.host("esme")) if "dport 22" in rule.match]
    assert rules == [
        "ip saddr { 192.0.2.64/27, 198.51.100.0/28 } tcp dport 22",
        "ip6 saddr 2001:db8:a11c::/48 tcp dport 22",
    ]


def test_a_new_app_host_is_let_in_to_the_database_on_the_next_deploy() -> None:
    hosts, common = default_fleet_data()
    hosts.append(
        {
            "name": "frieda",
            "groups": ["app"],
            "data": {**host_data(hosts, "franz"), "private_address": "10.0.1.9", "public_address": "203.0.113.99"},
        }
    )
    fleet = build(hosts, common)
    assert "frieda" in (opened(fleet, "nixie")[5432] or set())
    assert ip_network("10.0.1.9/32") in {
        source.network for o in firewall.openings(fleet, fleet.host("nixie")) for source in o.sources or ()
    }


def test_a_role_adds_its_ports_by_declaring_them(fleet, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """How another role (an exporter, say) opens a port: its component declares it, no central table."""

    def exporter(fleet, host):  # type: ignore[no-untyped-def]
        return [firewall.Opening("node exporter", 9100, firewall.from_roles(fleet, Role.lb))]

    added = Component(name="exporter", applies=everywhere, openings=exporter)
    monkeypatch.setattr(registry, "COMPONENTS", (*registry.COMPONENTS, added))
    assert opened(fleet, "freud")[9100] == {"nixie"}
    nixie = fleet.host("nixie").private_address
    assert f"ip saddr {nixie}/32 tcp dport 9100" in {rule.match for rule in firewall.rules(fleet, fleet.host("freud"))}


def table(fleet, name: str) -> str:  # type: ignore[no-untyped-def]
    host = fleet.host(name)
    return firewall_role.files_for(fleet, host, SecretValues(), firewall.openings(fleet, host))[0].content


def nft_check(text: str, tmp_path) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    if not shutil.which("nft") or not shutil.which("unshare"):
        pytest.skip("nft and unshare are needed to check the table (scripts/install installs nftables)")
    path = tmp_path / "firewall.nft"
    path.write_text(text)
    return subprocess.run(["unshare", "-rn", "nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("name", ["nixie", "freud", "esme"])
def test_nft_accepts_the_rendered_table(fleet, tmp_path, name: str) -> None:  # type: ignore[no-untyped-def]
    result = nft_check(table(fleet, name), tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_nft_check_catches_a_broken_table(fleet, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = nft_check(table(fleet, "nixie").replace("tcp dport 5432", "tcp dprt 5432"), tmp_path)
    assert result.returncode != 0


def test_the_table_replaces_itself_in_one_transaction_and_accepts_sessions_first(fleet) -> None:  # type: ignore[no-untyped-def]
    lines = [
        line.strip() for line in table(fleet, "nixie").splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[:3] == ["table inet mastofleet", "delete table inet mastofleet", "table inet mastofleet {"]
    rules = [line for line in lines if line.startswith(("ct ", "iif", "icmp", "udp", "tcp", "ip ", "ip6 "))]
    assert rules[0] == "ct state established,related accept"
    assert "type filter hook input priority filter; policy drop;" in lines


def test_a_disabled_firewall_renders_no_table() -> None:
    hosts, common = default_fleet_data()
    common["firewall"] = {"enabled": False}
    fleet = build(hosts, common)
    from mastofleet.plan.files import host_files

    assert not [item for item in host_files(fleet, fleet.host("nixie"), SecretValues()) if "firewall" in item.path]


def test_a_read_replica_streams_from_the_primary_and_serves_the_app_hosts() -> None:
    hosts, common = default_fleet_data()
    hosts.append({"name": "hermine", "groups": ["db_replica"], "data": {"private_address": "10.0.1.9"}})
    fleet = build(hosts, common, [*SECRET_NAMES, "replication_password"])
    app_hosts = {host.name for host in fleet.with_role(Role.app)}
    primary = opened(fleet, "nixie")
    assert primary[5432] == app_hosts | {"hermine"}, "the replica streams from the primary's PostgreSQL"
    assert primary[fleet.pgbouncer.port] == app_hosts
    replica = opened(fleet, "hermine")
    assert replica[5432] == app_hosts and replica[fleet.pgbouncer.port] == app_hosts, replica


RULES_ADDRESSES = re.compile(r"grep -oE .*firewall\.nft")


def retiring_fleet() -> tuple[list[dict], dict]:
    hosts, common = default_fleet_data()
    hosts.append({"name": "frieda", "groups": ["retired"], "data": {"private_address": "10.0.1.9"}})
    return hosts, common


def uploaded_rules(plan) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(operation, rules text) of every upload of the firewall's rules file in the plan."""
    return [
        (name, command.src.getvalue())
        for name, command in plan.all_commands()
        if isinstance(command, FileUploadCommand) and name.endswith(f"Put {firewall.RULES_FILE}")
    ]


def test_the_retiring_deploy_closes_the_firewall_to_a_host_only_after_it_stopped(secrets_in_environment) -> None:
    """nixie's rules still let frieda in (she served until now): the deploy keeps her in at its
    start, while her processes run, and puts rules without her after the retirement's meeting point."""
    hosts, common = retiring_fleet()
    plan = plan_host("nixie", hosts, common, {"nixie": {RULES_ADDRESSES: "10.0.1.12\n10.0.1.9\n"}})
    uploads = uploaded_rules(plan)
    assert [name.split(" | ")[0] for name, _ in uploads] == ["Firewall", "Retire app hosts"], uploads
    (_, first), (_, last) = uploads
    assert "10.0.1.9" in first and "10.0.1.9" not in last
    names = plan.names
    assert names.index("Retire app hosts | Every retired host has stopped") < names.index(uploads[1][0])


def test_a_later_deploy_does_not_open_the_firewall_to_a_stopped_host_again(secrets_in_environment) -> None:
    hosts, common = retiring_fleet()
    plan = plan_host("nixie", hosts, common, {"nixie": {RULES_ADDRESSES: "10.0.1.12\n"}})
    ((name, rules_text),) = uploaded_rules(plan)
    assert name.startswith("Firewall") and "10.0.1.9" not in rules_text
