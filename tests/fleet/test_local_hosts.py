"""The local hosts behave like separate real machines: systemd, identity, network, reboot.

Boots the default hosts with `mastofleet local up` (or reuses the running ones) and
looks at them over SSH (paramiko), the way the deploy and the testinfra suite will.
Runs only as root on a machine where systemd-nspawn containers can boot.
"""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from mastofleet.commands.local import run
from mastofleet.local import cgroups, machine
from mastofleet.local.errors import LocalFleetError
from mastofleet.local.machines import BRIDGE, DEFAULT_MACHINES, MACHINES, Machine, ssh_key_path
from mastofleet.local.mirror import Mirror, discover_mirror

# An address on the internet, outside the fleet and not the mirror: the firewall drops it.
OUTSIDE_ADDRESS = "1.1.1.1"
REBOOT_TIMEOUT_SECONDS = 60.0


def boot_problem() -> str | None:
    """Why the local fleet cannot boot here, or None."""
    if os.geteuid() != 0:
        return "the local fleet needs root (bridge, nftables, cgroups, systemd-nspawn)"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlayfs, which every local host's root is made of"
    if not Path("/sys/fs/cgroup").is_dir():
        return "no cgroup file system at /sys/fs/cgroup"
    try:
        discover_mirror()
    except LocalFleetError as error:
        return f"no Debian mirror in this machine's apt sources: {error}"
    return None


PROBLEM = boot_problem()
pytestmark = [pytest.mark.fleet, pytest.mark.skipif(PROBLEM is not None, reason=PROBLEM or "")]


def connect(host: Machine) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    # Every fresh host makes new host keys; like the ssh_config, don't pin them.
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        host.address,
        username="root",
        key_filename=str(ssh_key_path()),
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
        banner_timeout=5,
        auth_timeout=5,
    )
    return client


def shell(client: paramiko.SSHClient, command: str, timeout: float = 30) -> tuple[int, str]:
    """Run ``command`` on the host; its exit code and its output (stdout and stderr)."""
    transport = client.get_transport()
    assert transport is not None
    channel = transport.open_session(timeout=timeout)
    channel.settimeout(timeout)
    channel.set_combine_stderr(True)
    channel.exec_command(command)
    output = channel.makefile("rb").read().decode()
    return channel.recv_exit_status(), output.strip()


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, paramiko.SSHClient]]:
    assert run(["up"]) == 0, "mastofleet local up failed; its output is above"
    connected = {name: connect(MACHINES[name]) for name in DEFAULT_MACHINES}
    yield connected
    for client in connected.values():
        client.close()


@pytest.fixture(scope="module")
def mirror() -> Mirror:
    return discover_mirror()


@pytest.mark.parametrize("name", DEFAULT_MACHINES)
def test_pid_1_is_systemd_and_the_system_is_running(clients: dict[str, paramiko.SSHClient], name: str) -> None:
    assert shell(clients[name], "cat /proc/1/comm") == (0, "systemd")
    assert shell(clients[name], "systemctl is-system-running")[1] == "running"


@pytest.mark.parametrize("name", DEFAULT_MACHINES)
def test_each_host_has_its_own_name_and_address_on_host0(clients: dict[str, paramiko.SSHClient], name: str) -> None:
    assert shell(clients[name], "hostname") == (0, name)
    _, addresses = shell(clients[name], "ip -4 -o address show dev host0")
    assert f"inet {MACHINES[name].address}/24 " in addresses


def test_machine_ids_are_distinct(clients: dict[str, paramiko.SSHClient]) -> None:
    machine_ids = {name: shell(client, "cat /etc/machine-id")[1] for name, client in clients.items()}
    assert all(len(machine_id) == 32 for machine_id in machine_ids.values()), machine_ids
    assert len(set(machine_ids.values())) == len(clients), machine_ids


def test_ssh_host_keys_are_distinct(clients: dict[str, paramiko.SSHClient]) -> None:
    transports = {name: client.get_transport() for name, client in clients.items()}
    presented = {
        name: transport.get_remote_server_key().get_base64() for name, transport in transports.items() if transport
    }
    assert len(set(presented.values())) == len(clients), "two hosts present the same SSH host key"


