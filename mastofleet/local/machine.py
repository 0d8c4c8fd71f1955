"""One host's life: start its launcher, wait until it has booted, enter it, stop it."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mastofleet.local import cgroups, launcher, overlay, package_cache, ssh
from mastofleet.local.errors import LocalFleetError
from mastofleet.local.filesystem import remove_tree
from mastofleet.local.machines import (
    STATE_DIRECTORY_VARIABLE,
    Machine,
    machine_files,
    state_directory,
)
from mastofleet.local.mirror import MirrorHost

LAUNCHER_MODULE = launcher.__name__
# The directory that holds the `mastofleet` package, for the detached launcher's imports.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT_SECONDS = 180.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.2

# What a command run inside a host by nsenter sees, instead of this machine's environment.
CONTAINER_ENVIRONMENT = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}


class StoppedWhileBooting(LocalFleetError):
    """The host's launcher ended before systemd inside finished booting."""


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _is_alive(pid: int, *arguments: str) -> bool:
    """True when ``pid`` runs (not a zombie) and has all of ``arguments`` on its command line.

    The arguments guard against a recycled pid, after this machine rebooted for instance.
    """
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and all(argument in command_line for argument in arguments)


def launcher_pid(name: str) -> int | None:
    """The pid of the host's launcher loop, if it is running."""
    pid = _read_pid(machine_files(name).launcher_pid)
    if pid is not None and _is_alive(pid, LAUNCHER_MODULE, name):
        return pid
    return None


def is_running(name: str) -> bool:
    return launcher_pid(name) is not None


def container_pid(name: str) -> int | None:
    """The pid (on this machine) of the host's systemd, the child of the current nspawn."""
    nspawn = _read_pid(machine_files(name).nspawn_pid)
    if nspawn is None or not _is_alive(nspawn, "systemd-nspawn", f"--machine={name}"):
        return None
    try:
        children = Path(f"/proc/{nspawn}/task/{nspawn}/children").read_text().split()
    except FileNotFoundError:
        return None
    for child in children:
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                return int(child)
        except FileNotFoundError:
            continue
    return None


def enter_command(name: str, command: list[str]) -> list[str]:
    """The argv that runs ``command`` inside the host through its namespaces, without SSH."""
    pid = container_pid(name)
    if pid is None:
        raise LocalFleetError(f"{name} is not running; start it with `mastofleet local up {name}`.")
    return ["nsenter", "--target", str(pid), "--all", *command]


def run_inside(name: str, command: list[str], timeout: float = 10.0) -> subprocess.CompletedProcess[str] | None:
    """Run ``command`` in the host and capture it; None when it is not running or hangs."""
    try:
        argv = enter_command(name, command)
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=CONTAINER_ENVIRONMENT,
            timeout=timeout,
            check=False,
        )
    except (LocalFleetError, subprocess.TimeoutExpired):
        return None


def system_state(name: str) -> str | None:
    """What `systemctl is-system-running` says inside the host (None if it cannot be asked)."""
    completed = run_inside(name, ["systemctl", "is-system-running"])
    if completed is None or not completed.stdout.strip():
        return None
    return completed.stdout.strip()


def failed_units(name: str) -> list[str]:
    completed = run_inside(name, ["systemctl", "list-units", "--failed", "--plain", "--no-legend"])
    if completed is None:
        return []
    return [line.split()[0] for line in completed.stdout.splitlines() if line.strip()]


def start(machine: Machine, mirror_hosts: tuple[MirrorHost, ...]) -> None:
    """Prepare the host's overlay if it has none, and start its launcher detached."""
    files = machine_files(machine.name)
    if not files.upper.exists():
        overlay.prepare(machine, mirror_hosts)
    files.stop_flag.unlink(missing_ok=True)
    environment = {
        **CONTAINER_ENVIRONMENT,
        "PYTHONPATH": str(PACKAGE_ROOT),
        STATE_DIRECTORY_VARIABLE: str(state_directory()),
    }
    with files.log.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", LAUNCHER_MODULE, machine.name],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd="/",
            # Its own session: `up` returns and the host lives on, free of this terminal.
            start_new_session=True,
        )
    files.launcher_pid.write_text(f"{process.pid}\n")


