"""Provisioning the default fleet on Hetzner: the exact requests, the resulting project, idempotency.

Runs against `tests/support/hetzner_api.py`, a stateful fake of the Hetzner Cloud API on loopback
(the real one needs a token and the internet); the official hcloud library talks HTTP to it. The
fake was written from the API documentation, so these tests check our calls against the documented
shapes, not against Hetzner itself: the live path is not run here.
"""

from __future__ import annotations

import ipaddress

import pytest
from provision_support import apply_fleet, client_for, plan_for, with_host, writes

from mastofleet.provision.desired import hetzner_spec, ssh_fingerprint
from mastofleet.provision.hetzner_apply import run_steps
from support.hetzner_api import FakeHetznerApi

LABELS = {"fleet": "hachyderm", "managed-by": "mastofleet"}
ROLES = {"nixie": "db-lb-monitor-redis", "freud": "app", "fritz": "app", "franz": "app", "esme": "edge"}
TYPES = {"nixie": "ccx33", "freud": "cpx42", "fritz": "cpx42", "franz": "cpx42", "esme": "cpx22"}
ADDRESSES = {"nixie": "10.0.1.2", "freud": "10.0.1.3", "fritz": "10.0.1.4", "franz": "10.0.1.5", "esme": "10.0.1.6"}


@pytest.fixture
def api():
    fake = FakeHetznerApi()
    fake.start()
    yield fake
    fake.stop()


def _ids(store: dict, name: str) -> int:
    return next(identifier for identifier, item in store.items() if item["name"] == name)


def test_the_spec_opens_ssh_to_operators_only_and_the_web_to_lb_and_edge_only(hetzner_fleet):
    spec = hetzner_spec(hetzner_fleet)
    ssh, web = spec.firewalls
    assert ssh.name == "hachyderm-ssh" and set(ssh.servers) == set(ROLES)
    expected_sources = {
        f"ssh from {operator.name}": {str(network) for network in operator.source_cidrs}
        for operator in hetzner_fleet.operators
    }
    assert {rule.description: set(rule.sources) for rule in ssh.rules} == expected_sources
    assert {rule.port for rule in ssh.rules} == {"22"}
    assert web.name == "hachyderm-web" and web.servers == ("nixie", "esme")
    assert [(rule.port, rule.sources) for rule in web.rules] == [
        ("80", ("0.0.0.0/0", "::/0")),
        ("443", ("0.0.0.0/0", "::/0")),
    ]
    # nothing else reaches any host from the internet: the services use the private network
    assert {rule.port for firewall in spec.firewalls for rule in firewall.rules} == {"22", "80", "443"}
    assert spec.placement_group is not None and spec.placement_group.servers == ("freud", "fritz", "franz")
    assert {server.name: server.labels["role"] for server in spec.servers} == ROLES


def test_first_apply_sends_exactly_these_requests(api, hetzner_fleet):
    apply_fleet(api, hetzner_fleet)
    alice, bob = (operator.ssh_keys[0] for operator in hetzner_fleet.operators)
    keys = [_ids(api.ssh_keys, name) for name in (f"hachyderm-alice-{_short(alice)}", f"hachyderm-bob-{_short(bob)}")]
    network = _ids(api.networks, "hachyderm")
    ssh, web = _ids(api.firewalls, "hachyderm-ssh"), _ids(api.firewalls, "hachyderm-web")
    group = _ids(api.placement_groups, "hachyderm-app")
    servers = {name: _ids(api.servers, name) for name in ROLES}

    def server_body(name: str) -> dict:
        body = {
            "name": name,
            "server_type": TYPES[name],
            "start_after_create": False,
            "image": "debian-13",
            "location": "fsn1",
            "ssh_keys": keys,
            "firewalls": [{"firewall": ssh}] + ([{"firewall": web}] if name in ("nixie", "esme") else []),
            "labels": {**LABELS, "role": ROLES[name]},
        }
        if ROLES[name] == "app":
            body["placement_group"] = group
        return body

    assert writes(api) == [
        (
            "POST",
            "/ssh_keys",
            {
                "name": f"hachyderm-alice-{_short(alice)}",
                "public_key": alice,
                "labels": {**LABELS, "operator": "alice"},
            },
        ),
        (
            "POST",
            "/ssh_keys",
            {"name": f"hachyderm-bob-{_short(bob)}", "public_key": bob, "labels": {**LABELS, "operator": "bob"}},
        ),
        (
            "POST",
            "/networks",
            {
                "name": "hachyderm",
                "ip_range": "10.0.0.0/16",
                "subnets": [{"type": "cloud", "ip_range": "10.0.1.0/24", "network_zone": "eu-central"}],
                "labels": LABELS,
            },
        ),
        (
            "POST",
            "/firewalls",
            {
                "name": "hachyderm-ssh",
                "labels": LABELS,
                "rules": [
                    {
                        "direction": "in",
                        "protocol": "tcp",
                        "source_ips": ["198.51.100.0/28", "2001:db8:a11c::/48"],
                        "port": "22",
                        "description": "ssh from alice",
                    },
                    {
                        "direction": "in",
                        "protocol": "tcp",
                        "source_ips": ["192.0.2.64/27"],
                        "port": "22",
                        "description": "ssh from bob",
                    },
                ],
            },
        ),
        (
            "POST",
            "/firewalls",
            {
                "name": "hachyderm-web",
                "labels": LABELS,
                "rules": [
                    {
                        "direction": "in",
                        "protocol": "tcp",
                        "source_ips": ["0.0.0.0/0", "::/0"],
                        "port": port,
                        "description": text,
                    }
                    for port, text in (("80", "http"), ("443", "https"))
                ],
            },
        ),
        ("POST", "/placement_groups", {"name": "hachyderm-app", "type": "spread", "labels": LABELS}),
        *[("POST", "/servers", server_body(name)) for name in ROLES],
        *[
            ("POST", f"/servers/{servers[name]}/actions/attach_to_network", {"network": network, "ip": ADDRESSES[name]})
            for name in ROLES
        ],
        *[("POST", f"/servers/{servers[name]}/actions/poweron", None) for name in ROLES],
    ]


