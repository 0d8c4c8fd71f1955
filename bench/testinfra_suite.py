"""How long the testinfra suite takes against the local fleet, and how many tests it runs.

    sudo .venv/bin/python bench/testinfra_suite.py [--rounds 1] [-- EXTRA PYTEST ARGUMENTS]

Runs `pytest tests/infra -q --inventory inventories/local.py` as is: the session boots the local
fleet if needed and converges it once (`first_deploy`) before checking it, so the figure includes
that no-op deploy. With MASTOFLEET_INFRA_NO_DEPLOY=1 in the environment only the checks are timed.
Prints the wall time, the test count and pytest's outcome per round; exits with pytest's code.
"""

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
INVENTORY = "inventories/local.py"
OUTCOME = re.compile(r"(\d+) (passed|failed|xfailed|xpassed|skipped|errors?|deselected)")


def run_suite(extra: list[str]) -> tuple[int, float, dict[str, int], str]:
    """(pytest's exit code, wall seconds, {outcome: count}, pytest's last line)."""
    command = [sys.executable, "-m", "pytest", "tests/infra", "-q", "-p", "no:cacheprovider"]
    command += ["--inventory", INVENTORY, *extra]
    started = time.monotonic()
    completed = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else completed.stderr.strip()[-500:]
    outcomes = {kind.rstrip("s") if kind.startswith("error") else kind: int(n) for n, kind in OUTCOME.findall(last)}
    if completed.returncode not in (0, 1):  # 1: tests failed; anything else: pytest could not run them
        print(completed.stdout[-3000:], completed.stderr[-3000:], sep="\n", file=sys.stderr)
    return completed.returncode, seconds, outcomes, last


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--rounds", type=int, default=1)
    options.add_argument("pytest_arguments", nargs="*", help="more pytest arguments, after --")
    arguments = options.parse_args()
    walls: list[float] = []
    code = 0
    for round_number in range(1, arguments.rounds + 1):
        code, seconds, outcomes, last = run_suite(arguments.pytest_arguments)
        walls.append(seconds)
        tests = sum(count for kind, count in outcomes.items() if kind != "deselected")
        print(f"round {round_number}: {tests} tests in {seconds:.1f} s wall   ({last.strip('= ')})")
        if code != 0:
            break
    if len(walls) > 1:
        print(f"median {statistics.median(walls):.1f} s over {len(walls)} rounds")
    return code


if __name__ == "__main__":
    sys.exit(main())
