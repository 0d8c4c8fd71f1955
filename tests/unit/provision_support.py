"""Helpers for the provisioning tests: the fake Hetzner API, a client for it, plan and apply in one call.

The Hetzner API cannot be reached here; `tests/support/hetzner_api.py` is a stateful fake of it,
served over HTTP on loopback and written from the API's documented shapes. The official hcloud
library talks to it exactly as it would to api.hetzner.cloud.
"""

from __future__ import annotations

from typing import Any

from hcloud import Client

from mastofleet.model import Fleet
from mastofleet.provision.catalogue import catalogue_problems
from mastofleet.provision.desired import hetzner_spec
from mastofleet.provision.hetzner_apply import run_steps
from mastofleet.provision.hetzner_observe import observe
from mastofleet.provision.hetzner_plan import HetznerPlan, hetzner_plan
from support.hetzner_api import TOKEN, FakeHetznerApi

POLL_INTERVAL = 0.001


def client_for(api: FakeHetznerApi, token: str = TOKEN) -> Client:
    return Client(token=token, api_endpoint=api.endpoint, poll_interval=POLL_INTERVAL)


def plan_for(api: FakeHetznerApi, fleet: Fleet, prune: bool = False, token: str = TOKEN) -> HetznerPlan:
    """What `provision plan` computes: the spec, what exists, the catalogue checked (asserted clean)."""
    client = client_for(api, token)
    spec = hetzner_spec(fleet)
    observed = observe(client, spec)
    assert catalogue_problems(fleet, spec, observed.catalogue) == []
    return hetzner_plan(client, spec, observed, prune)


def apply_fleet(api: FakeHetznerApi, fleet: Fleet, prune: bool = False) -> HetznerPlan:
    plan = plan_for(api, fleet, prune)
    assert plan.conflicts == [], plan.conflicts
    run_steps(plan.steps, plan.context)
    return plan


def with_host(fleet: Fleet, name: str, **changes: Any) -> Fleet:
    """The fleet with one host's fields changed (e.g. server_type)."""
    hosts = [host.model_copy(update=changes) if host.name == name else host for host in fleet.hosts]
    return fleet.model_copy(update={"hosts": hosts})


def writes(api: FakeHetznerApi) -> list[tuple[str, str, Any]]:
    return [(request.method, request.path, request.body) for request in api.writes()]