def _short(public_key: str) -> str:
    return ssh_fingerprint(public_key).replace(":", "")[:8]


def test_after_apply_the_project_holds_the_fleet_as_the_model_says(api, hetzner_fleet):
    apply_fleet(api, hetzner_fleet)
    client = client_for(api)
    servers = {server.name: server for server in client.servers.get_all(label_selector="fleet=hachyderm")}
    assert set(servers) == set(ROLES)
    network = client.networks.get_by_name("hachyderm")
    firewalls = {name: client.firewalls.get_by_name(name) for name in ("hachyderm-ssh", "hachyderm-web")}
    group = client.placement_groups.get_by_name("hachyderm-app")
    for name, server in servers.items():
        assert server.status == "running"
        assert server.server_type.name == TYPES[name] and server.location.name == "fsn1"
        assert [(entry.network.id, entry.ip) for entry in server.private_net] == [(network.id, ADDRESSES[name])]
        assert server.labels == {**LABELS, "role": ROLES[name]}
    on = {
        name: {servers_by_id.name for servers_by_id in servers.values() if servers_by_id.id in _applied(firewall)}
        for name, firewall in firewalls.items()
    }
    assert on == {"hachyderm-ssh": set(ROLES), "hachyderm-web": {"nixie", "esme"}}
    assert set(group.servers) == {servers[name].id for name in ("freud", "fritz", "franz")}
    assert [str(ipaddress.ip_network(subnet.ip_range)) for subnet in network.subnets] == ["10.0.1.0/24"]


def _applied(firewall) -> set[int]:
    return {entry.server.id for entry in firewall.applied_to if entry.server is not None}


def test_a_second_apply_plans_nothing_and_only_reads(api, hetzner_fleet):
    apply_fleet(api, hetzner_fleet)
    before = len(api.requests)
    plan = plan_for(api, hetzner_fleet)
    run_steps(plan.steps, plan.context)
    assert plan.steps == [] and plan.conflicts == [] and plan.drift == []
    reads = api.requests[before:]
    assert {request.method for request in reads} == {"GET"}
    assert [request.path for request in reads] == [
        "/server_types",
        "/locations",
        "/images",
        "/ssh_keys",
        "/networks",
        "/firewalls",
        "/placement_groups",
        "/servers",
    ]


def test_apply_waits_for_each_action_until_it_succeeds(hetzner_fleet):
    api = FakeHetznerApi(action_polls=3)  # every action answers running twice, then success
    api.start()
    try:
        apply_fleet(api, hetzner_fleet)
        polls = [request.path for request in api.requests if request.path.startswith("/actions/")]
        created = [identifier for identifier, action in api.actions.items() if action.data["status"] == "success"]
        assert sorted({int(path.rsplit("/", 1)[1]) for path in polls}) == sorted(created)
        assert all(polls.count(f"/actions/{identifier}") == 3 for identifier in created)
        assert {server["status"] for server in api.servers.values()} == {"running"}
    finally:
        api.stop()


