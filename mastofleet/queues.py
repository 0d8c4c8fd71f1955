"""Mastodon's Sidekiq queues: kept here for old imports; the model holds them (`mastofleet.model.queues`)."""

from mastofleet.model.queues import QUEUES, SCHEDULER_QUEUE

__all__ = ["QUEUES", "SCHEDULER_QUEUE"]
