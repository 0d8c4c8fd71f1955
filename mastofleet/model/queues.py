"""Mastodon's Sidekiq queues (config/sidekiq.yml of v4.6.5)."""

from __future__ import annotations

# Every queue Mastodon enqueues onto; a queue no process listens on never runs its jobs.
QUEUES: tuple[str, ...] = ("default", "push", "ingress", "mailers", "pull", "scheduler", "fasp")

# Only the process listening on this queue runs the cron-like schedule (listened_queues_only).
SCHEDULER_QUEUE = "scheduler"
