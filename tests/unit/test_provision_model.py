"""The fleet model's provisioning parts: operators and the hetzner section, each mistake with its own problem.

Every test starts from the default fleet (`fleet_builder`, group_data/ with the Hetzner addresses)
plus group_data/hetzner.py, and changes one thing.
"""

from __future__ import annotations

import pytest
from fleet_builder import build, group_data, only, problems_of

from mastofleet.model.problems import Problem

ALICE = group_data("all")["operators"][0]["ssh_keys"][0]


@pytest.fixture
def hetzner_data(fleet_data):
    hosts, common = fleet_data
    common["hetzner"] = group_data("hetzner")["hetzner"]
    return hosts, common


def test_the_default_fleet_has_operators_and_a_hetzner_section(hetzner_data):
    fleet = build(*hetzner_data)
    assert [operator.name for operator in fleet.operators] == ["alice", "bob"]
    assert fleet.hetzner is not None and str(fleet.hetzner.subnet) == "10.0.1.0/24"


def test_a_private_key_pasted_as_an_operator_key_is_refused_without_being_shown(hetzner_data):
    hosts, common = hetzner_data
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"
    common["operators"][1]["ssh_keys"] = [secret]
    problems, text = problems_of(hosts, common)
    problem = only(problems)
    assert (problem.where, problem.field) == ("fleet", "operators[bob].ssh_keys")
    assert problem.message == "ssh_keys[0]: this is a PRIVATE key"
    assert problem.fix.startswith("put only the public key (the .pub file) here")
    assert "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in text


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "AAAAC3NzaC1lZDI1NTE5AAAAIJXBHnMmH37wjBYDD0G3NL6M8HmOA4",
            "not an OpenSSH public key: it must start with one of ssh-ed25519",
        ),
        ("ssh-ed25519 AAAAC3Nza!!", "the key's base64 body is damaged"),
        (ALICE.replace("ssh-ed25519", "ssh-rsa"), "the key's body does not belong to a ssh-rsa key"),
    ],
)
def test_a_damaged_public_key_is_refused(hetzner_data, key, message):
    hosts, common = hetzner_data
    common["operators"][0]["ssh_keys"].append(key)
    problem = only(problems_of(hosts, common)[0])
    assert problem.field == "operators[alice].ssh_keys"
    assert f"ssh_keys[1]: {message}" in problem.message


def test_operators_need_their_own_names_and_keys(hetzner_data):
    hosts, common = hetzner_data
    common["operators"].append({**common["operators"][0], "source_cidrs": ["203.0.113.0/24"]})
    common["operators"][2]["name"] = "bob"
    problems = problems_of(hosts, common)[0]
    assert problems == [
        Problem("operators", "bob", "two operators share this name", "give each operator their own account name"),
        Problem(
            "operators",
            "bob.ssh_keys",
            "this key is also alice's; a shared key makes the accounts one",
            "give each operator their own key",
        ),
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Alice", "an operator name must be a login name"),
        ("source_cidrs", ["198.51.100.7/24"], "has host bits set"),
        ("source_cidrs", [], "at least 1 item"),
    ],
)
def test_operator_fields_are_checked(hetzner_data, field, value, message):
    hosts, common = hetzner_data
    common["operators"][0][field] = value
    problem = only(problems_of(hosts, common)[0])
    assert problem.field.endswith(f".{field}") and problem.field.startswith("operators[")
    assert message in problem.message


def test_every_host_address_lies_in_the_hetzner_subnet(hetzner_data):
    hosts, common = hetzner_data
    common["hetzner"]["subnet"] = "10.0.2.0/24"
    problems = problems_of(hosts, common)[0]
    assert [(problem.where, problem.message) for problem in problems] == [
        (name, f"{address} is outside the Hetzner subnet 10.0.2.0/24")
        for name, address in (
            ("nixie", "10.0.1.2"),
            ("freud", "10.0.1.3"),
            ("fritz", "10.0.1.4"),
            ("franz", "10.0.1.5"),
            ("esme", "10.0.1.6"),
        )
    ]


def test_the_subnet_lies_in_the_private_network(hetzner_data):
    hosts, common = hetzner_data
    common["hetzner"]["subnet"] = "10.1.1.0/24"
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "hetzner",
        "subnet",
        "10.1.1.0/24 is not inside private_network 10.0.0.0/16",
        "pick a subnet inside private_network",
    )


def test_the_networks_gateway_address_is_not_a_host_address(hetzner_data):
    hosts, common = hetzner_data
    common["hetzner"]["subnet"] = "10.0.0.0/24"
    for host in hosts:
        host["data"]["private_address"] = host["data"]["private_address"].replace("10.0.1.", "10.0.0.")
    hosts[0]["data"]["private_address"] = "10.0.0.1"
    problem = only(problems_of(hosts, common)[0])
    assert (problem.where, problem.message) == ("nixie", "10.0.0.1 is the gateway Hetzner reserves in 10.0.0.0/16")
