"""Running a command on a local fleet host over SSH, for the tests' and benchmarks' helpers."""

from __future__ import annotations

import subprocess

from mastofleet.local.machines import ssh_config_path


def ssh(host: str, command: str, stdin: str | None = None, timeout: int = 1800) -> str:
    """The command's standard output; a RuntimeError naming the host, the command and its stderr if it fails."""
    completed = subprocess.run(
        ["ssh", "-F", str(ssh_config_path()), host, command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{host}: `{command[:200]}` failed: {completed.stderr.strip()[-2000:]}")
    return completed.stdout
