"""`mastofleet backup now | list | restore --to TIME`: the fleet's backups, run on the db host over SSH.

`now` takes a pgBackRest backup (and uploads the Redis dump and secrets file) and prints how long it
took and how large it is; `list` shows what the bucket holds; `restore` brings the db host, fresh or
damaged, to a point in time: what writes stops first (web, streaming and Sidekiq on every app host),
the free space is checked against the backup's size, and then, as a unit of its own on the db host
(it goes on if the operator's SSH session drops), PostgreSQL and PgBouncer stop, the old data
directory is kept aside, pgBackRest restores the last backup before that point and replays the
archived WAL up to it, and the database is promoted and started again; then the application starts.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from mastofleet.deploys import backup
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.problems import InventoryError
from mastofleet.project.fleet import fleet_host_name, load_fleet
from mastofleet.quoting import shell, shell_words
from mastofleet.remote.session import Remote, connected, logs_in_as_root
from mastofleet.remote.ssh_client import ssh_client
from mastofleet.views.application_units import application_units
from mastofleet.views.report import table

BACKUP_TYPES = ("full", "diff", "incr")
HOUR = 3600  # seconds a backup, an upload or a restore may take


def _remote(fleet: Fleet, inventory: Any, role: Role) -> Remote:
    host = fleet.with_role(role)[0]
    data = next(item for item in inventory if fleet_host_name(item.name) == host.name).data.dict()
    return Remote(host.name, ssh_client(data), sudo=not logs_in_as_root(data))


def _loaded(inventory_path: str) -> tuple[Fleet, Any]:
    fleet, inventory = load_fleet(inventory_path)
    if fleet.backup is None:
        raise InventoryError(f"{inventory_path}: the fleet has no backup section; add `backup = {{...}}` to group_data")
    return fleet, inventory


def info(database: Remote, fleet: Fleet) -> dict:
    """pgBackRest's view of the stanza (backups, WAL range)."""
    output = database.run(
        f"pgbackrest --stanza={backup.stanza(fleet)} --output=json info", as_user="postgres", timeout=HOUR
    )
    stanzas = json.loads(output)
    return stanzas[0] if stanzas else {}


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def backups_table(stanza: dict) -> str:
    rows = []
    for item in stanza.get("backup", []):
        rows.append(
            [
                item["label"],
                item["type"],
                _time(item["timestamp"]["start"]),
                _time(item["timestamp"]["stop"]),
                _megabytes(item["info"]["size"]),
                _megabytes(item["info"]["repository"]["delta"]),
                f"{item['archive']['start']}..{item['archive']['stop']}",
            ]
        )
    archives = stanza.get("archive", [])
    wal = ", ".join(f"{archive['min']}..{archive['max']}" for archive in archives if archive.get("min")) or "none"
    header = ["label", "type", "started", "finished", "database", "stored", "WAL"]
    return table(header, rows) + f"\narchived WAL: {wal}\nstatus: {stanza.get('status', {}).get('message', '?')}"


def now(inventory_path: str, kind: str = "full") -> int:
    fleet, inventory = _loaded(inventory_path)
    if kind not in BACKUP_TYPES:
        raise InventoryError(f"--type {kind}: use one of {', '.join(BACKUP_TYPES)}")
    database = _remote(fleet, inventory, Role.db)
    started = time.monotonic()
    database.run(f"pgbackrest --stanza={backup.stanza(fleet)} --type={kind} backup", as_user="postgres", timeout=HOUR)
    seconds = time.monotonic() - started
    newest = info(database, fleet)["backup"][-1]
    print(
        f"{kind} backup {newest['label']} of {fleet.db_host.name}: {seconds:.1f} s, database"
        f" {_megabytes(newest['info']['size'])}, stored {_megabytes(newest['info']['repository']['delta'])}"
    )
    redis = _remote(fleet, inventory, Role.redis)
    redis.run(f"systemctl start {backup.FILES_UNIT}", timeout=HOUR)
    print(f"Redis dump and secrets file of {redis.name} uploaded to {fleet.backup.bucket}/files/")  # type: ignore[union-attr]
    return 0


def list_backups(inventory_path: str) -> int:
    fleet, inventory = _loaded(inventory_path)
    print(backups_table(info(_remote(fleet, inventory, Role.db), fleet)))
    return 0


