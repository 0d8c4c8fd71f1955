"""The Vagrant dry run on this machine, end to end, with its figures.

    box       build the box from the local base (only when the base, mirror or recipe changed)
    up        `vagrant up --provider=lxc` of the reduced fleet (nixie and freud)
    check     `mastofleet check` of inventories/vagrant_dry_run.py, its secrets made first
    converge  `pyinfra inventories/vagrant_dry_run.py deploy.py`
    no-op     the same deploy again: it must change nothing
    testinfra `pytest tests/infra --inventory inventories/vagrant_dry_run.py`
    destroy   `vagrant destroy -f`, then the bridge and firewall removed

Every step prints what it ran and how long it took; the machines are destroyed whatever happened,
unless MASTOFLEET_VAGRANT_KEEP=1 asks to keep them for a look.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mastofleet.local.errors import LocalFleetError
from mastofleet.local.mirror import discover_mirror
from mastofleet.runtime.deploy_run import DeployResult, run_deploy
from mastofleet.vagrant import network
from mastofleet.vagrant.box import ensure_box
from mastofleet.vagrant.errors import VagrantFleetError

INVENTORY = "inventories/vagrant_dry_run.py"
# The dry run belongs to this repository (its Vagrantfile, inventories and testinfra suite): it runs
# from the checkout's top directory, as scripts/vagrant-dry-run does.
PROJECT = Path.cwd()
MACHINES = ("nixie", "freud")
HOSTS_VARIABLE = "MASTOFLEET_VAGRANT_HOSTS"
KEEP_VARIABLE = "MASTOFLEET_VAGRANT_KEEP"
PROVIDER = "lxc"
# What the provider needs on this machine, by command, and the Debian package that brings it.
REQUIRED_COMMANDS = {"vagrant": "vagrant", "lxc-start": "lxc", "nft": "nftables", "ip": "iproute2"}


@dataclass
class DryRunReport:
    """The figures of one dry run: seconds per step, what the deploys changed, testinfra's summary."""

    seconds: dict[str, float] = field(default_factory=dict)
    box_built: bool = False
    converge_changed: int = 0
    noop_changed: int = -1
    noop_changes: dict[str, list[str]] = field(default_factory=dict)
    testinfra: str = ""
    destroyed: bool = False

    def summary(self) -> str:
        steps = "  ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        return "\n".join(
            [
                f"vagrant dry run ({PROVIDER} provider, machines {', '.join(MACHINES)}): {steps}",
                f"  box: {'built and added' if self.box_built else 'current, reused'}",
                f"  converge changed {self.converge_changed} operation(s); no-op changed {self.noop_changed}",
                f"  testinfra: {self.testinfra or 'not run'}",
                f"  machines destroyed: {'yes' if self.destroyed else 'no'}",
            ]
        )


def say(text: str) -> None:
    print(f"vagrant dry run: {text}", flush=True)


def run(argv: list[str], what: str, timeout: float = 900) -> str:
    """Run a command in the project directory for the reduced fleet; raise with its output's tail on failure."""
    say(f"$ {' '.join(argv)}")
    try:
        completed = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise VagrantFleetError(f"{what} took longer than {timeout:.0f} s") from error
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-25:])
        raise VagrantFleetError(f"{what} failed (exit code {completed.returncode}):\n{tail}")
    return completed.stdout


def missing_prerequisites() -> list[str]:
    """What keeps the dry run from running here, each with its remedy; empty when nothing does."""
    problems = []
    if os.geteuid() != 0:
        problems.append("it needs root (LXC containers, a bridge, nftables)")
    for command, package in REQUIRED_COMMANDS.items():
        if not shutil.which(command):
            problems.append(f"{command} is missing: apt-get install {package} (scripts/install does)")
    if shutil.which("vagrant"):
        plugins = subprocess.run(["vagrant", "plugin", "list"], capture_output=True, text=True, check=False).stdout
        if "vagrant-lxc" not in plugins:
            problems.append("the vagrant-lxc plugin is missing: apt-get install vagrant-lxc (scripts/install does)")
    return problems


def timed(report: DryRunReport, name: str, step: Callable[[], None]) -> None:
    started = time.monotonic()
    step()
    report.seconds[name] = time.monotonic() - started
    say(f"{name}: {report.seconds[name]:.1f} s")


