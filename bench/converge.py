"""Benchmark: cold converge of the whole local fleet (base image present, fresh hosts) and the
no-op second run. Prints both and their ratio; target for the no-op run: under 10 s.

Run as root: `.venv/bin/python bench/converge.py` (it recreates the fleet hosts' overlays).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support: the tests' helpers

from support.deploy_run import PROJECT, run_deploy  # noqa: E402

FLEET_HOSTS = ["nixie", "freud", "fritz", "franz", "esme", "outsider"]


def mastofleet(*arguments: str) -> None:
    subprocess.run([str(Path(sys.executable).with_name("mastofleet")), *arguments], cwd=PROJECT, check=True)


def main() -> int:
    started = time.monotonic()
    mastofleet("local", "up", "--fresh", *FLEET_HOSTS)
    boot = time.monotonic() - started
    mastofleet("secrets", "init", "inventories/local.py", "--generate-missing")
    cold = run_deploy("inventories/local.py")
    if cold.returncode != 0:
        print(cold.output)
        return 1
    noop = run_deploy("inventories/local.py")
    print(f"fresh hosts booted (base present): {boot:.1f} s")
    print(f"cold converge, 6-host fleet: {cold.seconds:.1f} s, {cold.changed_count} changed operations")
    print(f"no-op converge:              {noop.seconds:.1f} s, {noop.changed_count} changed operations (target < 10 s)")
    print(f"ratio cold / no-op:          {cold.seconds / noop.seconds:.1f}x")
    return 0 if noop.changed_count == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
