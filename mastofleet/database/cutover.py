"""`mastofleet cutover INVENTORY`: the db host, a streaming replica of the old primary, becomes the
fleet's primary in one short maintenance window, with nothing written to the old primary lost.

Before anything changes the guardrails look at replication, lag, versions and disk (and print the
figures); then, with a confirmation, each step in turn:

1. maintenance: nginx on every lb serves 503 with Retry-After (streaming too);
2. stop web, streaming and Sidekiq on every app host;
3. fence the old primary: the application's role may no longer log in, default_transaction_read_only
   on, every client session ended (a session that says BEGIN READ WRITE is one of them);
4. wait until the db host has replayed the old primary's WAL up to a position that has stopped
   moving (LSN equal, read again after it was reached), or stop;
5. promote the db host (pg_promote); from here the record says it is the primary;
6. run the pending migrations on it, straight to PostgreSQL;
7. deploy the app hosts: `.env.production` points at the new primary, processes start;
8. lift maintenance once every app host answers its health checks;
9. deploy the whole fleet (the db host converges as a primary), drop the old primary's slot.

Each step is written to the record (`database_migration.record_file`) when done, with its time and
figures; run the command again after a stop and it resumes at the step that did not finish, or
`mastofleet cutover --abort` goes back: the old primary unfenced, the application started against
it, maintenance lifted (refused once the db host was promoted). The old primary is fenced before
the wait, so nothing can write to both; it is read-only, not stopped, so what it holds can still be
compared.
"""

from __future__ import annotations

import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mastofleet.database import guardrails
from mastofleet.database.queries import Hosts, lsn_bytes, server_state
from mastofleet.database.replication_status import size
from mastofleet.deploys import nginx
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.database import DatabaseMigration
from mastofleet.project.cutover_record import now, read_record, write_record
from mastofleet.project.fleet import load_fleet, project_directory
from mastofleet.quoting import as_user_command, shell, sql_identifier, sql_literal
from mastofleet.remote import RemoteError
from mastofleet.runtime.pyinfra_deploy import run_deploy
from mastofleet.runtime.rollout import health_check_command
from mastofleet.views.application_units import application_units
from mastofleet.views.replication import slot_name


class CutoverError(Exception):
    """The cutover cannot start or go on; the message says where it stands and what to do."""


@dataclass
class Run:
    """One run of the cutover: the fleet, how to reach its hosts, and the record being written."""

    fleet: Fleet
    inventory_path: str
    project: str
    hosts: Hosts
    record: dict[str, Any]
    say: Callable[[str], None] = print

    def save(self) -> None:
        write_record(self.fleet, self.project, self.record)

    @property
    def target(self) -> Host:
        return self.fleet.db_host


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    action: Callable[[Run], dict[str, Any]]
    fenced: bool = False  # after this step the old primary is read-only
    promoted: bool = False  # after this step the db host is the primary


# --- the steps -------------------------------------------------------------------------------------


def _balancers(run: Run) -> list[Host]:
    return run.fleet.with_role(Role.lb)


def site_status(address: str, domain: str) -> int:
    """The status of https://ADDRESS/health for the site's domain (0 when there is no answer)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the answer's status matters here, not who signed the certificate
    request = urllib.request.Request(f"https://{address}/health", headers={"Host": domain})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return 0


def _site_statuses(run: Run, wanted: int, seconds: float = 15) -> dict[str, int]:
    """/health's status through each balancer, asked until it is `wanted` (nginx's reload returns
    before its old workers have stopped taking connections) or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        statuses = {}
        for balancer in _balancers(run):
            address = run.hosts.by_name[balancer.name].get("ssh_hostname") or str(balancer.private_address)
            statuses[balancer.name] = site_status(address, run.fleet.instance.site_domain)
        if set(statuses.values()) == {wanted} or time.monotonic() > deadline:
            return statuses
        time.sleep(0.2)


def maintenance(run: Run) -> dict[str, Any]:
    run.record.setdefault("window", {}).setdefault("started", time.time())  # a resumed run keeps the first start
    run.save()
    for balancer in _balancers(run):
        with run.hosts.host(balancer.name) as remote:
            remote.run(
                f"test -f {nginx.MAINTENANCE} || {{ echo 'no maintenance page here: deploy the fleet once first' >&2;"
                " exit 1; }"
            )
            remote.run(nginx.switch_variant_command(nginx.MAINTENANCE))
    statuses = _site_statuses(run, 503)
    if set(statuses.values()) != {503}:
        raise CutoverError(f"the site does not answer 503 in maintenance: /health via {statuses}")
    return {"balancers": [balancer.name for balancer in _balancers(run)]}


