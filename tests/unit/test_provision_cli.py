"""`mastofleet provision` as the operator runs it: the console script, the project's inventory.

The Hetzner API is the stateful fake on loopback (`tests/support/hetzner_api.py`, written from the
API's documented shapes; the real one needs a token and the internet), reached through HCLOUD_ENDPOINT,
as hcloud's own tools allow. The state file goes to a tmp path (MASTOFLEET_HETZNER_STATE).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_builder import REPO

from support.hetzner_api import TOKEN, FakeHetznerApi

SCRIPT = Path(sys.executable).with_name("mastofleet")
INVENTORY = "inventories/hetzner.py"
NAMES = ("nixie", "freud", "fritz", "franz", "esme")


@pytest.fixture
def api():
    fake = FakeHetznerApi()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def state(tmp_path):
    return tmp_path / "hetzner.state.json"


def provision(
    *arguments: str,
    api: FakeHetznerApi | None,
    state: Path,
    token: str | None = TOKEN,
    stdin: str = "",
    cwd: Path = REPO,
    extra: dict[str, str] | None = None,
):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MASTOFLEET_", "HCLOUD_"))}
    env["MASTOFLEET_HETZNER_STATE"] = str(state)
    env.update(extra or {})
    if api is not None:
        env["HCLOUD_ENDPOINT"] = api.endpoint
    if token is not None:
        env["HCLOUD_TOKEN"] = token
    return subprocess.run(
        [str(SCRIPT), "provision", *arguments],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_prints_what_apply_would_create_and_changes_nothing(api, state):
    result = provision("plan", INVENTORY, "--only", "servers", api=api, state=state)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Hetzner Cloud, fleet hachyderm (label fleet=hachyderm):"
    assert lines[1].split() == ["action", "kind", "name", "detail"]
    rows = [line.split()[:4] for line in lines[3:14]]
    assert [row[0] for row in rows] == ["create"] * 11
    assert [row[2] for row in rows[-5:]] == list(NAMES)
    assert lines[14] == "Hetzner: 11 to create, 0 to change, 0 to delete."
    assert "ccx33 (8 dedicated vCPU, 32 GB) in fsn1, debian-13, 10.0.1.2, role=db-lb-monitor-redis" in result.stdout
    assert api.writes() == []


def test_apply_creates_the_fleet_records_it_and_a_second_apply_only_reads(api, state):
    first = provision("apply", INVENTORY, "--only", "servers", api=api, state=state)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("done: ") == 21  # 11 resources, plus attach and power on for each server
    assert first.stdout.rstrip().endswith("apply finished.")
    recorded = json.loads(state.read_text())
    assert recorded["fleet"] == "hachyderm"
    assert {name: server["private_address"] for name, server in recorded["servers"].items()} == {
        name: f"10.0.1.{index}" for index, name in enumerate(NAMES, 2)
    }
    assert {server["public_address"] for server in recorded["servers"].values()} == {
        server["public_net"]["ipv4"]["ip"] for server in api.servers.values()
    }
    writes_before = len(api.writes())
    requests_before = len(api.requests)

    second = provision("apply", INVENTORY, "--only", "servers", api=api, state=state)
    assert second.returncode == 0, second.stderr
    assert "  nothing to change\nHetzner: 0 to create, 0 to change, 0 to delete." in second.stdout
    assert len(api.writes()) == writes_before
    assert {request.method for request in api.requests[requests_before:]} == {"GET"}


def test_apply_refuses_to_start_when_a_name_is_taken_outside_the_fleet(api, state):
    api.add_server("esme", labels={})
    result = provision("apply", INVENTORY, "--only", "servers", api=api, state=state)
    assert result.returncode == 1
    assert "cannot be done, apply refuses to start:" in result.stdout
    assert "esme: server: a server named esme exists in this project but is not fleet hachyderm's" in result.stdout
    assert "nothing was changed: resolve the conflicts above first" in result.stderr
    assert api.writes() == []


def test_a_failure_part_way_is_reported_and_recorded(api, state):
    api.make_unorderable("ccx33", "fsn1")
    result = provision("apply", INVENTORY, "--only", "servers", api=api, state=state)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "mastofleet: apply stopped: create server nixie: Hetzner cannot provide this right now"
    )
    assert "failed (1):\n  - create server nixie\nnot attempted (14):" in result.stderr
    assert "what exists now stays; fix the cause and run `mastofleet provision apply` again to finish" in result.stderr
    assert json.loads(state.read_text())["servers"] == {}  # nixie failed first: no server was created


def test_a_retired_server_type_is_refused_before_anything_changes(api, state, tmp_path):
    project = tmp_path / "project"
    for directory in ("group_data", "inventories", "secrets"):
        shutil.copytree(REPO / directory, project / directory)
    inventory = project / INVENTORY
    inventory.write_text(inventory.read_text().replace('server_type="cpx22"', 'server_type="cx22"'))
    result = provision("plan", INVENTORY, api=api, state=state, cwd=project)
    assert result.returncode == 1
    assert "esme: server_type: cx22 cannot be ordered in fsn1 (deprecated since 2025-10-16" in result.stderr
    assert "-> use one available in fsn1: ccx13 (2 dedicated vCPU, 8 GB), " in result.stderr
    assert api.writes() == []


def test_without_a_token_the_command_says_how_to_get_one(state):
    state.write_text(json.dumps({"servers": {}}))
    result = provision("plan", INVENTORY, api=None, state=state, token=None)
    assert result.returncode == 2
    assert result.stderr.startswith("mastofleet: HCLOUD_TOKEN is not set: create one in the Hetzner Cloud Console")


def test_a_wrong_token_exits_2_and_is_never_printed(api, state):
    state.write_text(json.dumps({"servers": {}}))
    result = provision("plan", INVENTORY, api=api, state=state, token="not-the-token-5a5a")
    assert result.returncode == 2
    assert "refused the token in HCLOUD_TOKEN" in result.stderr and "(unauthorized)" in result.stderr
    assert "not-the-token-5a5a" not in result.stdout + result.stderr


def test_the_bucket_needs_its_keys_and_says_so_before_anything_changes(api, state):
    result = provision("apply", INVENTORY, api=api, state=state)
    assert result.returncode == 2
    assert "the media bucket needs the object storage keys" in result.stderr
    assert "--only servers" in result.stderr
    assert api.writes() == []


def test_destroy_asks_for_the_name_and_spares_what_is_not_the_fleets(api, state):
    assert provision("apply", INVENTORY, "--only", "servers", api=api, state=state).returncode == 0
    outsider = api.add_server("outsider", labels={"fleet": "someone-else"})
    volume = api.add_volume("pgdata", api.server_named("nixie")["id"], labels={"fleet": "hachyderm"})
    writes = len(api.writes())

    refused = provision("destroy", INVENTORY, api=api, state=state, stdin="hachyderm-typo\n")
    assert refused.returncode == 1
    assert "not confirmed: nothing was deleted" in refused.stderr
    assert len(api.writes()) == writes

    done = provision("destroy", INVENTORY, api=api, state=state, stdin="hachyderm\n")
    assert done.returncode == 0, done.stderr
    assert "kept: volume pgdata (100 GB): volumes are never deleted; it stays, detached" in done.stdout
    assert "kept: bucket hachyderm-media: buckets are never deleted by destroy" in done.stdout
    assert [server["name"] for server in api.servers.values()] == ["outsider"]
    assert api.servers[outsider]["labels"] == {"fleet": "someone-else"}
    assert api.volumes[volume]["server"] is None
    assert (api.networks, api.firewalls, api.placement_groups, api.ssh_keys) == ({}, {}, {}, {})
    assert {request.method for request in api.writes()[writes:]} == {"DELETE"}
    assert json.loads(state.read_text())["servers"] == {}


def test_the_bucket_part_prints_the_values_the_app_is_configured_with(state, tmp_path):
    """The store is moto's S3 server on loopback (Spaces itself needs keys and the internet)."""
    from moto.server import ThreadedMotoServer

    from mastofleet.plan.files import SecretValues
    from mastofleet.project.fleet import load_fleet
    from mastofleet.views.environment import render_environment

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        state.write_text(json.dumps({"servers": {}}))
        keys = {
            "MASTOFLEET_OBJECT_STORAGE_ENDPOINT": f"http://{host}:{port}",
            "MASTOFLEET_SECRET_OBJECT_STORAGE_ACCESS_KEY": "test-access-key",
            "MASTOFLEET_SECRET_OBJECT_STORAGE_SECRET_KEY": "test-secret-key",
        }
        applied = provision("apply", INVENTORY, "--only", "bucket", api=None, state=state, token=None, extra=keys)
        again = provision("plan", INVENTORY, "--only", "bucket", api=None, state=state, token=None, extra=keys)
    finally:
        server.stop()
    assert applied.returncode == 0, applied.stderr
    assert "done: create bucket hachyderm-media\ndone: create bucket policy hachyderm-media" in applied.stdout
    assert again.returncode == 0 and "  nothing to change\n" in again.stdout
    fleet, _ = load_fleet(str(REPO / INVENTORY))
    environment = render_environment(fleet, SecretValues()).splitlines()
    wanted = [
        line
        for line in environment
        if line.split("=")[0] in ("S3_ENDPOINT", "S3_HOSTNAME", "S3_REGION", "S3_BUCKET", "S3_ALIAS_HOST")
    ]
    assert len(wanted) == 5
    printed = again.stdout.split("the app's configuration (.env.production on every app host):\n")[1].splitlines()[:5]
    assert [line.strip() for line in printed] == wanted
