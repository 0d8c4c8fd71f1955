"""Rules over full-text search: hosts or an external cluster, a preset the hosts can hold, a heap that fits."""

from __future__ import annotations

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.roles import Role
from mastofleet.model.search import REPLICAS, Search


def search_settings(fleet: Fleet) -> Search:
    return fleet.search or Search()


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
