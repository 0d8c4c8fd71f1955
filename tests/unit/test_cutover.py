"""`mastofleet cutover` without hosts: the guardrails' decisions from figures, the run of its steps
(record, stop, resume, confirmation) with stand-in steps, and what deploys do while the site is in
maintenance (planned on `@fake` hosts).

The real steps talk to PostgreSQL, nginx and systemd over SSH; they run on the local fleet in
tests/fleet/test_database_cutover.py. Here each step is replaced by a function that records its call.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fleet_builder import default_fleet_data
from plans import SECRET_VALUES, plan_host
from test_deploy_plan import make_fake_project

from mastofleet.database import cutover as cutover_module
from mastofleet.database import guardrails
from mastofleet.database.cutover import CutoverError, Step, cutover
from mastofleet.database.guardrails import Figures, LagSample, refusals
from mastofleet.database.queries import Receiver, ServerState, Stream
from mastofleet.deploys import nginx
from mastofleet.model import DatabaseMigration
from mastofleet.model.secrets_reference import environment_variable
from mastofleet.project.fleet import load_fleet

MIGRATION = DatabaseMigration(source="10.0.9.5")
MIB = 1024 * 1024


def figures(**changes: object) -> Figures:
    healthy = {
        "target": "nixie",
        "source": ServerState(False, 170012, "17.12", "0/5000000", False),
        "replica": ServerState(True, 170012, "17.12", "0/4FFF000", False),
        "wal_receiver": Receiver("streaming", "10.0.9.5:5432", "mastofleet_nixie"),
        "stream": Stream("nixie", "10.0.1.2", "streaming", "0/4FFF000", 4096, 0.002, "mastofleet_nixie", 4096),
        "samples": [LagSample(0.0, 100 * MIB, 99 * MIB), LagSample(4.0, 104 * MIB, 104 * MIB)],
        "free_bytes": 50 * 1024 * MIB,
        "data_bytes": 1024 * MIB,
    }
    return Figures(**{**healthy, **changes})  # type: ignore[arg-type]


# --- the guardrails ----------------------------------------------------------------------------


def test_healthy_replication_may_be_cut_over() -> None:
    assert refusals(figures(), MIGRATION, 17) == []
    described = "\n".join(guardrails.describe(figures(), MIGRATION))
    assert "lag samples (1 s apart): 1.0 MB, 0 B (shrinking)" in described
    assert "replay rate 1.31 MB/s" in described  # 5 MiB replayed in 4 s


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"replica": ServerState(False, 170012, "17.12", "0/5000000", False)}, "nixie is not a standby"),
        ({"wal_receiver": Receiver("", "", "")}, "WAL receiver is 'not running', not streaming"),
        ({"wal_receiver": Receiver("streaming", "10.0.7.7:5432", "")}, "streams from 10.0.7.7:5432"),
        ({"stream": None}, "the old primary sees no connection from nixie"),
        (
            {"source": ServerState(False, 160004, "16.4", "0/5000000", False)},
            "incompatible versions: the old primary runs PostgreSQL 16.4, nixie 17.12, the fleet wants 17",
        ),
        (
            {"samples": [LagSample(0.0, 200 * MIB, 180 * MIB), LagSample(4.0, 230 * MIB, 190 * MIB)]},
            "the lag is not shrinking: 20.0 MB -> 40.0 MB over 4 s",
        ),
        ({"free_bytes": 512 * MIB}, "nixie has 512.0 MB free, the data needs 1.0 GB (1.0 GB x"),
    ],
    ids=["promoted", "no receiver", "other upstream", "no stream", "versions", "lag growing", "disk"],
)
def test_each_guardrail_refuses(changes: dict, reason: str) -> None:
    reasons = refusals(figures(**changes), MIGRATION, 17)
    assert len(reasons) == 1 and reason in reasons[0], reasons


def test_a_small_lag_may_grow_and_a_large_one_may_shrink() -> None:
    growing_small = [LagSample(0.0, 10 * MIB, 10 * MIB), LagSample(4.0, 12 * MIB, 11 * MIB)]
    shrinking_large = [LagSample(0.0, 300 * MIB, 200 * MIB), LagSample(4.0, 310 * MIB, 250 * MIB)]
    assert refusals(figures(samples=growing_small), MIGRATION, 17) == []
    assert refusals(figures(samples=shrinking_large), MIGRATION, 17) == []


def test_the_fleets_version_must_match_too() -> None:
    assert "the fleet wants 16" in refusals(figures(), MIGRATION, 16)[0]


# --- the run of the steps ------------------------------------------------------------------------


@pytest.fixture
def migrating_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake project with database_migration in group_data, every secret in MASTOFLEET_SECRET_*."""
    fake_project = make_fake_project(tmp_path)
    with (fake_project / "group_data" / "all.py").open("a") as data:
        data.write('\ndatabase_migration = {"source": "10.0.9.5"}\n')
    for name, value in {**SECRET_VALUES, "source_replication_password": "canary-source"}.items():
        monkeypatch.setenv(environment_variable(name), value)
    monkeypatch.chdir(fake_project)
    return fake_project


