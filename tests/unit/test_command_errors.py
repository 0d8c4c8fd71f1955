"""`mastofleet.commands.errors`: the one table from an error to its exit code and message.

The exit codes are part of the interface (0 done, 1 problems, 2 bad input); the console-script
tests (test_cli.py, test_provision_cli.py, test_upgrade_command.py) check them end to end.
"""

from __future__ import annotations

import argparse
import importlib

import pytest

from mastofleet.commands import errors
from mastofleet.database.cutover import CutoverError
from mastofleet.local.errors import LocalFleetError
from mastofleet.model.problems import FleetError, InventoryError, Problem
from mastofleet.project.secrets import SecretError
from mastofleet.provision.errors import CredentialsError, ProvisionError
from mastofleet.remote.releases import RolloutError
from mastofleet.remote.session import RemoteError


def test_every_reported_error_names_an_exception_class() -> None:
    """The table names classes by module and name (so that nothing is imported to match them): a
    moved or renamed class must be renamed there too, or its error would end in a traceback."""
    for reported in errors.REPORTED:
        kind = getattr(importlib.import_module(reported.module), reported.name)
        assert isinstance(kind, type) and issubclass(kind, Exception), reported


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (InventoryError("inventories/x.py: no such inventory file"), 2, "mastofleet: inventories/x.py: no such"),
        (FleetError([Problem("nixie", "roles", "no db host", "add one")]), 1, "mastofleet: "),
        (SecretError("no age recipient"), 2, "mastofleet: no age recipient"),
        (RolloutError("no previous release"), 1, "mastofleet: no previous release"),
        (RemoteError("nixie: `true` failed (1): no"), 1, "mastofleet: nixie: `true` failed"),
        (CutoverError("the standby lags"), 1, "mastofleet cutover: the standby lags"),
        (ProvisionError("Hetzner said no"), 1, "mastofleet: Hetzner said no"),
        (CredentialsError("HCLOUD_TOKEN is not set"), 2, "mastofleet: HCLOUD_TOKEN is not set"),
        (LocalFleetError("the bridge is gone"), 1, "mastofleet local up: the bridge is gone"),
    ],
)
def test_an_error_becomes_its_exit_code_and_message(
    error: Exception, code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert errors.report(error, argparse.Namespace(command="local", local_command="up")) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)


def test_any_other_error_keeps_its_traceback() -> None:
    def broken(arguments: argparse.Namespace) -> int:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        errors.run(argparse.Namespace(handler=broken))
