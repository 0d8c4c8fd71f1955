"""The harness SSH key and the ssh_config that reaches every local host as root."""

import subprocess

from mastofleet.local.errors import LocalFleetError
from mastofleet.local.machines import MACHINES, Machine, ssh_config_path, ssh_key_path
from mastofleet.local.process import run_checked


def ensure_key() -> str:
    """Create the ed25519 key once; return its public half (root's authorized key)."""
    key = ssh_key_path()
    public = key.with_name(key.name + ".pub")
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.parent.chmod(0o700)
        public.unlink(missing_ok=True)
        run_checked(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mastofleet-local", "-f", str(key)],
            fix="install openssh-client (apt-get install openssh-client).",
        )
    if not public.exists():
        # Only the private half survived (copied by hand, say): derive the public one.
        derived = run_checked(
            ["ssh-keygen", "-y", "-f", str(key)],
            fix=f"{key} is not a usable private key; delete it and run `up` again.",
        )
        public.write_text(derived)
    return public.read_text().strip()


def render_config() -> str:
    """A Host entry per machine. Host keys change on every fresh boot, so don't pin them."""
    entries = []
    for machine in MACHINES.values():
        entries.append(
            f"Host {machine.name}\n"
            f"    HostName {machine.address}\n"
            "    User root\n"
            f"    IdentityFile {ssh_key_path()}\n"
            "    IdentitiesOnly yes\n"
            "    StrictHostKeyChecking no\n"
            "    UserKnownHostsFile /dev/null\n"
            "    LogLevel ERROR\n"
            "    ConnectTimeout 5\n"
        )
    return "\n".join(entries)


def write_config() -> None:
    """Write the ssh_config where the inventory and the tests look for it."""
    path = ssh_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_config())


def answers(machine: Machine) -> bool:
    """True when root can log in to ``machine`` with the key and run a command."""
    try:
        completed = subprocess.run(
            [
                "ssh",
                "-F",
                str(ssh_config_path()),
                "-o",
                "BatchMode=yes",
                machine.name,
                "true",
            ],
            capture_output=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return completed.returncode == 0


def command(machine: Machine, remote_command: list[str]) -> list[str]:
    """The argv that runs ``remote_command`` on ``machine`` (an interactive login if empty)."""
    if not ssh_config_path().exists():
        raise LocalFleetError(f"{ssh_config_path()} does not exist; boot the hosts first (mastofleet local up).")
    return ["ssh", "-F", str(ssh_config_path()), machine.name, *remote_command]
