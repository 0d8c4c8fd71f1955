"""The firewall on every host: the table rendered from the roles' declarations, loaded, and kept by
an enabled unit that loads it again at boot. (What it lets through is probed in tests/fleet/test_ports_open.py.)"""

from __future__ import annotations

import pytest
from infra_support import Target, assert_active_and_enabled, assert_files_as_rendered

from mastofleet.deploys import firewall
from mastofleet.plan import firewall as rules
from mastofleet.plan.files import SecretValues


@pytest.fixture
def firewalled(any_host: Target, fleet) -> Target:  # type: ignore[no-untyped-def]
    if not fleet.firewall.enabled:
        pytest.skip("the fleet's firewall is disabled in the model")
    return any_host


def test_firewall_files(firewalled: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    openings = rules.openings(fleet, firewalled.model)
    assert_files_as_rendered(firewalled, firewall.files_for(fleet, firewalled.model, SecretValues(), openings))


def test_firewall_unit_loads_it_at_boot(firewalled: Target) -> None:
    assert_active_and_enabled(firewalled, [rules.UNIT])
    wanted_by = firewalled.output(
        f"systemctl show -P WantedBy -P RequiredBy {rules.UNIT}; ls /etc/systemd/system/sysinit.target.wants/"
    )
    assert rules.UNIT in wanted_by, f"{firewalled.name}: {rules.UNIT} is not pulled in at boot"


def test_the_loaded_table_is_the_rendered_one(firewalled: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """Every accept rule of the model is in the kernel, the input policy is drop, and nothing else is accepted."""
    loaded = firewalled.output(f"nft list table inet {rules.TABLE}")
    assert "policy drop;" in loaded, f"{firewalled.name}: the input chain does not drop by default"
    comments = {line.split('comment "', 1)[1].rstrip('"') for line in loaded.splitlines() if 'comment "' in line}
    wanted = {rule.comment for rule in rules.rules(fleet, firewalled.model)}
    assert comments == wanted, f"{firewalled.name}: loaded {sorted(comments)}, the model has {sorted(wanted)}"
    first = next(line.strip() for line in loaded.splitlines() if line.strip().startswith(("ct ", "ip", "tcp", "udp")))
    assert first == "ct state established,related accept", f"{firewalled.name}: the first rule is {first!r}"
