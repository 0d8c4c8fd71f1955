"""Full-text search as the fleet sees it: where the app finds the cluster, and the rules for it.

Search is on when the fleet has hosts in the group `search` (mastofleet installs them) or a
`search.external_host` (a cluster someone else runs). The app then gets ES_ENABLED, ES_HOST,
ES_PORT and ES_PRESET, and `tootctl search deploy` creates the indices once.
"""

from __future__ import annotations

from dataclasses import dataclass

from mastofleet.model import Fleet, Role, Search
from mastofleet.problems import Problem

# ES_PRESET's replica count per preset (Mastodon's chewy settings): a replica needs a second node.
REPLICAS = {"single_node_cluster": 0, "small_cluster": 1, "large_cluster": 1}


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


def search_settings(fleet: Fleet) -> Search:
    return fleet.search or Search()


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


def search_problems(fleet: Fleet) -> list[Problem]:
    hosts = fleet.with_role(Role.search)
    settings = fleet.search
    problems: list[Problem] = []
    if settings is not None and settings.external_host and hosts:
        problems.append(
            Problem(
                "search",
                "external_host",
                f"an external cluster is given and {len(hosts)} host(s) are in the group 'search'",
                "use either the search hosts or external_host",
            )
        )
    if settings is not None and not settings.external_host and not hosts:
        problems.append(
            Problem(
                "search",
                "(section)",
                "search settings are given but no host is in the group 'search' and no external_host is set",
                "add a host to the inventory group 'search', set external_host, or remove the search settings",
            )
        )
    preset = search_settings(fleet).preset
    if hosts and REPLICAS[preset] >= len(hosts):
        problems.append(
            Problem(
                "search",
                "preset",
                f"ES_PRESET {preset} keeps {REPLICAS[preset]} replica(s) of each shard, which {len(hosts)} search "
                "host(s) cannot place: the cluster would stay yellow",
                "use single_node_cluster or add search hosts",
            )
        )
    for host in hosts:
        if host.memory_mb is not None and search_settings(fleet).heap_mb * 2 > host.memory_mb:
            problems.append(
                Problem(
                    host.name,
                    "search.heap_mb",
                    f"a heap of {search_settings(fleet).heap_mb} MB is more than half the host's {host.memory_mb} MB;"
                    " Lucene needs the rest for the file cache",
                    f"set search.heap_mb to at most {host.memory_mb // 2}",
                )
            )
    return problems