def test_each_host_has_its_own_cgroup(clients: dict[str, paramiko.SSHClient]) -> None:
    """Without systemd on this machine, nspawn would put every host in one cgroup."""
    for name in clients:
        pid = machine.container_pid(name)
        assert pid is not None, name
        assert f"/mastofleet/{name}/" in Path(f"/proc/{pid}/cgroup").read_text()
        assert (cgroups.memory_usage(name) or 0) > 0, name


def test_hosts_reach_each_other(clients: dict[str, paramiko.SSHClient]) -> None:
    """Over the bridge, by name; ICMP echo, which a deployed fleet's firewall lets through (its SSH
    port it opens only to this machine)."""
    outsider = clients["outsider"]
    for name in ("nixie", "freud", "esme"):
        assert shell(outsider, f"ping -c 1 -W 2 {name}")[0] == 0, f"outsider cannot reach {name}"


def test_hosts_reach_the_mirror_by_its_name(clients: dict[str, paramiko.SSHClient], mirror: Mirror) -> None:
    uris = [mirror.archive_uri + "/dists/trixie/InRelease"]
    if mirror.security_uri:
        uris.append(mirror.security_uri + "/dists/trixie-security/InRelease")
    for uri in uris:
        code, output = shell(clients["outsider"], f"curl -fsS -o /dev/null -m 15 {uri}")
        assert code == 0, f"outsider cannot fetch {uri}: {output}"


def test_hosts_cannot_reach_anything_else_outside(clients: dict[str, paramiko.SSHClient]) -> None:
    started = time.monotonic()
    code, _ = shell(clients["outsider"], f"timeout 5 nc -z -w 2 {OUTSIDE_ADDRESS} 443")
    assert code != 0, f"outsider reached {OUTSIDE_ADDRESS}:443; the nft table should drop it"
    assert time.monotonic() - started < 6


def test_hosts_cannot_open_connections_to_this_machine(clients: dict[str, paramiko.SSHClient]) -> None:
    code, _ = shell(clients["outsider"], "timeout 5 nc -z -w 2 10.77.0.1 22")
    assert code != 0, f"a host reached this machine's SSH over {BRIDGE}"


def test_exec_enters_a_host_without_ssh(clients: dict[str, paramiko.SSHClient]) -> None:
    assert run(["exec", "nixie", "test", "-e", "/etc/systemd/network/10-host0.network"]) == 0


def test_status_lists_the_running_hosts(
    clients: dict[str, paramiko.SSHClient], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["status"]) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    for name in DEFAULT_MACHINES:
        assert lines[name][1:4] == [MACHINES[name].address, "running", "running"], lines[name]


def test_a_reboot_inside_a_host_brings_it_back_to_running(clients: dict[str, paramiko.SSHClient]) -> None:
    """Runs last in this module: it restarts outsider, whose cached connection dies."""
    host = MACHINES["outsider"]
    launcher_before = machine.launcher_pid(host.name)
    client = connect(host)
    shell(client, "touch /run/before-reboot")
    transport = client.get_transport()
    assert transport is not None
    # Not waiting for an answer: the connection goes down with the host.
    transport.open_session().exec_command("systemctl reboot")
    client.close()
    started = time.monotonic()
    state = None
    while time.monotonic() - started < REBOOT_TIMEOUT_SECONDS:
        try:
            client = connect(host)
            state = shell(client, "test -e /run/before-reboot && echo not-yet || systemctl is-system-running")[1]
            client.close()
        except (OSError, paramiko.SSHException):
            state = None
        if state == "running":
            break
        time.sleep(0.2)
    assert state == "running", f"outsider is not back {REBOOT_TIMEOUT_SECONDS:.0f} s after a reboot (last: {state})"
    # The same launcher restarted nspawn: the reboot went through the loop, not through `up`.
    assert machine.launcher_pid(host.name) == launcher_before
