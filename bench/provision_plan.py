"""How long `provision plan` takes for the default fleet, and what a no-change apply asks of the API.

The Hetzner API is the fake of `tests/support/hetzner_api.py`, run in its own process so its work
is not counted: "own time" is the CPU time of the planning process (our code, hcloud, requests), wall
time includes the waits on the fake. Target: own time well under 1 s. Then the fleet is applied, and
a second apply (library, then the real console script) is counted by method: target, only reads.

    .venv/bin/python bench/provision_plan.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pyinfra_cli  # noqa: F401 - gevent patches sockets on import; first, as in the CLI

from mastofleet.model import Fleet
from mastofleet.project.fleet import load_fleet
from mastofleet.provision.catalogue import catalogue_problems
from mastofleet.provision.desired import hetzner_spec
from mastofleet.provision.hetzner_apply import run_steps
from mastofleet.provision.hetzner_client import connect
from mastofleet.provision.hetzner_observe import observe
from mastofleet.provision.hetzner_plan import HetznerPlan, hetzner_plan

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"  # holds `support`, the tests' helpers (the fake API among them)
sys.path.insert(0, str(TESTS))
from support.hetzner_api import TOKEN  # noqa: E402

SCRIPT = Path(sys.executable).with_name("mastofleet")
TARGET_SECONDS = 1.0


def start_fake() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "support.hetzner_api"], stdout=subprocess.PIPE, text=True, cwd=TESTS
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def recorded(endpoint: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(endpoint.replace("/v1", "/__fake__/requests")) as answer:
        return list(json.load(answer)["requests"])


def forget(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(endpoint.replace("/v1", "/__fake__/forget"), method="POST")).close()


def plan_once(fleet: Fleet) -> tuple[float, float, HetznerPlan]:
    wall, cpu = time.perf_counter(), time.process_time()
    client = connect(poll_interval=0.01)
    spec = hetzner_spec(fleet)
    observed = observe(client, spec)
    assert catalogue_problems(fleet, spec, observed.catalogue) == []
    plan = hetzner_plan(client, spec, observed)
    return time.perf_counter() - wall, time.process_time() - cpu, plan


def methods(requests: list[dict[str, object]]) -> str:
    counts = Counter(request["method"] for request in requests)
    return ", ".join(f"{count} {method}" for method, count in sorted(counts.items())) or "none"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    arguments = parser.parse_args()

    fake, endpoint = start_fake()
    state = Path(tempfile.mkdtemp(prefix="mastofleet-bench-")) / "hetzner.state.json"
    try:
        fleet, _ = load_fleet(str(REPO / "inventories" / "hetzner.py"))  # offline: the committed state
        os.environ.update({"HCLOUD_TOKEN": TOKEN, "HCLOUD_ENDPOINT": endpoint, "MASTOFLEET_HETZNER_STATE": str(state)})
        plan_once(fleet)  # warm: imports, connections
        walls, cpus = [], []
        forget(endpoint)
        for _ in range(arguments.runs):
            wall, cpu, plan = plan_once(fleet)
            walls.append(wall)
            cpus.append(cpu)
        planned = recorded(endpoint)
        steps = sum(1 for step in plan.steps if step.shown)
        own = statistics.median(cpus)
        verdict = "ok" if own < TARGET_SECONDS else "OVER TARGET"
        print(f"plan of the default fleet (5 servers, {steps} resources to create), {arguments.runs} runs:")
        print(
            f"  own time (CPU) median {own * 1000:6.1f} ms  max {max(cpus) * 1000:6.1f} ms  target < {TARGET_SECONDS:.0f} s: {verdict}"
        )
        print(f"  wall time      median {statistics.median(walls) * 1000:6.1f} ms  (includes the fake API's answers)")
        print(
            f"  API requests per plan: {len(planned) // arguments.runs} ({methods(planned[: len(planned) // arguments.runs])})"
        )

        _, _, plan = plan_once(fleet)
        started = time.perf_counter()
        run_steps(plan.steps, plan.context)
        created = sum(1 for step in plan.steps if step.shown)
        print(f"first apply: {created} resources in {time.perf_counter() - started:.2f} s against the fake")

        forget(endpoint)
        _, _, again = plan_once(fleet)
        run_steps(again.steps, again.context)
        library = recorded(endpoint)
        print(f"no-change apply (library): {len(library)} requests: {methods(library)}")

        forget(endpoint)
        environment = {key: value for key, value in os.environ.items() if not key.startswith("MASTOFLEET_SECRET_")}
        started = time.perf_counter()
        result = subprocess.run(
            [str(SCRIPT), "provision", "apply", "inventories/hetzner.py", "--only", "servers"],
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"provision apply failed ({result.returncode}):\n{result.stderr}")
        command = recorded(endpoint)
        print(
            f"no-change apply (console script, inventory read and state file refresh included): "
            f"{len(command)} requests: {methods(command)}; {elapsed:.2f} s wall with Python start-up"
        )
        only_reads = {request["method"] for request in library + command} == {"GET"}
        print(f"only reads: {'yes' if only_reads else 'NO'}")
        return 0 if own < TARGET_SECONDS and only_reads else 1
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    sys.exit(main())
