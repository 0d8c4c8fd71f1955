"""The live Hetzner inventory: servers read by the fleet's label, the answer cached for offline use.

The Hetzner API is the stateful fake on loopback (`tests/support/hetzner_api.py`; the real one needs
a token and the internet). The inventory is loaded the way pyinfra and `mastofleet check` load it.
"""

from __future__ import annotations

import json

import pytest
from fleet_builder import REPO
from provision_support import apply_fleet

from mastofleet.project.fleet import fleet_from_inventory, load_inventory
from mastofleet.provision.inventory import HetznerInventory
from support.hetzner_api import TOKEN, FakeHetznerApi

INVENTORY = REPO / "inventories" / "hetzner.py"
GROUPS = {
    "nixie": {"db", "redis", "lb", "monitor"},
    "freud": {"app"},
    "fritz": {"app"},
    "franz": {"app"},
    "esme": {"edge"},
}


@pytest.fixture
def provisioned(hetzner_fleet, monkeypatch, tmp_path):
    """The default fleet applied to a fresh fake API; the environment points the inventory at it."""
    api = FakeHetznerApi()
    api.start()
    apply_fleet(api, hetzner_fleet)
    api.add_server("outsider", labels={"fleet": "other"})
    monkeypatch.setenv("HCLOUD_TOKEN", TOKEN)
    monkeypatch.setenv("HCLOUD_ENDPOINT", api.endpoint)
    monkeypatch.setenv("MASTOFLEET_HETZNER_STATE", str(tmp_path / "state.json"))
    yield api
    api.stop()


def public_addresses(api: FakeHetznerApi) -> dict[str, str]:
    return {
        server["name"]: server["public_net"]["ipv4"]["ip"]
        for server in api.servers.values()
        if server["name"] in GROUPS
    }


def test_the_inventory_reads_the_fleets_servers_by_label_and_keeps_the_groups(provisioned, tmp_path):
    before = len(provisioned.requests)
    inventory = load_inventory(str(INVENTORY))
    hosts = {host.name: host for host in inventory}
    assert set(hosts) == set(GROUPS)  # the server of another fleet is not in it
    for name, host in hosts.items():
        assert set(host.groups) - {"hetzner"} == GROUPS[name]
        assert host.data.ssh_hostname == public_addresses(provisioned)[name]
        assert host.data.public_address == public_addresses(provisioned)[name]
    calls = [
        (request.method, request.path, request.query.get("label_selector")) for request in provisioned.requests[before:]
    ]
    assert calls == [("GET", "/servers", ["fleet=hachyderm"])]
    fleet = fleet_from_inventory(inventory, project=str(REPO))
    assert {host.name: str(host.public_address) for host in fleet.hosts} == public_addresses(provisioned)
    assert {host.name: host.server_type for host in fleet.hosts}["nixie"] == "ccx33"


def test_the_last_answer_is_cached_so_the_inventory_works_offline(provisioned, tmp_path, monkeypatch):
    state = tmp_path / "state.json"
    live = HetznerInventory(INVENTORY)
    cached = json.loads(state.read_text())
    assert cached["fleet"] == "hachyderm" and set(cached["servers"]) == set(GROUPS)
    written = state.stat().st_mtime_ns
    HetznerInventory(INVENTORY)  # the same answer again: the file is left as it is
    assert state.stat().st_mtime_ns == written

    monkeypatch.delenv("HCLOUD_TOKEN")
    provisioned.stop()  # offline: no API at all
    before = len(provisioned.requests)
    offline = HetznerInventory(INVENTORY)
    assert offline.servers == live.servers
    assert len(provisioned.requests) == before
    assert offline.host("nixie", "10.0.1.2")[1]["ssh_hostname"] == public_addresses(provisioned)["nixie"]


def test_the_offline_switch_uses_the_cache_even_with_a_token(provisioned, tmp_path, monkeypatch):
    HetznerInventory(INVENTORY)
    monkeypatch.setenv("MASTOFLEET_HETZNER_OFFLINE", "1")
    before = len(provisioned.requests)
    assert set(HetznerInventory(INVENTORY).servers) == set(GROUPS)
    assert len(provisioned.requests) == before


def test_a_host_not_provisioned_yet_has_no_public_address(tmp_path, monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"servers": {}}))
    monkeypatch.setenv("MASTOFLEET_HETZNER_STATE", str(state))
    name, data = HetznerInventory(INVENTORY).host("nixie", "10.0.1.2", server_type="ccx33")
    assert (name, data["ssh_hostname"], data["private_address"]) == ("nixie", "nixie", "10.0.1.2")
    assert "public_address" not in data
