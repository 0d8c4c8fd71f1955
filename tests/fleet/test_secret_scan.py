"""No secret value in anything a deploy or the tests leave readable: the complete output of a full
deploy (verbose, with diffs, every secret-bearing file uploaded again and its service restarted),
the output of the backup commands, the run records, and the logs of every host (journal, PostgreSQL,
PgBouncer, Redis, nginx, pgBackRest).

Real parts: the deploy of the local fleet with backups on (tests/fleet/inventories/backup.py, the
TLS S3 stand-in on outsider), the fleet's real secrets decrypted in memory here only to be searched
for; a finding names the secret and where, never the value.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fleet_support import mastofleet

from mastofleet.project.fleet import load_fleet
from mastofleet.project.secrets import SecretStore
from support import backup_fleet
from support.deploy_run import PROJECT, DeployResult
from support.media_fleet import ssh

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

INVENTORY = "tests/fleet/inventories/backup.py"
FORCED = {
    "nixie": [
        "/etc/redis/redis.conf",
        "/etc/pgbouncer/userlist.txt",
        "/etc/pgbackrest/pgbackrest.conf",
        "/etc/mastofleet/backup-files.env",
    ],
    "freud": ["/etc/mastodon/env.production"],
}
LOGS = "/var/log/postgresql /var/log/redis /var/log/nginx /var/log/pgbackrest /var/lib/mastofleet/runs"


@pytest.fixture(scope="module")
def secret_values(first_deploy: DeployResult) -> dict[str, str]:
    fleet, inventory = load_fleet(INVENTORY)
    store = SecretStore.for_fleet_data(next(iter(inventory)).data.dict(), str(PROJECT))
    return {name: str(value) for name, value in store.reveal_all(sorted(fleet.referenced_secrets())).items()}


@pytest.fixture(scope="module")
def collected(secret_values: dict[str, str]) -> Iterator[dict[str, str]]:
    """Every text to search, by where it came from."""
    backup_fleet.start_backup_store()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    # One deploy turns backups on (its stanza and first commands are searched too) and, since the
    # secret-bearing files are gone, uploads every one of them again.
    for host, paths in FORCED.items():
        ssh(host, "rm -f " + " ".join(paths))
    pyinfra = str(Path(sys.executable).with_name("pyinfra"))
    deploy = subprocess.run(
        [pyinfra, "-y", "-vv", "--diff", INVENTORY, "deploy.py"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert deploy.returncode == 0, deploy.stderr[-5000:]
    texts = {"deploy stdout": deploy.stdout, "deploy stderr": deploy.stderr}
    for command in (
        ["backup", "now", INVENTORY, "--type", "incr"],
        ["backup", "list", INVENTORY],
        ["status", INVENTORY],
    ):
        result = mastofleet(*command)
        texts[f"mastofleet {' '.join(command[:2])}"] = result.stdout + result.stderr
    time.sleep(2)
    for host in ("nixie", "freud", "fritz", "franz", "esme"):
        texts[f"{host} journal"] = ssh(host, f"journalctl --no-pager -o cat --since '{started}'")
        texts[f"{host} logs"] = ssh(host, f"find {LOGS} -type f 2>/dev/null | xargs -r cat 2>/dev/null || true")
    for record in sorted((PROJECT / "runs").glob("*.json"))[-5:]:
        texts[f"run record {record.name}"] = record.read_text()
    yield texts  # the fleet is restored from the snapshot afterwards (changes_fleet)
    backup_fleet.stop_backup_store()


def test_the_full_deploy_changed_the_secret_bearing_files(collected: dict[str, str]) -> None:
    """Guards the scan: the files holding secrets were really uploaded again (and said so)."""
    output = collected["deploy stdout"] + collected["deploy stderr"]
    for paths in FORCED.values():
        for path in paths:
            assert f"Put {path} (secret, not shown)" in output, path


def test_no_secret_value_anywhere(collected: dict[str, str], secret_values: dict[str, str]) -> None:
    searched = sum(len(text) for text in collected.values())
    findings = sorted(
        f"{name} in {where}"
        for where, text in collected.items()
        for name, value in secret_values.items()
        if len(value) >= 8 and value in text
    )
    print(f"\nsearched {searched:,} characters from {len(collected)} sources for {len(secret_values)} secrets")
    assert not findings, findings
