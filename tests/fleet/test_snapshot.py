"""The converged fleet's snapshot: `mastofleet local restore` undoes whatever happened since, in
seconds, and keeps what makes each host itself (machine-id, SSH host keys).

The session's first deploy ends with `mastofleet local snapshot`; every module marked
`changes_fleet` is followed by a restore (tests/conftest.py). This module checks the mechanism on
purpose, and prints the restore time against the first deploy's.
"""

from __future__ import annotations

import time

import pytest
from fleet_support import INVENTORY, get, mastofleet, on_host

from support.deploy_run import DeployResult, run_deploy

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

MANAGED_FILE = "/etc/nginx/mastofleet/serving.conf"  # rendered by the deploy
IDENTITY = "cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub"


def answers_health() -> bool:
    try:
        return get("/health")[0] == 200
    except OSError:  # the balancer is still booting
        return False


def test_restore_undoes_changes_and_keeps_each_hosts_identity(first_deploy: DeployResult) -> None:
    identity = {host: on_host(host, IDENTITY) for host in ("nixie", "freud")}
    managed = on_host("nixie", f"sha256sum {MANAGED_FILE}")
    on_host("nixie", f"rm {MANAGED_FILE} && echo planted > /root/canary && systemctl stop redis-server")
    on_host("freud", "echo planted > /etc/canary && systemctl disable --now mastodon-web.service")

    started = time.monotonic()
    restored = mastofleet("local", "restore")
    seconds = time.monotonic() - started
    assert restored.returncode == 0, restored.stdout + restored.stderr
    print(f"\nrestore of the fleet: {seconds:.1f} s (the first deploy, a cold converge: {first_deploy.seconds:.1f} s)")

    assert on_host("nixie", f"sha256sum {MANAGED_FILE}") == managed
    assert on_host("nixie", "test -e /root/canary && echo kept || echo gone") == "gone"
    assert on_host("freud", "test -e /etc/canary && echo kept || echo gone") == "gone"
    assert on_host("nixie", "systemctl is-active redis-server") == "active"
    assert on_host("freud", "systemctl is-enabled mastodon-web.service") == "enabled"
    assert {host: on_host(host, IDENTITY) for host in identity} == identity


def test_the_restored_fleet_serves_and_a_deploy_changes_nothing(first_deploy: DeployResult) -> None:
    deadline = time.monotonic() + 120
    while not answers_health():
        assert time.monotonic() < deadline, "the restored fleet does not answer /health"
        time.sleep(1)
    again = run_deploy(INVENTORY)
    assert again.returncode == 0 and not again.failed, again.output
    assert again.changed_count == 0, again.changed
