"""The disk check before PostgreSQL: a db host whose disk fails the doctor's thresholds is refused.

The seed's outage was two failing disks under the database. Before the db role is applied, the
deploy runs the doctor's probe on the host (while pyinfra prepares it, so nothing has changed
anywhere yet) and refuses with the figures unless the operator forces it (`mastofleet deploy
--force-disk`, or pyinfra's `--data force_disk=true`).
"""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.api import FactBase
from pyinfra.api.exceptions import PyinfraError

from mastofleet.model import Fleet, Host
from mastofleet.views.disk_probe import Probe, data_directory, disk_failures, parse_probe, probe_script

FORCE = "force_disk"


class DiskProbe(FactBase[Probe]):
    """The doctor's probe of the disk holding `directory`, under `seconds` of synthetic load."""

    def command(self, directory: str, seconds: int) -> str:
        return probe_script(directory, seconds)

    def process(self, output: list[str]) -> Probe:
        return parse_probe("\n".join(output))


def require_healthy_disk(fleet: Fleet, host: Host) -> Probe:
    """Measure the disk that will hold PostgreSQL; raise (before any change) when it fails."""
    directory = data_directory(fleet, host)
    probe = current_host.get_fact(DiskProbe, directory=directory, seconds=fleet.doctor.probe_seconds)
    if probe is None:
        probe = parse_probe("")
    failures = disk_failures(probe, fleet.doctor)
    if failures and not current_host.data.get(FORCE):
        where = f"{probe.directory or directory} on {probe.device or 'its disk'}"
        raise PyinfraError(
            f"mastofleet refuses to deploy the db role onto {host.name}: its disk ({where}, measured with "
            f"{probe.tool or 'nothing'} for {fleet.doctor.probe_seconds} s) fails: {'; '.join(failures)}. "
            "Check it with `mastofleet doctor INVENTORY`, move the db role to another host, or deploy anyway "
            f"with `mastofleet deploy --force-disk` (pyinfra: --data {FORCE}=true)."
        )
    return probe
