"""Sidekiq on app hosts: exactly the model's processes, each a sandboxed unit with its `-c` threads
and `-q queue,weight` list, and a job on each of Mastodon's queues performed by a process the model
assigned that queue to (pushed through nginx, read back from the stand-in's record of who ran it)."""

from __future__ import annotations

import time

import pytest
from infra_support import (
    RUN_TOKEN,
    Site,
    Target,
    assert_active_and_enabled,
    assert_files_as_rendered,
    assert_sandboxed,
    exec_start_argv,
    unit_environment,
)

from mastofleet.deploys import sidekiq
from mastofleet.deploys.units import SYSTEMD_DIRECTORY
from mastofleet.model import Fleet, SidekiqProcess
from mastofleet.model.queues import QUEUES
from mastofleet.plan.files import SecretValues

JOB_TIMEOUT_SECONDS = 20.0


def test_sidekiq_service(sidekiq_process: tuple[Target, SidekiqProcess]) -> None:
    target, process = sidekiq_process
    assert_active_and_enabled(target, [process.unit])


def test_sidekiq_command_line_is_the_models(sidekiq_process: tuple[Target, SidekiqProcess]) -> None:
    """ExecStart runs `sidekiq -c THREADS -t SHUTDOWN -q queue,weight ...` in the model's order; DB_POOL
    >= threads; systemd waits longer than Sidekiq's own shutdown before it kills."""
    target, process = sidekiq_process
    argv = exec_start_argv(target, process.unit)
    assert "sidekiq" in argv, f"{target.name}: {process.unit} runs {argv}"
    options = argv[argv.index("sidekiq") + 1 :]
    wanted = ["-c", str(process.threads), "-t", str(process.shutdown_seconds)]
    for queue in process.queues:
        wanted += ["-q", f"{queue.name},{queue.weight}"]
    assert options == wanted, f"{target.name}: {process.unit}"
    assert unit_environment(target, process.unit).get("DB_POOL") == str(process.pool)
    stop = target.output(f"systemctl show -P TimeoutStopUSec {process.unit}").strip()
    assert stop == f"{process.stop_timeout_seconds}s", f"{target.name}: {process.unit} stops within {stop}"


def test_sidekiq_sandbox(sidekiq_process: tuple[Target, SidekiqProcess], fleet: Fleet) -> None:
    target, process = sidekiq_process
    assert_sandboxed(target, process.unit, fleet.instance.user)


def test_sidekiq_units_are_exactly_the_models(app_host: Target, fleet: Fleet) -> None:
    """No unit file and no loaded unit beyond the model's processes (a moved process leaves none)."""
    wanted = {process.unit for process in app_host.model.sidekiq}
    files = set(
        app_host.output(f"cd {SYSTEMD_DIRECTORY} && ls -1 mastodon-sidekiq-*.service 2>/dev/null || true").split()
    )
    assert files == wanted, f"{app_host.name}: unit files {sorted(files)}"
    loaded = app_host.output("systemctl list-units --all --plain --no-legend 'mastodon-sidekiq-*' | awk '{print $1}'")
    assert set(loaded.split()) == wanted, f"{app_host.name}: loaded units {sorted(loaded.split())}"


def test_sidekiq_unit_files(sidekiq_process: tuple[Target, SidekiqProcess], fleet: Fleet) -> None:
    target, process = sidekiq_process
    rendered = [
        item for item in sidekiq.files_for(fleet, target.model, SecretValues()) if item.path.endswith(process.unit)
    ]
    assert_files_as_rendered(target, rendered)


@pytest.fixture(scope="module")
def performed_jobs(site: Site) -> dict[str, list[dict]]:
    """One job per queue, pushed at once through nginx; {queue: rows of who performed it}."""
    tokens = {queue: f"infra-{RUN_TOKEN}-{queue}" for queue in QUEUES}
    for queue, token in tokens.items():
        answer = site.post("/standin/enqueue", params={"queue": queue, "token": token})
        assert answer.status_code == 200, f"enqueue on {queue}: {answer.status_code} {answer.text[:200]}"
    rows: dict[str, list[dict]] = {}
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while len(rows) < len(tokens) and time.monotonic() < deadline:
        for queue, token in tokens.items():
            if queue in rows:
                continue
            answer = site.get(f"/standin/jobs/{token}")
            if answer.status_code == 200 and answer.json():
                rows[queue] = answer.json()
        time.sleep(0.3)
    time.sleep(0.5)  # a job performed twice would show up now
    for queue in rows:
        rows[queue] = site.get(f"/standin/jobs/{tokens[queue]}").json()
    return rows


def test_job_on_each_queue_runs_where_the_model_says(queue: str, performed_jobs, fleet: Fleet) -> None:  # type: ignore[no-untyped-def]
    rows = performed_jobs.get(queue)
    assert rows, f"no Sidekiq process performed the job on '{queue}' within {JOB_TIMEOUT_SECONDS:.0f} s"
    assert len(rows) == 1, f"the job on '{queue}' ran {len(rows)} times: {rows}"
    row = rows[0]
    assert row["queue"] == queue
    listeners = {
        host.name: [process for process in host.sidekiq if queue in process.queue_names] for host in fleet.app_hosts
    }
    listeners = {name: processes for name, processes in listeners.items() if processes}
    assert row["host"] in listeners, f"'{queue}' ran on {row['host']}; the model puts it on {sorted(listeners)}"
    performed_by = set(row["process_queues"].split(","))
    candidates = [sorted(process.queue_names) for process in listeners[row["host"]]]
    assert sorted(performed_by) in candidates, (
        f"'{queue}' ran on {row['host']} in a process listening on {sorted(performed_by)}; "
        f"the model's processes there with '{queue}': {candidates}"
    )
