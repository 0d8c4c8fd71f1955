"""The Vagrant dry run for real, on this machine: the box built from the local Debian 13 base, the
reduced fleet (nixie: db, redis, lb, monitor; freud: app) up as vagrant-lxc system containers, the
real deploy.py converging it through pyinfra's @vagrant connector, a second deploy changing nothing,
the testinfra suite passing on it, and `vagrant destroy -f` removing it (mastofleet.vagrant.dry_run).

The application on the hosts is the local fleet's stand-in for Mastodon's Rails code (rubygems is out
of reach here): a mock where the real thing cannot be installed, as in the fleet tests. The Debian
packages, Postgres, Redis, nginx, Prometheus and systemd in the containers are real.

It runs after the fleet tier, which builds the base image this box is made from. Where the dry run
cannot run at all (not root, vagrant-lxc missing, no base image) it is skipped with that reason, and
in CI, where scripts/install provides all of it, it fails instead.
"""

from __future__ import annotations

import os

import pytest

from mastofleet.local.machines import base_directory
from mastofleet.vagrant import dry_run


def _cannot_run(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the Vagrant dry run cannot run in CI: {reason}")
    pytest.skip(f"the Vagrant dry run cannot run here: {reason}")


@pytest.mark.timeout(1500)
def test_the_reduced_fleet_boots_converges_idles_passes_testinfra_and_goes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    problems = dry_run.missing_prerequisites()
    if problems:
        _cannot_run("; ".join(problems))
    if not (base_directory() / "usr/bin/systemctl").exists():
        _cannot_run(f"no Debian 13 base image at {base_directory()} (`mastofleet local up` builds it)")
    monkeypatch.setenv(dry_run.HOSTS_VARIABLE, ",".join(dry_run.MACHINES))  # put back after the test
    monkeypatch.delenv(dry_run.KEEP_VARIABLE, raising=False)
    with capsys.disabled():  # every step and the figures, in the CI log
        report = dry_run.dry_run()
    assert report.noop_changed == 0, report.noop_changes
    assert report.converge_changed > 0
    assert " passed" in report.testinfra and "failed" not in report.testinfra, report.testinfra
    assert report.destroyed
