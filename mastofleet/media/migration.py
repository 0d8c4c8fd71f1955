"""`mastofleet media status | verify | finish INVENTORY`: the migration's figures, computed on an edge host.

The edge host can reach both the old server and the bucket over the private network, so the
reports run there (`media_edge.report`, shipped by the deploy) and come back as JSON over SSH.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

from mastofleet.deploys.media_migration import CREDENTIALS_FILE, LIBRARY, SETTINGS_FILE
from mastofleet.model import Fleet, Role
from mastofleet.model.problems import FleetError, Problem
from mastofleet.project.fleet import fleet_host_name, load_fleet, project_directory
from mastofleet.project.media_record import finished, write_record
from mastofleet.remote import RemoteError, connected
from mastofleet.runtime.pyinfra_deploy import run_deploy


def edge_report(fleet: Fleet, inventory: Any, what: str) -> dict[str, Any]:
    """Run `media_edge.report WHAT` on the first edge host and return its JSON."""
    if not fleet.migrating_media:
        raise FleetError(
            [Problem("media_migration", "enabled", "migration mode is off", "turn it on in group_data and deploy")]
        )
    edge = fleet.with_role(Role.edge)[0]
    data = next(item for item in inventory if fleet_host_name(item.name) == edge.name).data.dict()
    command = (
        f"set -a; . {CREDENTIALS_FILE}; set +a; PYTHONPATH={LIBRARY} "
        f"python3 -m media_edge.report {shlex.quote(what)} --settings {SETTINGS_FILE}"
    )
    try:
        with connected(edge.name, data) as remote:
            output = remote.run(command, timeout=7200)
    except RemoteError as error:
        raise FleetError(
            [Problem(edge.name, "media_edge.report", str(error)[-800:], "see the edge host's journal")]
        ) from None
    return json.loads(output)  # type: ignore[no-any-return]


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def progress_lines(report: dict[str, Any]) -> list[str]:
    total, done = report["origin_objects"], report["done_objects"]
    share = 100.0 * report["done_bytes"] / report["origin_bytes"] if report["origin_bytes"] else 100.0
    lines = [
        f"objects: {done} of {total} in the bucket",
        f"bytes:   {megabytes(report['done_bytes'])} of {megabytes(report['origin_bytes'])} ({share:.1f} %)",
    ]
    writeback = report.get("writeback") or {}
    lines.append(
        f"write-back: {writeback.get('uploaded', 0)} uploaded ({megabytes(writeback.get('uploaded_bytes', 0))}), "
        f"{writeback.get('present', 0)} already there, {writeback.get('pending', 0)} pending, "
        f"{writeback.get('failures', 0)} failed attempts"
    )
    copy = report.get("copy") or {}
    if copy:
        lines.append(
            f"background copy (last run, {copy.get('time')}): {copy.get('transferred_objects')} objects, "
            f"{megabytes(int(copy.get('transferred_bytes') or 0))}, {copy.get('errors')} errors"
        )
    else:
        lines.append("background copy: not run yet")
    return lines


def _printed(inventory_path: str, verb: str, lines: Callable[[dict[str, Any]], list[str]]) -> dict[str, Any]:
    """The edge's report for ``verb``, printed as ``lines`` makes it."""
    fleet, inventory = load_fleet(inventory_path)
    report = edge_report(fleet, inventory, verb)
    print("\n".join(lines(report)))
    return report


def status(inventory_path: str) -> int:
    _printed(inventory_path, "status", progress_lines)
    return 0


def verify_lines(report: dict[str, Any]) -> list[str]:
    lines = [*progress_lines(report), f"checksums compared: {report['checksummed']}"]
    lines.append(f"missing: {len(report['missing'])}")
    lines += [f"  - {key}" for key in report["missing"]]
    lines.append(f"different: {len(report['different'])}")
    lines += [f"  * {key}" for key in report["different"]]
    if report["complete"]:
        lines.append("complete: the bucket holds every file of the old server")
    elif not report["origin_objects"]:
        lines.append("not complete: the old server lists no file (check media_migration.origin and its directory)")
    else:
        lines.append("not complete")
    return lines


def verify(inventory_path: str) -> int:
    return 0 if _printed(inventory_path, "verify", verify_lines)["complete"] else 1


def finish(inventory_path: str) -> int:
    """Verify; only when nothing is missing or different, record it and deploy the edges without the fallback."""
    fleet, inventory = load_fleet(inventory_path)
    project = project_directory(inventory_path)
    if fleet.media_migration is not None and finished(fleet, project):
        print("the media migration is already finished; migration mode is off")
        return 0
    report = edge_report(fleet, inventory, "verify")
    print("\n".join(verify_lines(report)))
    if not report["complete"]:
        print("mastofleet: not finishing: the migration is complete only when nothing is missing or different")
        return 1
    path = write_record(fleet, project, report["origin_objects"], report["origin_bytes"])
    print(f"recorded in {path}; deploying the edge hosts with migration mode off")
    limits = [host.name for host in fleet.with_role(Role.edge)]
    return run_deploy(inventory_path, [], limits)
