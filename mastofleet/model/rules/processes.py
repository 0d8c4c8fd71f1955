"""Rules over the Sidekiq processes: every queue listened on, pools that fit the threads."""

from __future__ import annotations

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.queues import QUEUES, SCHEDULER_QUEUE


def queue_listeners(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    listeners: dict[str, list[str]] = {queue: [] for queue in QUEUES}
    for host in fleet.hosts:
        for process in host.sidekiq:
            for queue in dict.fromkeys(process.queue_names):  # a queue listed twice is one listener
                if queue not in listeners:
                    problems.append(
                        Problem(
                            host.name,
                            f"sidekiq[{process.name}].queues",
                            f"unknown queue '{queue}'",
                            f"use one of {', '.join(QUEUES)}",
                        )
                    )
                    continue
                listeners[queue].append(f"{host.name}/{process.name}")
    schedulers = listeners[SCHEDULER_QUEUE]
    if len(schedulers) > 1:
        problems.append(
            Problem(
                "fleet",
                "sidekiq.queues",
                f"{len(schedulers)} processes listen on 'scheduler' ({', '.join(schedulers)}); "
                "scheduled jobs would run several times",
                "keep 'scheduler' on exactly one process",
            )
        )
    for queue in QUEUES:
        if not listeners[queue]:
            problems.append(
                Problem(
                    "fleet",
                    "sidekiq.queues",
                    f"no Sidekiq process listens on '{queue}'; its jobs would never run",
                    f"add '{queue}' to a process's queues",
                )
            )
    return problems


def database_pools(fleet: Fleet) -> list[Problem]:
    return [
        Problem(
            host.name,
            f"sidekiq[{process.name}].db_pool",
            f"DB_POOL {process.pool} is below its {process.threads} threads; threads would wait for connections",
            f"set db_pool to at least {process.threads}",
        )
        for host in fleet.hosts
        for process in host.sidekiq
        if process.pool < process.threads
    ]
