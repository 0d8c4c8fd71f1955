"""The streaming API on app hosts: `mastodon-streaming@PORT` instances under one group unit."""

from __future__ import annotations

from pyinfra.api import deploy

from mastofleet.deploys.mastodon import Application
from mastofleet.deploys.units import SYSTEMD_DIRECTORY, run_units, unit_context
from mastofleet.files import ConfigFile, SecretValues
from mastofleet.model import Fleet, Host
from mastofleet.operations import put_files
from mastofleet.templating import render


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    if host.streaming is None:
        return []
    context = unit_context(fleet, host, streaming=host.streaming, streaming_unit=True)
    return [
        ConfigFile(
            f"{SYSTEMD_DIRECTORY}/mastodon-streaming@.service",
            render("systemd/mastodon-streaming@.service.j2", **context),
        ),
        ConfigFile(
            f"{SYSTEMD_DIRECTORY}/mastodon-streaming.service",
            render("systemd/mastodon-streaming.service.j2", **context),
        ),
    ]


@deploy("Mastodon streaming")
def streaming(fleet: Fleet, host: Host, application: Application) -> None:
    """
    One `mastodon-streaming@PORT` unit per port of the model (nginx balances them with least_conn),
    grouped under `mastodon-streaming.service` so they start and stop together.
    """
    assert host.streaming is not None
    rendered = files_for(fleet, host, SecretValues())
    units = put_files(rendered)
    services = ["mastodon-streaming.service"] + [f"mastodon-streaming@{port}.service" for port in host.streaming.ports]
    run_units(services, units, [item.path for item in rendered], application)
