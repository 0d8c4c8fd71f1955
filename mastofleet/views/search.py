"""Full-text search as the app sees it: where it finds the cluster (the rules are `mastofleet.model.rules.search`).

Search is on when the fleet has hosts in the group `search` (mastofleet installs them) or a
`search.external_host` (a cluster someone else runs). The app then gets ES_ENABLED, ES_HOST,
ES_PORT and ES_PRESET, and `tootctl search deploy` creates the indices once.
"""

from __future__ import annotations

from dataclasses import dataclass

from mastofleet.model import REPLICAS, Fleet, Role, search_settings

__all__ = ["REPLICAS", "SearchEndpoint", "search_endpoint", "search_settings"]


@dataclass(frozen=True)
class SearchEndpoint:
    """Where the app sends its search requests."""

    host: str
    port: int
    preset: str
    managed: bool  # installed by mastofleet on the search hosts

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def search_endpoint(fleet: Fleet) -> SearchEndpoint | None:
    """The cluster the app uses, or None when search is off."""
    settings = search_settings(fleet)
    hosts = fleet.with_role(Role.search)
    if hosts:
        # Any node answers for the whole cluster; ES_HOST takes one address.
        return SearchEndpoint(str(hosts[0].private_address), settings.port, settings.preset, managed=True)
    if fleet.search is not None and fleet.search.external_host:
        return SearchEndpoint(fleet.search.external_host, settings.port, settings.preset, managed=False)
    return None
