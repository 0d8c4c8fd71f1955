"""What writes to the database on an app host: the units a cutover or a restore stops first."""

from __future__ import annotations

from mastofleet.model import Host


def application_units(host: Host) -> list[str]:
    """Puma, the streaming processes and Sidekiq of `host`, as their units are named."""
    units = ["mastodon-web.service"] if host.web else []
    if host.streaming:
        units += [f"mastodon-streaming@{port}.service" for port in host.streaming.ports]
    return units + [process.unit for process in host.sidekiq]
