"""The cutover's record: which steps are done (with their times and figures), written after each.

It is what `mastofleet cutover` resumes from, and the fleet's memory that the db host was promoted:
once it says so for the configured old primary, migration mode is off whatever group_data says, so
no later deploy rebuilds the new primary as a replica of the old one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from mastofleet.model import Fleet


def record_path(fleet: Fleet, project: str) -> Path | None:
    if fleet.database_migration is None:
        return None
    return Path(project) / fleet.database_migration.record_file


def read_record(fleet: Fleet, project: str) -> dict[str, Any]:
    """The record of the cutover from the configured old primary; empty when there is none yet."""
    path = record_path(fleet, project)
    if path is None or fleet.database_migration is None or not path.is_file():
        return {}
    record = json.loads(path.read_text())
    if record.get("source") != fleet.database_migration.endpoint:
        return {}  # a record of another migration
    return record


def promoted(fleet: Fleet, project: str) -> bool:
    return bool(read_record(fleet, project).get("promoted"))


def with_record(fleet: Fleet, project: str) -> Fleet:
    """The fleet with migration mode off once its db host was promoted by a cutover."""
    migration = fleet.database_migration
    if migration is None or not migration.enabled or not promoted(fleet, project):
        return fleet
    return fleet.model_copy(update={"database_migration": migration.model_copy(update={"enabled": False})})


def write_record(fleet: Fleet, project: str, record: dict[str, Any]) -> Path:
    path = record_path(fleet, project)
    assert path is not None and fleet.database_migration is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**record, "source": fleet.database_migration.endpoint, "updated": now()}
    temporary = path.with_suffix(path.suffix + ".writing")
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    temporary.replace(path)  # a crash never leaves half a record
    return path


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
