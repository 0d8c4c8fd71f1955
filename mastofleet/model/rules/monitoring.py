"""Rules over monitoring: one monitor host, known queues, receivers that reach someone."""

from __future__ import annotations

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.queues import QUEUES
from mastofleet.model.roles import Role
from mastofleet.model.rules.shared import one_host_only, repeated


def monitoring_settings(fleet: Fleet) -> list[Problem]:
    problems = one_host_only(
        fleet,
        Role.monitor,
        "each would alert on its own and every alert would arrive twice",
        "keep one host in 'monitor'",
    )
    for queue in fleet.monitoring.sidekiq_latency_seconds:
        if queue not in QUEUES:
            problems.append(
                Problem(
                    "monitoring",
                    f"sidekiq_latency_seconds.{queue}",
                    f"unknown queue '{queue}'",
                    f"use one of {', '.join(QUEUES)}",
                )
            )
    alertmanager = fleet.monitoring.alertmanager
    if not alertmanager.enabled:
        return problems
    if not alertmanager.receivers:
        problems.append(
            Problem(
                "monitoring",
                "alertmanager.receivers",
                "Alertmanager is enabled but has nowhere to send alerts",
                "add a receiver with email_to or webhook_url, or set enabled to false",
            )
        )
    for duplicate in repeated(receiver.name for receiver in alertmanager.receivers):
        problems.append(
            Problem("monitoring", f"alertmanager.receivers[{duplicate}]", "two receivers share a name", "rename one")
        )
    for receiver in alertmanager.receivers:
        where = f"alertmanager.receivers[{receiver.name}]"
        if not receiver.email_to and not receiver.webhook_url:
            problems.append(
                Problem("monitoring", where, "the receiver sends nothing anywhere", "give it email_to or webhook_url")
            )
        if receiver.email_to and fleet.smtp is None:
            problems.append(
                Problem(
                    "monitoring",
                    f"{where}.email_to",
                    "e-mail needs the fleet's smtp settings, and there are none",
                    "add an `smtp` section to group_data, or use a webhook",
                )
            )
    return problems
