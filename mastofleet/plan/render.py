"""`mastofleet render`: every file of every host on disk, secrets masked, for review and diff."""

from __future__ import annotations

from pathlib import Path

from mastofleet.model import Fleet
from mastofleet.plan.files import SecretValues, host_files


def render_fleet(fleet: Fleet, output: Path) -> list[Path]:
    """Write `output/<host>/<absolute path>` for every file the deploy manages."""
    written = []
    masked = SecretValues()
    for host in fleet.hosts:
        for config_file in host_files(fleet, host, masked):
            target = output / host.name / config_file.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(config_file.content)
            written.append(target)
    return written
