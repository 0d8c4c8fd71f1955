"""Benchmark: cold converge of the whole local fleet (base image present, fresh hosts), the no-op
second run, and the converged-fleet snapshot: taking it, and restoring the fleet from it (what the
fleet tests do instead of re-deploying), against the cold converge.

    .venv/bin/python bench/converge.py                 # everything, from fresh hosts
    .venv/bin/python bench/converge.py --no-op-only 5  # the median of 5 no-op runs on the fleet as it is

Run as root (it recreates the fleet hosts' overlays). Prints figures; asserts nothing but that the
no-op changed nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support: the tests' helpers

from support.deploy_run import PROJECT, run_deploy  # noqa: E402

FLEET_HOSTS = ["nixie", "freud", "fritz", "franz", "esme", "outsider"]
INVENTORY = "inventories/local.py"
RESTORES = 3


def mastofleet(*arguments: str) -> float:
    """Run a mastofleet command; its wall time."""
    started = time.monotonic()
    subprocess.run([str(Path(sys.executable).with_name("mastofleet")), *arguments], cwd=PROJECT, check=True)
    return time.monotonic() - started


def healthy_after(seconds: float, deadline: float = 180.0) -> float:
    """``seconds`` plus the wait until `mastofleet status` finds every service active and /health answering."""
    started = time.monotonic()
    command = [str(Path(sys.executable).with_name("mastofleet")), "status", INVENTORY]
    while subprocess.run(command, cwd=PROJECT, capture_output=True, check=False).returncode != 0:
        if time.monotonic() - started > deadline:
            raise SystemExit(f"the fleet is not healthy {deadline:.0f} s after the restore")
        time.sleep(1)
    return seconds + time.monotonic() - started


def no_op_median(runs: int) -> int:
    times = []
    for _ in range(runs):
        result = run_deploy(INVENTORY)
        if result.returncode != 0 or result.changed_count:
            print(f"the no-op changed {result.changed}: {result.output[-2000:]}")
            return 1
        times.append(result.seconds)
    print(f"no-op deploy, median of {runs}: {statistics.median(times):.1f} s ({', '.join(f'{t:.1f}' for t in times)})")
    return 0


def everything() -> int:
    boot = mastofleet("local", "up", "--fresh", *FLEET_HOSTS)
    mastofleet("secrets", "init", INVENTORY, "--generate-missing")
    cold = run_deploy(INVENTORY)
    if cold.returncode != 0:
        print(cold.output)
        return 1
    noop = run_deploy(INVENTORY)
    snapshot = healthy_after(mastofleet("local", "snapshot"))
    restores = [healthy_after(mastofleet("local", "restore")) for _ in range(RESTORES)]
    after_restore = run_deploy(INVENTORY)
    print(f"fresh hosts booted (base present): {boot:.1f} s")
    print(f"cold converge, 6-host fleet:       {cold.seconds:.1f} s, {cold.changed_count} changed operations")
    print(f"no-op converge:                    {noop.seconds:.1f} s, {noop.changed_count} changed operations")
    print(f"ratio cold / no-op:                {cold.seconds / noop.seconds:.1f}x")
    print(f"snapshot of the converged fleet:   {snapshot:.1f} s (until healthy)")
    print(
        f"restore from the snapshot:         {statistics.median(restores):.1f} s median of {RESTORES} until healthy"
        f" ({', '.join(f'{seconds:.1f}' for seconds in restores)}); {cold.seconds / statistics.median(restores):.0f}x"
        " faster than the cold converge"
    )
    print(f"no-op after the restore:           {after_restore.seconds:.1f} s, {after_restore.changed_count} changed")
    return 0 if noop.changed_count == 0 and after_restore.changed_count == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-op-only", type=int, metavar="RUNS", help="only the median of RUNS no-op deploys")
    arguments = parser.parse_args()
    if arguments.no_op_only:
        return no_op_median(arguments.no_op_only)
    return everything()


if __name__ == "__main__":
    sys.exit(main())