def _on_app_hosts(run: Run, command: Callable[[Host], str]) -> None:
    def one(host: Host) -> None:
        with run.hosts.host(host.name) as remote:
            remote.run(command(host), timeout=300)

    with ThreadPoolExecutor(max_workers=max(1, len(run.fleet.app_hosts))) as pool:
        list(pool.map(one, run.fleet.app_hosts))


def stop_application(run: Run) -> dict[str, Any]:
    def stop(host: Host) -> str:
        units = " ".join(application_units(host))
        # is-active prints one state per unit; any line but "inactive"/"failed" means still running
        return f"systemctl stop {units}; ! systemctl is-active {units} | grep -qvx -e inactive -e failed"

    _on_app_hosts(run, stop)
    return {"app_hosts": [host.name for host in run.fleet.app_hosts]}


FENCE_WAIT_SECONDS = 10  # for the ended sessions to be gone


def fence(run: Run) -> dict[str, Any]:
    """No new login of the application's role, read-only by default, then every client session ended:
    `default_transaction_read_only` alone can be overridden by a session (BEGIN READ WRITE)."""
    role = run.fleet.postgres.user
    with run.hosts.old_primary() as source:
        # (BEGIN READ WRITE: a fence resumed after a stop finds the server read-only already)
        source.psql(f"BEGIN READ WRITE; ALTER ROLE {sql_identifier(role)} NOLOGIN; COMMIT")
        source.psql("ALTER SYSTEM SET default_transaction_read_only = on")
        source.psql("SELECT pg_reload_conf()")
        ended = source.value(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        if not server_state(source).read_only:
            raise CutoverError("the old primary still says default_transaction_read_only = off after a reload")
        if source.value(f"SELECT rolcanlogin FROM pg_roles WHERE rolname = {sql_literal(role)}") != "f":
            raise CutoverError(f"the role {role} can still log in to the old primary")
        # pg_terminate_backend only signals: the sessions end a moment later
        sessions = f"SELECT count(*) FROM pg_stat_activity WHERE usename = {sql_literal(role)}"
        deadline = time.monotonic() + FENCE_WAIT_SECONDS
        while (left := source.value(sessions)) not in ("", "0") and time.monotonic() < deadline:
            time.sleep(0.1)
        if left not in ("", "0"):
            raise CutoverError(
                f"{left} sessions of {role} are still open on the old primary {FENCE_WAIT_SECONDS} s after they were ended"
            )
    return {"sessions_ended": int(ended or 0), "logins_refused_for": role}


def unfence(run: Run) -> None:
    """The old primary takes writes and the application's logins again (an aborted cutover)."""
    with run.hosts.old_primary() as source:
        source.psql(f"BEGIN READ WRITE; ALTER ROLE {sql_identifier(run.fleet.postgres.user)} LOGIN; COMMIT")
        source.psql("ALTER SYSTEM RESET default_transaction_read_only")
        source.psql("SELECT pg_reload_conf()")
        if server_state(source).read_only:
            raise CutoverError("the old primary still says default_transaction_read_only = on after a reload")


def catch_up(run: Run) -> dict[str, Any]:
    migration = run.fleet.database_migration
    assert migration is not None
    started = time.monotonic()
    with run.hosts.old_primary() as source, run.hosts.host(run.target.name) as replica:
        end = source.value("SELECT pg_current_wal_lsn()")
        first = replica.value("SELECT pg_last_wal_replay_lsn()") or "0/0"
        replayed = first
        while True:
            if lsn_bytes(replayed) >= lsn_bytes(end):
                # Reached: but only a position that has stopped moving is the end (a write that got in
                # after the first read would otherwise be lost at the promote).
                time.sleep(0.5)
                again = source.value("SELECT pg_current_wal_lsn()")
                if again == end:
                    break
                end = again
            if time.monotonic() - started > migration.catch_up_timeout:
                raise CutoverError(
                    f"after {migration.catch_up_timeout} s {run.target.name} has replayed up to {replayed}, but the"
                    f" old primary's WAL ends at {end} ({size(lsn_bytes(end) - lsn_bytes(replayed))} behind): not"
                    " equal, so it is not promoted. Look at `mastofleet db status` (is it streaming, is replay"
                    " paused?)"
                )
            time.sleep(0.1)
            replayed = replica.value("SELECT pg_last_wal_replay_lsn()") or "0/0"
    seconds = time.monotonic() - started
    return {
        "old_primary_lsn": end,
        "replayed_lsn": replayed,
        "behind_bytes": lsn_bytes(end) - lsn_bytes(first),
        "seconds": round(seconds, 3),
    }


def promote(run: Run) -> dict[str, Any]:
    with run.hosts.host(run.target.name) as replica:
        if server_state(replica).in_recovery and replica.value("SELECT pg_promote(true, 60)") != "t":
            raise CutoverError(f"pg_promote on {run.target.name} did not finish within 60 s")
        state = server_state(replica)
        if state.in_recovery:
            raise CutoverError(f"{run.target.name} is still in recovery after pg_promote")
        # The fence's NOLOGIN came over with the WAL: the new primary takes the application again.
        replica.psql(f"BEGIN READ WRITE; ALTER ROLE {sql_identifier(run.fleet.postgres.user)} LOGIN; COMMIT")
    run.record["promoted"] = True  # from now on the fleet's db host is its primary, for every command
    run.save()
    return {"lsn": state.position}


def migrate(run: Run) -> dict[str, Any]:
    instance = run.fleet.instance
    address, port = str(run.target.private_address), run.fleet.postgres.port
    first = run.fleet.app_hosts[0]
    with run.hosts.host(first.name) as remote:
        script = f"env RAILS_ENV=production DB_HOST={shell(address)} DB_PORT={int(port)} bin/rails db:migrate"
        output = remote.run(as_user_command(instance.user, script, instance.live_directory), timeout=3600)
    return {"host": first.name, "migrations": sum(1 for line in output.splitlines() if line.endswith(": migrating"))}


def _deploy(run: Run, limit: list[str]) -> None:
    code = run_deploy(run.inventory_path, [], limit)
    if code != 0:
        raise CutoverError(f"the deploy{' of ' + ', '.join(limit) if limit else ''} failed (pyinfra exit {code})")


def repoint(run: Run) -> dict[str, Any]:
    _deploy(run, [Role.app.value])
    return {}


def lift(run: Run) -> dict[str, Any]:
    for host in nginx.balanced_hosts(run.fleet):
        with run.hosts.host(host.name) as remote:  # as the rollout does: each host asks its own processes
            remote.run(health_check_command(host, timeout=120, fleet=run.fleet), timeout=180)
    for balancer in _balancers(run):
        with run.hosts.host(balancer.name) as remote:
            remote.run(nginx.switch_variant_command(nginx.SERVING))
    run.record["window"]["ended"] = time.time()
    statuses = _site_statuses(run, 200)
    if set(statuses.values()) != {200}:
        raise CutoverError(f"the site does not answer 200 after maintenance was lifted: /health via {statuses}")
    return {"window_seconds": round(run.record["window"]["ended"] - run.record["window"]["started"], 1)}


def converge(run: Run) -> dict[str, Any]:
    _deploy(run, [])
    slot = slot_name(run.target)
    with run.hosts.old_primary() as source:
        # the slot would keep WAL on the old primary for a replica that is now a primary
        for _ in range(10):
            source.psql(
                "BEGIN READ WRITE; SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                f" WHERE slot_name = {sql_literal(slot)} AND NOT active; COMMIT"
            )
            if not source.value(f"SELECT 1 FROM pg_replication_slots WHERE slot_name = {sql_literal(slot)}"):
                break
            time.sleep(1)
        else:
            raise CutoverError(f"the slot {slot} on the old primary stays active")
    return {"old_slot_dropped": slot}


STEPS = (
    Step("maintenance", "put the site in maintenance (503 with Retry-After, streaming closed)", maintenance),
    Step("stop_application", "stop web, streaming and Sidekiq on every app host", stop_application),
    Step("fence", "fence the old primary (read-only, its sessions ended)", fence, fenced=True),
    Step("catch_up", "wait until the db host has replayed the old primary's last WAL (LSN equal)", catch_up),
    Step("promote", "promote the db host to be the primary", promote, promoted=True),
    Step("migrate", "run the pending migrations on the new primary", migrate),
    Step("repoint", "deploy the app hosts: the new primary in .env.production, processes started", repoint),
    Step("lift", "lift maintenance once every app host answers its health checks", lift),
    Step("converge", "deploy the whole fleet, drop the old primary's slot", converge),
)


# --- the command -----------------------------------------------------------------------------------


def where_it_stands(steps: tuple[Step, ...], done: set[str], stopped: Step | None = None) -> str:
    """The fleet's state for the operator: what the finished steps did, and that the stopped one may
    have done part of its work (each step may run again)."""
    partly = f" The step that stopped ({stopped.description}) may have done part of its work." if stopped else ""
    if any(step.promoted and step.name in done for step in steps):
        return "The db host is the primary now (the record says so, and deploys treat it so)." + partly
    if any(step.fenced and step.name in done for step in steps):
        return "The site is in maintenance and the old primary is read-only; the db host is still its replica." + partly
    if done:
        return "The site is in maintenance; the old primary still takes writes." + partly
    return "No step finished." + partly if stopped else "Nothing was changed."


def confirm(run: Run, assume_yes: bool) -> None:
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise CutoverError("it asks for a confirmation: run it in a terminal, or pass --yes. Nothing was changed.")
    migration = run.fleet.database_migration
    assert migration is not None
    name = run.target.name
    typed = input(
        f"The site goes into maintenance, the old primary {migration.endpoint} becomes read-only and {name} is"
        f" promoted. Type {name} to go on: "
    )
    if typed.strip() != name:
        raise CutoverError("not confirmed. Nothing was changed.")


def _pending(record: dict[str, Any], steps: tuple[Step, ...]) -> list[Step]:
    done = {name for name, facts in record.get("steps", {}).items() if facts.get("done")}
    return [step for step in steps if step.name not in done]


def check_guardrails(run: Run) -> None:
    migration = run.fleet.database_migration
    assert migration is not None
    try:
        figures = guardrails.gather(run.fleet, run.hosts)
    except RemoteError as error:
        raise CutoverError(f"refusing to cut over: {error}. Nothing was changed.") from error
    for line in guardrails.describe(figures, migration):
        run.say(f"  {line}")
    reasons = guardrails.refusals(figures, migration, run.fleet.postgres.version)
    if reasons:
        raise CutoverError(
            "refusing to cut over, nothing was changed:\n" + "\n".join(f"  - {reason}" for reason in reasons)
        )
    run.record["guardrails"] = {
        "lag_bytes": [sample.lag for sample in figures.samples],
        "replay_rate_bytes_per_second": round(figures.replay_rate),
        "free_bytes": figures.free_bytes,
        "data_bytes": figures.data_bytes,
        "source_version": figures.source.version,
        "target_version": figures.replica.version,
    }


def summary(record: dict[str, Any]) -> list[str]:
    lines = []
    window = record.get("window", {})
    if window.get("started") and window.get("ended"):
        lines.append(f"maintenance window: {window['ended'] - window['started']:.1f} s")
    caught = record.get("steps", {}).get("catch_up", {})
    if "behind_bytes" in caught:
        rate = caught["behind_bytes"] / caught["seconds"] if caught["seconds"] else 0.0
        lines.append(
            f"catch-up after the fence: {size(caught['behind_bytes'])} replayed in {caught['seconds']:.2f} s"
            f" ({rate / 1e6:.2f} MB/s); LSN {caught['replayed_lsn']} = old primary's {caught['old_primary_lsn']}"
        )
    checked = record.get("guardrails")
    if checked:
        lines.append(f"replay rate before the cutover: {checked['replay_rate_bytes_per_second'] / 1e6:.2f} MB/s")
    for name, facts in record.get("steps", {}).items():
        lines.append(f"  {name}: {facts.get('seconds_taken', 0):.1f} s")
    return lines


def _load(inventory_path: str, without_migration: str) -> tuple[Fleet, Any, DatabaseMigration, str, dict[str, Any]]:
    """The fleet, its inventory, its migration section, the project and the cutover's record."""
    fleet, inventory = load_fleet(inventory_path)
    migration = fleet.database_migration
    if migration is None:
        raise CutoverError(f"the fleet has no database_migration section: {without_migration}")
    project = project_directory(inventory_path)
    record = read_record(fleet, project) or {"steps": {}}
    record.setdefault("steps", {})
    return fleet, inventory, migration, project, record


def abort(inventory_path: str) -> int:
    """Go back from a stopped cutover, whatever step it stopped at before the promote: the old primary
    unfenced, the application started against it (the model still points there), maintenance lifted.
    Refused once the db host was promoted: from then on the only way is on."""
    fleet, inventory, migration, project, record = _load(inventory_path, "there is no cutover to abort")
    if record.get("finished"):
        raise CutoverError(f"the cutover finished at {record['finished']}: there is nothing to abort")
    if record.get("promoted"):
        raise CutoverError(
            f"{fleet.db_host.name} was promoted: it may hold what the old primary never saw, so there is no way"
            f" back to {migration.endpoint} without losing it. Nothing was changed. Go on instead:"
            f" `mastofleet cutover {inventory_path}` resumes at the step that stopped."
        )
    done = {name for name, facts in record.get("steps", {}).items() if facts.get("done")}
    if not done and "stopped" not in record:
        raise CutoverError("no cutover is under way: nothing to abort. Nothing was changed.")
    run = Run(fleet, inventory_path, project, Hosts(fleet, inventory), record)
    run.say(f"aborting the cutover from {migration.endpoint} ({where_it_stands(STEPS, done)})")
    unfence(run)
    run.say("  the old primary takes writes and the application's logins again")

    def start(host: Host) -> str:
        return f"systemctl start {' '.join(application_units(host))}"

    _on_app_hosts(run, start)
    run.say("  web, streaming and Sidekiq started on every app host")
    run.record.setdefault("window", {}).setdefault("started", time.time())
    lift(run)
    run.say("  maintenance lifted: the site serves from the old primary")
    aborted = [*record.get("aborted", []), {"at": now(), "steps": record.get("steps", {})}]
    run.record.clear()
    run.record.update({"steps": {}, "aborted": aborted})
    run.save()
    run.say(f"cutover aborted; `mastofleet cutover {inventory_path}` starts again from the checks")
    return 0


def cutover(inventory_path: str, assume_yes: bool = False, steps: tuple[Step, ...] = STEPS) -> int:
    fleet, inventory, migration, project, record = _load(inventory_path, "there is no old primary to cut over from")
    run = Run(fleet, inventory_path, project, Hosts(fleet, inventory), record)
    if record.get("finished"):
        run.say(f"the cutover from {migration.endpoint} finished at {record['finished']}:")
        for line in summary(record):
            run.say(line)
        return 0
    if not migration.enabled and not record.get("promoted"):
        raise CutoverError("database_migration.enabled is false: the fleet does not replicate from the old primary")
    pending = _pending(record, steps)
    done = {step.name for step in steps} - {step.name for step in pending}
    if not done:
        run.say(f"checking before the cutover from {migration.endpoint} to {run.target.name}:")
        check_guardrails(run)
    else:
        run.say(f"resuming the cutover at: {pending[0].description} ({where_it_stands(steps, done)})")
    confirm(run, assume_yes)
    for step in pending:
        number = steps.index(step) + 1
        run.say(f"[{number}/{len(steps)}] {step.description} ...")
        started = time.monotonic()
        try:
            facts = step.action(run)
        except (RemoteError, CutoverError) as error:
            done = {name for name, facts in run.record["steps"].items() if facts.get("done")}
            run.record["stopped"] = {"step": step.name, "error": str(error), "at": now()}
            run.save()
            raise CutoverError(
                f"stopped at step {number} ({step.description}): {error}\n{where_it_stands(steps, done, step)}"
                f" Fix the cause, then run `mastofleet cutover {inventory_path}` again: it resumes at this step."
            ) from error
        seconds = time.monotonic() - started
        run.record["steps"][step.name] = {"done": now(), "seconds_taken": round(seconds, 3), **facts}
        run.record.pop("stopped", None)
        run.save()
        figures = ", ".join(f"{key} {value}" for key, value in facts.items())
        run.say(f"[{number}/{len(steps)}] done in {seconds:.1f} s" + (f" ({figures})" if figures else ""))
    run.record["finished"] = now()
    run.save()
    run.say(f"cutover from {migration.endpoint} to {run.target.name} finished:")
    for line in summary(run.record):
        run.say(line)
    run.say("remove database_migration from group_data when you no longer need the record of it")
    return 0
