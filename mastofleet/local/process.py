"""Running host commands so that a failure says what failed and what to do about it."""

import subprocess
from collections.abc import Sequence

from mastofleet.local.errors import LocalFleetError


def run_checked(
    argv: Sequence[str],
    *,
    fix: str,
    input_text: str | None = None,
    timeout: float | None = None,
) -> str:
    """Run ``argv`` and return its standard output.

    On a non-zero exit, raise with the command, the tail of its error output and ``fix``,
    so the operator does not have to rerun anything to find out why.
    """
    try:
        completed = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as error:
        raise LocalFleetError(f"{argv[0]} is not installed ({error}). {fix}") from error
    except subprocess.TimeoutExpired as error:
        raise LocalFleetError(f"`{' '.join(argv)}` took longer than {timeout} s. {fix}") from error
    if completed.returncode != 0:
        details = (completed.stderr or completed.stdout).strip().splitlines()[-15:]
        raise LocalFleetError(
            f"`{' '.join(argv)}` failed with exit code {completed.returncode}:\n"
            + "\n".join(f"    {line}" for line in details)
            + f"\n  {fix}"
        )
    return completed.stdout


def run_quietly(argv: Sequence[str], *, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` for its exit code and output, where failing is an expected answer."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