def mastofleet_command(*arguments: str) -> list[str]:
    return [str(Path(sys.executable).with_name("mastofleet")), *arguments]


def prepare(report: DryRunReport) -> None:
    """The network and the box, both from this machine's own mirror."""
    try:
        mirror = discover_mirror()
    except LocalFleetError as error:
        raise VagrantFleetError(str(error)) from error
    network.ensure_network(mirror.addresses())
    report.box_built, _ = ensure_box(mirror.hosts)


def destroy() -> None:
    run(["vagrant", "destroy", "-f"], "vagrant destroy")


def boot() -> None:
    run(["vagrant", "up", f"--provider={PROVIDER}"], "vagrant up")


def check_fleet() -> None:
    run(mastofleet_command("secrets", "init", INVENTORY, "--generate-missing"), "mastofleet secrets init")
    run(mastofleet_command("check", INVENTORY), "mastofleet check")


def deploy(what: str) -> DeployResult:
    """The real deploy of the reduced fleet; raise with its output's tail when it failed."""
    result = run_deploy(PROJECT, INVENTORY)
    if result.returncode != 0 or result.failed:
        raise VagrantFleetError(f"{what} failed on {result.failed or 'a host'}:\n{result.output[-4000:]}")
    return result


def converge(report: DryRunReport) -> None:
    say(f"$ pyinfra -y --json {INVENTORY} deploy.py")
    report.converge_changed = deploy("the deploy").changed_count


def noop(report: DryRunReport) -> None:
    say(f"$ pyinfra -y --json {INVENTORY} deploy.py   (again: nothing may change)")
    result = deploy("the second deploy")
    report.noop_changed = result.changed_count
    report.noop_changes = result.changed


def testinfra(report: DryRunReport) -> None:
    pytest = str(Path(sys.executable).with_name("pytest"))
    output = run(
        [pytest, "-q", "-p", "no:cacheprovider", "tests/infra", "--inventory", INVENTORY], "testinfra", timeout=1200
    )
    report.testinfra = output.strip().splitlines()[-1] if output.strip() else ""


def machines_left() -> list[str]:
    """Machines of the reduced fleet that Vagrant still knows as anything but not created."""
    output = run(["vagrant", "status", "--machine-readable"], "vagrant status")
    states = [line.split(",") for line in output.splitlines()]
    return [fields[1] for fields in states if len(fields) > 3 and fields[2] == "state" and fields[3] != "not_created"]


def tear_down(report: DryRunReport) -> None:
    destroy()
    left = machines_left()
    if left:
        raise VagrantFleetError(f"`vagrant destroy -f` left {', '.join(left)} behind")
    network.remove_network()
    report.destroyed = True


def dry_run() -> DryRunReport:
    """The whole dry run; raises VagrantFleetError at the first step that fails (after tearing down)."""
    problems = missing_prerequisites()
    if problems:
        raise VagrantFleetError("the Vagrant dry run cannot run here: " + "; ".join(problems))
    # In this process's own environment, so that every command it starts (vagrant, and pyinfra's
    # @vagrant connector calling vagrant) sees only the reduced fleet in the Vagrantfile.
    os.environ[HOSTS_VARIABLE] = ",".join(MACHINES)
    report = DryRunReport()
    timed(report, "box", lambda: prepare(report))
    timed(report, "clean", destroy)  # machines an interrupted run left behind
    failure: VagrantFleetError | None = None
    try:
        run_steps(report)
    except VagrantFleetError as error:
        failure = error
    if os.environ.get(KEEP_VARIABLE) != "1":
        try:
            timed(report, "destroy", lambda: tear_down(report))
        except VagrantFleetError as error:
            say(f"tearing down failed: {error}")
            failure = failure or error
    say(report.summary())
    if failure:
        raise failure
    return report


def run_steps(report: DryRunReport) -> None:
    """Boot, check, converge, converge again, testinfra: the part the machines are destroyed after."""
    timed(report, "up", boot)
    timed(report, "check", check_fleet)
    timed(report, "converge", lambda: converge(report))
    timed(report, "no-op", lambda: noop(report))
    if report.noop_changed:
        raise VagrantFleetError(f"the second deploy changed {report.noop_changed} operation(s): {report.noop_changes}")
    timed(report, "testinfra", lambda: testinfra(report))


def main() -> int:
    try:
        dry_run()
    except VagrantFleetError as error:
        print(f"vagrant dry run: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