def test_labels_firewall_rules_and_membership_changed_elsewhere_are_put_back(api, hetzner_fleet):
    apply_fleet(api, hetzner_fleet)
    freud, esme = api.server_named("freud"), api.server_named("esme")
    freud["labels"] = {"fleet": "hachyderm", "note": "kept"}  # role label lost in the console
    ssh = api.firewalls[_ids(api.firewalls, "hachyderm-ssh")]
    ssh["rules"].append(
        {
            "description": "db",
            "direction": "in",
            "source_ips": ["0.0.0.0/0"],
            "destination_ips": [],
            "protocol": "tcp",
            "port": "5432",
        }
    )
    web = api.firewalls[_ids(api.firewalls, "hachyderm-web")]
    web["applied_to"] = [entry for entry in web["applied_to"] if entry["server"]["id"] != esme["id"]]
    web["applied_to"].append({"type": "server", "server": {"id": freud["id"]}, "applied_to_resources": []})
    before = len(api.requests)

    plan = apply_fleet(api, hetzner_fleet)

    assert [(step.action, step.kind, step.name, step.detail) for step in plan.steps] == [
        (
            "change",
            "firewall",
            "hachyderm-ssh",
            "rules become: ssh from alice: tcp 22 from 198.51.100.0/28, 2001:db8:a11c::/48; ssh from bob: tcp 22 from 192.0.2.64/27",
        ),
        ("change", "server", "freud", "labels managed-by=mastofleet, role=app"),
        ("change", "firewall", "hachyderm-web", "apply to esme"),
        ("change", "firewall", "hachyderm-web", f"remove from server {freud['id']}"),
    ]
    sent = [
        (request.method, request.path, request.body) for request in api.requests[before:] if request.method != "GET"
    ]
    assert sent[0][1] == f"/firewalls/{ssh['id']}/actions/set_rules" and [
        rule["port"] for rule in sent[0][2]["rules"]
    ] == ["22", "22"]
    assert sent[1] == (
        "PUT",
        f"/servers/{freud['id']}",
        {"labels": {"fleet": "hachyderm", "note": "kept", "managed-by": "mastofleet", "role": "app"}},
    )
    assert sent[2:] == [
        (
            "POST",
            f"/firewalls/{web['id']}/actions/apply_to_resources",
            {"apply_to": [{"type": "server", "server": {"id": esme["id"]}}]},
        ),
        (
            "POST",
            f"/firewalls/{web['id']}/actions/remove_from_resources",
            {"remove_from": [{"type": "server", "server": {"id": freud["id"]}}]},
        ),
    ]
    assert plan_for(api, hetzner_fleet).steps == []


def test_what_needs_a_decision_is_reported_and_left_alone(api, hetzner_fleet):
    apply_fleet(api, hetzner_fleet)
    catalogue = {item["name"]: item for item in api.server_types}
    api.server_named("freud")["server_type"] = catalogue["cpx32"]  # resized in the console
    api.server_named("fritz")["private_net"][0]["ip"] = "10.0.1.40"
    api.server_named("franz")["placement_group"] = None
    before = len(api.requests)
    plan = plan_for(api, hetzner_fleet)
    assert plan.steps == []
    assert [(problem.where, problem.field) for problem in plan.drift] == [
        ("freud", "server_type"),
        ("fritz", "private_address"),
        ("franz", "placement_group"),
    ]
    assert "the server is cpx32, the inventory says cpx42" in plan.drift[0].message
    assert "change-type freud cpx42" in plan.drift[0].fix
    assert {request.method for request in api.requests[before:]} == {"GET"}


def test_an_operator_removed_loses_the_key_and_the_ssh_rule(api, hetzner_fleet):
    apply_fleet(api, hetzner_fleet)
    without_bob = hetzner_fleet.model_copy(update={"operators": hetzner_fleet.operators[:1]})
    plan = apply_fleet(api, without_bob)
    assert [(step.action, step.kind) for step in plan.steps] == [("change", "firewall"), ("delete", "ssh key")]
    assert [key["labels"]["operator"] for key in api.ssh_keys.values()] == ["alice"]
    rules = api.firewalls[_ids(api.firewalls, "hachyderm-ssh")]["rules"]
    assert [rule["description"] for rule in rules] == ["ssh from alice"]


def test_a_key_already_in_the_project_is_used_not_uploaded_again(api, hetzner_fleet):
    alice = hetzner_fleet.operators[0].ssh_keys[0]
    client_for(api).ssh_keys.create(name="alice laptop", public_key=alice)  # added by hand before
    plan = apply_fleet(api, hetzner_fleet)
    assert [step.name for step in plan.steps if step.kind == "ssh key"] == [
        f"hachyderm-bob-{_short(hetzner_fleet.operators[1].ssh_keys[0])}"
    ]
    assert any("already in the project as 'alice laptop'" in note for note in plan.notes)
    created = next(request for request in api.writes() if request.path == "/servers")
    assert created.body["ssh_keys"][0] == _ids(api.ssh_keys, "alice laptop")


def test_servers_outside_the_inventory_are_kept_unless_pruned(api, hetzner_fleet):
    apply_fleet(api, hetzner_fleet)
    smaller = hetzner_fleet.model_copy(update={"hosts": [host for host in hetzner_fleet.hosts if host.name != "franz"]})
    plan = plan_for(api, smaller)
    assert not any(step.action == "delete" for step in plan.steps)
    assert any("server franz is labelled fleet=hachyderm but is not in the inventory" in note for note in plan.notes)
    pruned = apply_fleet(api, smaller, prune=True)
    assert [(step.action, step.name) for step in pruned.steps if step.kind == "server"] == [("delete", "franz")]
    assert "franz" not in {server["name"] for server in api.servers.values()}


def test_a_host_moved_to_another_type_in_the_inventory_is_drift_not_a_new_server(api, hetzner_fleet):
    apply_fleet(api, hetzner_fleet)
    plan = plan_for(api, with_host(hetzner_fleet, "esme", server_type="cpx32"))
    assert plan.steps == [] and [problem.field for problem in plan.drift] == ["server_type"]