class Steps:
    """Stand-in steps that record their calls; `failing` fails once with a CutoverError."""

    def __init__(self, failing: str | None = None) -> None:
        self.calls: list[str] = []
        self.failing = failing

    def action(self, name: str):  # type: ignore[no-untyped-def]
        def act(run: cutover_module.Run) -> dict:
            self.calls.append(name)
            if name == self.failing:
                self.failing = None
                raise CutoverError("the db host is 3.0 MB behind")
            if name == "promote":
                run.record["promoted"] = True
            return {"figure": len(self.calls)}

        return act

    def steps(self) -> tuple[Step, ...]:
        return tuple(
            Step(name, f"step {name}", self.action(name), fenced=name == "fence", promoted=name == "promote")
            for name in ("maintenance", "fence", "catch_up", "promote", "lift")
        )


@pytest.fixture
def healthy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    asked: list[int] = []

    def gather(fleet, hosts, samples: int = 5):  # type: ignore[no-untyped-def]
        asked.append(1)
        return figures()

    monkeypatch.setattr(guardrails, "gather", gather)
    return asked


def record(project: Path) -> dict:
    return json.loads((project / "database-cutover.json").read_text())


def test_a_stopped_cutover_resumes_where_it_stopped(migrating_project: Path, healthy: list[int], capsys) -> None:  # type: ignore[no-untyped-def]
    steps = Steps(failing="catch_up")
    inventory = str(migrating_project / "inventory.py")
    with pytest.raises(CutoverError) as stopped:
        cutover(inventory, assume_yes=True, steps=steps.steps())
    message = str(stopped.value)
    assert message.startswith("stopped at step 3 (step catch_up): the db host is 3.0 MB behind")
    assert "the old primary is read-only; the db host is still its replica" in message
    assert "The step that stopped (step catch_up) may have done part of its work." in message
    assert f"run `mastofleet cutover {inventory}` again: it resumes at this step" in message
    assert steps.calls == ["maintenance", "fence", "catch_up"] and healthy == [1]
    written = record(migrating_project)
    assert sorted(written["steps"]) == ["fence", "maintenance"] and written["stopped"]["step"] == "catch_up"
    assert written["source"] == "10.0.9.5:5432" and not written.get("promoted")
    fleet, _ = load_fleet(inventory)
    assert fleet.migrating_database

    assert cutover(inventory, assume_yes=True, steps=steps.steps()) == 0
    assert steps.calls == ["maintenance", "fence", "catch_up", "catch_up", "promote", "lift"]
    assert healthy == [1], "the guardrails are asked only before anything changed"
    written = record(migrating_project)
    assert written["finished"] and written["promoted"] and "stopped" not in written
    assert list(written["steps"]) == ["maintenance", "fence", "catch_up", "promote", "lift"]
    assert "resuming the cutover at: step catch_up" in capsys.readouterr().out
    fleet, _ = load_fleet(inventory)
    assert not fleet.migrating_database, "after the promotion the db host is the primary for every command"

    assert cutover(inventory, assume_yes=True, steps=steps.steps()) == 0
    assert len(steps.calls) == 6, "a finished cutover only reports"
    assert "finished at" in capsys.readouterr().out


def test_broken_replication_changes_nothing(migrating_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guardrails, "gather", lambda fleet, hosts, samples=5: figures(stream=None))
    steps = Steps()
    with pytest.raises(CutoverError, match="refusing to cut over, nothing was changed:\n  - replication is broken"):
        cutover(str(migrating_project / "inventory.py"), assume_yes=True, steps=steps.steps())
    assert steps.calls == [] and not (migrating_project / "database-cutover.json").exists()


def test_the_cutover_asks_first(migrating_project: Path, healthy: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    steps = Steps()
    inventory = str(migrating_project / "inventory.py")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CutoverError, match="run it in a terminal, or pass --yes. Nothing was changed."):
        cutover(inventory, steps=steps.steps())
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    with pytest.raises(CutoverError, match="not confirmed. Nothing was changed."):
        cutover(inventory, steps=steps.steps())
    assert steps.calls == []
    monkeypatch.setattr("builtins.input", lambda prompt: "nixie")
    assert cutover(inventory, steps=steps.steps()) == 0
    assert steps.calls[0] == "maintenance"


def test_a_fleet_without_an_old_primary_has_nothing_to_cut_over(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_project = make_fake_project(tmp_path)
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(environment_variable(name), value)
    with pytest.raises(CutoverError, match="no database_migration section"):
        cutover(str(fake_project / "inventory.py"), assume_yes=True)


# --- deploys while the site is in maintenance ------------------------------------------------------

MAINTENANCE_LINK = {
    re.compile(rf"test -e {re.escape(nginx.CONFIGURATION)} "): (
        f"user=root group=root mode=lrwxrwxrwx atime=0 mtime=0 ctime=0 size=0 '{nginx.CONFIGURATION}'"
        f" -> '{nginx.MAINTENANCE}'"
    )
}


LINK = "nginx load balancer | Serve the site from its variant"


def test_a_deploy_keeps_the_site_in_maintenance_and_drains_no_host(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    plan = plan_host("nixie", hosts, common, {"nixie": MAINTENANCE_LINK})
    assert plan.commands(LINK) == [], "the link to the maintenance page stays"
    switches = [name for name in plan.names if "out of the balancer" in name or "back into the balancer" in name]
    assert switches and all(plan.commands(name) == [] for name in switches)


def test_a_deploy_out_of_maintenance_serves_the_site(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    plan = plan_host("nixie", hosts, common)
    assert any(nginx.SERVING in str(command) for command in plan.commands(LINK))
    switches = [name for name in plan.names if "out of the balancer" in name]
    assert any(nginx.drained_variant("freud") in str(command) for name in switches for command in plan.commands(name))
