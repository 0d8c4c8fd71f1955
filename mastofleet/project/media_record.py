"""The record that a media migration is complete: written by `mastofleet media finish`.

While it names the fleet's old server, migration mode is off whatever group_data says, so no later
deploy turns the fallback to the old server (which may be gone by then) back on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from mastofleet.model import Fleet


def record_path(fleet: Fleet, project: str) -> Path | None:
    if fleet.media_migration is None:
        return None
    return Path(project) / fleet.media_migration.record_file


def finished(fleet: Fleet, project: str) -> bool:
    path = record_path(fleet, project)
    if path is None or fleet.media_migration is None or not path.is_file():
        return False
    return bool(json.loads(path.read_text()).get("origin") == fleet.media_migration.origin_url)


def with_record(fleet: Fleet, project: str) -> Fleet:
    """The fleet with migration mode off when the migration from its old server was finished."""
    if fleet.media_migration is None or not fleet.media_migration.enabled or not finished(fleet, project):
        return fleet
    return fleet.model_copy(update={"media_migration": fleet.media_migration.model_copy(update={"enabled": False})})


def write_record(fleet: Fleet, project: str, objects: int, size: int) -> Path:
    path = record_path(fleet, project)
    assert path is not None and fleet.media_migration is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "origin": fleet.media_migration.origin_url,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "objects": objects,
        "bytes": size,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