def parse_target(text: str) -> str:
    """A restore point as pgBackRest takes it: `YYYY-MM-DD HH:MM:SS[.ffffff]+ZZ` (UTC when no zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InventoryError(
            f"--to {text!r}: not a time; write it like '2026-11-27 14:05:00+00:00' (UTC if no zone is given)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment > datetime.now(UTC):
        raise InventoryError(f"--to {text!r} is in the future")
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00")


RESTORE_SPACE_FACTOR = 1.2  # the restored data directory, and room for the WAL it replays


def restore_script(fleet: Fleet, target: str, stamp: str) -> str:
    version = fleet.postgres.version
    data = shell(backup.data_directory(fleet))
    cluster = shell(f"postgresql@{version}-main")
    kept = shell(f"{backup.data_directory(fleet)}.before-restore-{stamp}")
    pgbackrest = (
        f"pgbackrest --stanza={shell(backup.stanza(fleet))} --type=time --target={shell(target)}"
        " --target-action=promote restore"
    )
    return " && ".join(
        [
            "systemctl stop pgbouncer",
            f"systemctl stop {cluster}",
            f"if [ -d {data} ]; then mv {data} {kept}; fi",
            f"install -d -o postgres -g postgres -m 700 {data}",
            f"sudo -n -u postgres {pgbackrest}",
            f"systemctl start {cluster}",
            "for second in $(seq 1 900); do"
            " [ \"$(sudo -n -u postgres psql -XtAc 'SELECT pg_is_in_recovery()' 2>/dev/null)\" = f ] && break;"
            " sleep 1; done",
            "[ \"$(sudo -n -u postgres psql -XtAc 'SELECT pg_is_in_recovery()')\" = f ]",
            "systemctl start pgbouncer",
        ]
    )


def require_free_space(database: Remote, fleet: Fleet) -> None:
    """Refuse, before anything stops, when the db host cannot hold the restored data directory (the
    old one stays beside it)."""
    backups = info(database, fleet).get("backup", [])
    size = int(backups[-1]["info"]["size"]) if backups else 0
    parent = shell(str(PurePosixPath(backup.data_directory(fleet)).parent))
    free = int(database.run(f"df --output=avail -B1 {parent} | tail -n 1").strip())
    needed = int(size * RESTORE_SPACE_FACTOR)
    if free < needed:
        raise InventoryError(
            f"{fleet.db_host.name} has {_megabytes(free)} free beside the data directory; the restore needs about"
            f" {_megabytes(needed)} (the backup's {_megabytes(size)} and room for WAL), and the old data directory"
            " is kept. Nothing was changed: free space (or move the kept copies of earlier restores away) first."
        )


def _application(fleet: Fleet, inventory: Any, action: str) -> None:
    """Start or stop what writes to the database, on every app host at once."""

    def one(host: Host) -> None:
        data = next(item for item in inventory if fleet_host_name(item.name) == host.name).data.dict()
        with connected(host.name, data) as remote:
            remote.run(f"systemctl {shell(action)} {shell_words(*application_units(host))}", timeout=300)

    with ThreadPoolExecutor(max_workers=max(1, len(fleet.app_hosts))) as pool:
        list(pool.map(one, fleet.app_hosts))


def restore(inventory_path: str, to: str, confirmed: bool) -> int:
    fleet, inventory = _loaded(inventory_path)
    target = parse_target(to)
    if not confirmed:
        raise InventoryError(
            f"restore replaces the database on {fleet.db_host.name} with its state at {target}:"
            " run again with --yes to go ahead (the current data directory is kept aside)"
        )
    database = _remote(fleet, inventory, Role.db)
    require_free_space(database, fleet)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    started = time.monotonic()
    _application(fleet, inventory, "stop")
    print(f"stopped web, streaming and Sidekiq on {', '.join(host.name for host in fleet.app_hosts)}")
    # A unit of its own: the restore goes on (and ends cleanly) if this SSH session drops.
    unit = f"mastofleet-restore-{stamp}"
    database.run(
        f"systemd-run --quiet --unit={shell(unit)} --property=Type=oneshot --wait --pipe --collect"
        f" sh -c {shell(restore_script(fleet, target, stamp))}",
        timeout=HOUR,
    )
    seconds = time.monotonic() - started
    _application(fleet, inventory, "start")
    print(f"restored {fleet.db_host.name} to {target} in {seconds:.1f} s (unit {unit}); the application is started")
    print(
        f"the replaced data directory (if any) is kept as {backup.data_directory(fleet)}.before-restore-{stamp}:"
        " remove it when satisfied; take a full backup now (`mastofleet backup now`): the database is on a new timeline"
    )
    replicas = fleet.with_role(Role.db_replica)
    if replicas:
        print(
            f"read replicas ({', '.join(host.name for host in replicas)}) are on the old timeline, past the restore"
            " point, and cannot follow the restored primary: rebuild each (stop PostgreSQL there, remove its data"
            " directory, then deploy: an empty replica is built from the primary)"
        )
    return 0
