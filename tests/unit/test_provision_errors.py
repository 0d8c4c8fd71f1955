"""Provisioning errors: each with a clear message, found before anything changes when it can be.

Against the fake Hetzner API on loopback (`tests/support/hetzner_api.py`; the real API needs a
token and the internet), which answers the documented error codes: retired or unavailable server
types, unknown locations, names taken, rate limits (429), bad or read-only tokens, failed actions.
"""

from __future__ import annotations

import types

import hcloud._client
import pytest
from provision_support import apply_fleet, client_for, plan_for, with_host, writes

from mastofleet.provision.catalogue import catalogue_problems
from mastofleet.provision.desired import hetzner_spec
from mastofleet.provision.errors import CredentialsError, ProvisionError
from mastofleet.provision.hetzner_apply import PartialApply, run_steps
from mastofleet.provision.hetzner_client import connect
from mastofleet.provision.hetzner_observe import observe
from support.hetzner_api import FakeHetznerApi

READONLY = "fake-readonly-token-1111"


@pytest.fixture
def api():
    fake = FakeHetznerApi(readonly_tokens=(READONLY,))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def sleeps(monkeypatch):
    """The waits hcloud's retry policy asks for, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(hcloud._client, "time", types.SimpleNamespace(sleep=recorded.append))
    return recorded


def problems_for(api, fleet):
    client = client_for(api)
    spec = hetzner_spec(fleet)
    return catalogue_problems(fleet, spec, observe(client, spec).catalogue)


# --- server types and locations, checked against the API ----------------------------------------


def test_a_retired_server_type_is_refused_with_what_the_location_offers(api, hetzner_fleet):
    (problem,) = problems_for(api, with_host(hetzner_fleet, "esme", server_type="cx22"))
    assert (problem.where, problem.field) == ("esme", "server_type")
    assert problem.message == (
        "cx22 cannot be ordered in fsn1 (deprecated since 2025-10-16, not orderable after 2026-01-01)"
    )
    offered = problem.fix.removeprefix("use one available in fsn1: ").split(", ")
    names = [item.split(" ")[0] for item in offered if item.startswith(("c", "C"))]
    assert "cx23" in names and "cpx22" in names and "ccx33" in names and "cax11" in names
    assert not {"cx22", "cx32", "cpx11", "cpx21"} & set(names)
    assert "cx23 (2 shared vCPU, 4 GB)" in problem.fix
    assert api.writes() == []


def test_a_type_not_sold_in_the_location_lists_that_locations_types(api, hetzner_fleet):
    fleet = with_host(hetzner_fleet, "esme", server_type="cx23", location="ash")
    problems = problems_for(
        api, fleet.model_copy(update={"hetzner": fleet.hetzner.model_copy(update={"network_zone": "us-east"})})
    )
    esme = [problem for problem in problems if problem.where == "esme"]
    assert [(problem.field, problem.message) for problem in esme] == [("server_type", "cx23 cannot be ordered in ash")]
    offered = {item.split(" (")[0] for item in esme[0].fix.removeprefix("use one available in ash: ").split("), ")}
    assert "cpx22" in offered and "ccx13" in offered
    assert not {name for name in offered if name.startswith(("cx", "cax"))}  # cost-optimized and Arm: EU only


def test_a_type_sold_out_right_now_is_refused(api, hetzner_fleet):
    api.set_availability("cpx42", "fsn1", False)
    problems = problems_for(api, hetzner_fleet)
    assert [(problem.where, problem.message) for problem in problems] == [
        (name, "cpx42 cannot be ordered in fsn1") for name in ("freud", "fritz", "franz")
    ]


def test_an_unknown_location_and_a_location_outside_the_subnets_zone(api, hetzner_fleet):
    problems = problems_for(api, with_host(with_host(hetzner_fleet, "esme", location="fsn9"), "nixie", location="hil"))
    assert [(problem.where, problem.field, problem.message) for problem in problems] == [
        ("nixie", "location", "hil is in network zone us-west, the subnet in eu-central"),
        ("esme", "location", "'fsn9' is not a Hetzner location"),
    ]
    assert problems[1].fix.startswith("use one of: fsn1 (Falkenstein, eu-central), nbg1 (Nuremberg, eu-central)")


def test_tuning_for_more_memory_than_the_server_has_is_refused(api, hetzner_fleet):
    fleet = with_host(hetzner_fleet, "nixie", server_type="ccx13")  # 8 GB; PostgreSQL is tuned for 16 GB
    (problem,) = problems_for(api, fleet)
    assert (problem.where, problem.field) == ("postgres", "memory_mb")
    assert "tuned for 16384 MB, but the db host nixie is ccx13 (2 dedicated vCPU, 8 GB)" in problem.message


# --- conflicts: names taken outside the fleet ------------------------------------------------------


def test_a_server_name_taken_outside_the_fleet_blocks_apply(api, hetzner_fleet):
    api.add_server("franz", labels={"team": "search"})
    plan = plan_for(api, hetzner_fleet)
    (conflict,) = plan.conflicts
    assert (conflict.where, conflict.field) == ("franz", "server")
    assert (
        "a server named franz exists in this project but is not fleet hachyderm's (labels: team=search)"
        in conflict.message
    )
    assert "label it fleet=hachyderm" in conflict.fix
    assert "franz" not in {step.name for step in plan.steps}


# --- failures during apply: what was done is reported ------------------------------------------------


def test_a_type_unavailable_at_create_time_stops_apply_with_the_partial_state_and_a_rerun_finishes(api, hetzner_fleet):
    api.make_unorderable("cpx22", "fsn1")  # listed as available, refused when ordered (sold out meanwhile)
    plan = plan_for(api, hetzner_fleet)
    with pytest.raises(PartialApply) as stopped:
        run_steps(plan.steps, plan.context)
    report = str(stopped.value)
    assert report.startswith(
        "apply stopped: create server esme: Hetzner cannot provide this right now (resource_unavailable"
    )
    assert [step.title for step in stopped.value.failed] == ["create server esme"]
    assert [step.title for step in stopped.value.done][-4:] == [
        f"create server {name}" for name in ("nixie", "freud", "fritz", "franz")
    ]
    assert [step.title for step in stopped.value.left] == [
        *(
            f"attach server {name} to hachyderm at 10.0.1.{index}"
            for index, name in enumerate(("nixie", "freud", "fritz", "franz", "esme"), 2)
        ),
        *(f"power on server {name}" for name in ("nixie", "freud", "fritz", "franz", "esme")),
    ]
    assert "  - create network hachyderm" in report and "not attempted (10):" in report
    assert {server["name"]: server["status"] for server in api.servers.values()} == dict.fromkeys(
        ("nixie", "freud", "fritz", "franz"), "off"
    )

    api.faults.unorderable.clear()
    resumed = plan_for(api, hetzner_fleet)
    assert [(step.action, step.kind, step.name, step.detail) for step in resumed.steps if step.shown] == [
        ("create", "server", "esme", resumed.steps[0].detail),
        *(
            (("change", "server", name, f"attach to hachyderm at 10.0.1.{index}"))
            for index, name in enumerate(("nixie", "freud", "fritz", "franz"), 2)
        ),
        *((("change", "server", name, "power on")) for name in ("nixie", "freud", "fritz", "franz")),
    ]
    run_steps(resumed.steps, resumed.context)
    assert plan_for(api, hetzner_fleet).steps == []
    assert {server["status"] for server in api.servers.values()} == {"running"}


def test_a_failed_action_is_named_with_hetzners_reason(api, hetzner_fleet):
    api.fail_next_action("attach_to_network", "ip_not_available", "the network IP is not available")
    plan = plan_for(api, hetzner_fleet)
    with pytest.raises(PartialApply) as stopped:
        run_steps(plan.steps, plan.context)
    assert str(stopped.value).startswith(
        "apply stopped: attach server nixie to hachyderm at 10.0.1.2: Hetzner's action attach_to_network failed: "
        "ip_not_available: the network IP is not available"
    )
    assert [step.title for step in stopped.value.failed] == ["attach server nixie to hachyderm at 10.0.1.2"]
    assert "attach server freud to hachyderm at 10.0.1.3" in [step.title for step in stopped.value.done]
    assert all(step.title.startswith("power on") for step in stopped.value.left)


# --- rate limits and tokens ---------------------------------------------------------------------------


def test_a_rate_limit_is_retried_with_growing_waits(api, hetzner_fleet, sleeps):
    api.rate_limit(3)
    plan = plan_for(api, hetzner_fleet)
    assert len(plan.steps) > 10
    assert [request.path for request in api.requests[:4]] == ["/server_types"] * 4  # refused 3 times, then served
    assert len(sleeps) == 3 and sleeps[0] == 1.0 and 1.0 <= sleeps[1] <= 2.0 and 1.0 <= sleeps[2] <= 4.0


def test_a_rate_limit_that_outlasts_the_retries_says_what_to_do(api, hetzner_fleet, sleeps):
    api.rate_limit(1000)
    with pytest.raises(ProvisionError) as failed:
        plan_for(api, hetzner_fleet)
    assert str(failed.value) == (
        "Hetzner's rate limit (3600 requests an hour per project) was still exceeded while reading what the project "
        "offers (server types, locations, images), after the library's retries with backoff; wait a few minutes and "
        "run the command again (it continues from what exists)"
    )
    assert len(sleeps) == 5


def test_a_wrong_token_is_refused_without_showing_it(api, hetzner_fleet):
    with pytest.raises(CredentialsError) as refused:
        plan_for(api, hetzner_fleet, token="wrong-token-abc")
    assert str(refused.value).startswith("Hetzner refused the token in HCLOUD_TOKEN while reading what the project")
    assert "(unauthorized)" in str(refused.value) and "wrong-token-abc" not in str(refused.value)


def test_a_read_only_token_plans_but_cannot_apply(api, hetzner_fleet):
    plan = plan_for(api, hetzner_fleet, token=READONLY)
    assert len(plan.steps) > 10
    with pytest.raises(PartialApply) as stopped:
        run_steps(plan.steps, plan.context)
    assert "the token in HCLOUD_TOKEN is read-only, so create ssh key" in str(stopped.value)
    assert isinstance(stopped.value.cause, CredentialsError)
    assert stopped.value.done == [] and writes(api)[0][0] == "POST"
    assert api.ssh_keys == {}


def test_no_token_at_all(monkeypatch):
    monkeypatch.delenv("HCLOUD_TOKEN", raising=False)
    with pytest.raises(CredentialsError) as missing:
        connect()
    assert str(missing.value).startswith("HCLOUD_TOKEN is not set: create one in the Hetzner Cloud Console")


def test_a_fleet_without_operators_or_server_types_is_refused_before_any_request(api, hetzner_fleet):
    from mastofleet.model.problems import FleetError

    fleet = with_host(hetzner_fleet.model_copy(update={"operators": []}), "fritz", server_type=None)
    with pytest.raises(FleetError) as refused:
        apply_fleet(api, fleet)
    assert [(problem.where, problem.field) for problem in refused.value.problems] == [
        ("fleet", "operators"),
        ("fritz", "server_type"),
    ]
    assert api.requests == []