def log_tail(name: str, lines: int = 20) -> str:
    path = machine_files(name).log
    if not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in text)


def wait_ready(machine: Machine, timeout: float = BOOT_TIMEOUT_SECONDS) -> str:
    """Wait until systemd inside has finished booting and root can log in over SSH.

    Returns the final system state: `running`, or `degraded` when some unit failed.
    """
    deadline = time.monotonic() + timeout
    state = None
    while state not in ("running", "degraded"):
        if not is_running(machine.name):
            raise StoppedWhileBooting(
                f"{machine.name} stopped while booting; the end of "
                f"{machine_files(machine.name).log}:\n{log_tail(machine.name)}"
            )
        if time.monotonic() > deadline:
            raise LocalFleetError(
                f"{machine.name} did not finish booting within {timeout:.0f} s (systemd says "
                f"{state or 'nothing yet'}); see {machine_files(machine.name).log} or "
                f"`mastofleet local exec {machine.name} systemctl list-jobs`."
            )
        time.sleep(POLL_SECONDS)
        state = system_state(machine.name)
    while not ssh.answers(machine):
        if time.monotonic() > deadline:
            raise LocalFleetError(
                f"{machine.name} booted but SSH as root does not work; look inside with "
                f"`mastofleet local exec {machine.name} systemctl status ssh`."
            )
        time.sleep(POLL_SECONDS)
    return state


def stop(name: str, timeout: float = SHUTDOWN_TIMEOUT_SECONDS) -> bool:
    """Power the host off cleanly; kill it if it takes longer than ``timeout``.

    Returns True when it shut down cleanly. The stop flag keeps the launcher from
    taking the shutdown for a reboot; SIGTERM to the launcher reaches nspawn, which
    asks the container's systemd for an orderly poweroff.
    """
    files = machine_files(name)
    pid = launcher_pid(name)
    if files.directory.exists():
        files.stop_flag.touch()
    if pid is None:
        _kill_all(name)
        return True
    os.kill(pid, signal.SIGTERM)
    if _wait_gone(name, timeout):
        return True
    _kill_all(name)
    return False


def power_cut(name: str) -> None:
    """Stop the host at once, as a power cut would: for a host whose state is thrown away anyway
    (a restore), waiting for a clean shutdown (Sidekiq's stop timeout, for one) buys nothing."""
    files = machine_files(name)
    if files.directory.exists():
        files.stop_flag.touch()
    _kill_all(name)
    _release_veth(name)


def _release_veth(name: str, timeout: float = 2.0) -> None:
    """Wait until the kernel has removed the host's end of the killed container's veth pair (it
    does once the container's network namespace is gone), else remove it: a new nspawn for the
    same machine fails with "Failed to add new veth interfaces: File exists" while it is there."""
    interface = f"vb-{name}"[:15]  # nspawn's name for it, cut to the kernel's limit
    deadline = time.monotonic() + timeout
    while Path(f"/sys/class/net/{interface}").exists():
        if time.monotonic() > deadline:
            subprocess.run(["ip", "link", "delete", interface], check=False, capture_output=True)
            return
        time.sleep(POLL_SECONDS)


def _wait_gone(name: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(name) and not cgroups.processes(name):
            return True
        time.sleep(POLL_SECONDS)
    return False


def _kill_all(name: str) -> None:
    """SIGKILL the launcher and whatever is left in the host's cgroups, until none is left."""
    for _ in range(50):
        pids = cgroups.processes(name)
        loop = launcher_pid(name)
        if loop is not None:
            pids.append(loop)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it went by itself meanwhile
                os.kill(pid, signal.SIGKILL)
        time.sleep(POLL_SECONDS)
    raise LocalFleetError(
        f"processes of {name} survive SIGKILL: {', '.join(map(str, pids))}; "
        "check `ps -o pid,stat,cmd -p` for processes stuck in the kernel (state D)."
    )


def remove(name: str) -> None:
    """Delete everything the host had: its cgroups, its directory with the overlay, and
    what nspawn left behind. The packages it downloaded stay in the package cache."""
    cgroups.remove(name)
    package_cache.collect(machine_files(name).overlay_layers())
    remove_tree(machine_files(name).directory)
    launcher.remove_nspawn_leftovers(name)
