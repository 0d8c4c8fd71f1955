"""One change to the fleet at a time: while one operator's `mastofleet deploy` runs, a second deploy
(here a plain `pyinfra INVENTORY deploy.py`, through the project's config.py) is refused before it
connects, naming who holds the lock, with which command and since when; the lock is given back when
the first ends. A lock left by a run on another machine stays until it is broken on purpose (logged
in the lock host's journal); one left by a process of this machine that no longer exists is taken
over, and the deploy says so.

Real parts: the local fleet (the lock lives on nixie), the real deploy.py and config.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fleet_support import INVENTORY, mastofleet, on_host

from mastofleet.remote.fleet_lock import HOLDER_FILE, LOCK_DIRECTORY
from support.deploy_run import PROJECT, run_deploy

pytestmark = [pytest.mark.fleet]

LOCK_HOST = "nixie"


def plant_holder(**holder: object) -> None:
    record = {
        "token": "planted",
        "who": "alice@laptop",
        "command": "mastofleet upgrade",
        "since": "2026-12-07T10:00:00Z",
        "machine": "laptop",
        "pid": 4242,
        **holder,
    }
    on_host(LOCK_HOST, f"mkdir -p {LOCK_DIRECTORY} && echo '{json.dumps(record)}' > {HOLDER_FILE}")


def test_a_second_deploy_is_refused_while_the_first_runs(first_deploy) -> None:
    first = subprocess.Popen(
        [str(Path(sys.executable).with_name("mastofleet")), "deploy", INVENTORY],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "locked by" not in mastofleet("lock", "status", INVENTORY).stdout:
            time.sleep(0.5)
        second = run_deploy(INVENTORY)
        assert second.returncode != 0
        assert "mastofleet refuses to deploy: the fleet hachyderm is locked by root@" in second.output
        # the holder is the first deploy's pyinfra run (`mastofleet deploy` runs pyinfra, whose config.py takes it)
        assert "inventories/local.py deploy.py" in second.output and "Nothing was changed" in second.output
        assert not second.changed
    finally:
        output, _ = first.communicate(timeout=900)
    assert first.returncode == 0, output[-3000:]
    assert "is not locked" in mastofleet("lock", "status", INVENTORY).stdout


def test_a_lock_from_another_machine_holds_until_it_is_broken(first_deploy) -> None:
    plant_holder()
    try:
        refused = run_deploy(INVENTORY)
        assert refused.returncode != 0 and "locked by alice@laptop ('mastofleet upgrade'" in refused.output
        broken = mastofleet("lock", "break", INVENTORY, "--reason", "alice's laptop died mid-upgrade")
        assert broken.returncode == 0 and "broke the lock of alice@laptop" in broken.stdout
        journal = on_host(LOCK_HOST, "journalctl -t mastofleet --no-pager -n 20")
        assert "fleet lock of alice@laptop" in journal and "alice's laptop died mid-upgrade" in journal
    finally:
        on_host(LOCK_HOST, f"rm -rf {LOCK_DIRECTORY}")


def test_a_lock_whose_process_is_gone_is_taken_over(first_deploy) -> None:
    import socket

    dead = subprocess.Popen(["true"])
    dead.wait()
    plant_holder(machine=socket.gethostname(), pid=dead.pid, who="root@here")
    result = run_deploy(INVENTORY)
    # it ran (a lock it could not take over would have refused it before connecting) and gave it back
    assert result.returncode == 0, result.output[-3000:]
    assert result.changed_count == 0
    assert "is not locked" in mastofleet("lock", "status", INVENTORY).stdout
