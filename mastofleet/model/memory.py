"""What each process of a host may hold in memory, and how much memory the host has.

The figures are the resident memory to plan for, not averages: a Puma or Sidekiq process of
Mastodon 4.x with jemalloc settles at a few hundred MB and grows with each thread's working set.
They are a planning budget an operator can check on a running host with
`systemctl show -p MemoryCurrent mastodon-web.service` (and -sidekiq-NAME, -streaming@PORT,
postgresql, redis-server), and override per host (`allow_memory_overcommit`) when they know better.
"""

from __future__ import annotations

from dataclasses import dataclass

# Puma: one worker process (the Rails app loaded) plus each thread's working set.
PUMA_PROCESS_MB = 400
PUMA_THREAD_MB = 30
# Sidekiq: one process (the Rails app loaded) plus each thread's working set (jobs fetch and parse
# remote documents and images: more per thread than a web request).
SIDEKIQ_PROCESS_MB = 400
SIDEKIQ_THREAD_MB = 40
# The streaming server: one Node.js process each.
STREAMING_PROCESS_MB = 150
# PostgreSQL: each backend's own memory (catalog caches, work_mem for a sort or two) on top of
# shared_buffers, which is a quarter of postgres.memory_mb (mastofleet.deploys.postgres.tuning).
POSTGRES_CONNECTION_MB = 10
# What the system keeps for itself: kernel, journald, sshd, nginx, exporters, page cache headroom.
SYSTEM_MB = 512
# Hetzner Cloud server types and their memory in GB (Hetzner's price list, as the API reports them).
HETZNER_MEMORY_GB: dict[str, int] = {
    **{"cx22": 4, "cx23": 4, "cx32": 8, "cx33": 8, "cx42": 16, "cx43": 16, "cx52": 32, "cx53": 32},
    **{"cpx11": 2, "cpx12": 2, "cpx21": 4, "cpx22": 4, "cpx31": 8, "cpx32": 8, "cpx41": 16, "cpx42": 16},
    **{"cpx51": 32, "cpx52": 24, "cpx62": 32},
    **{"ccx13": 8, "ccx23": 16, "ccx33": 32, "ccx43": 64, "ccx53": 128, "ccx63": 192},
    **{"cax11": 4, "cax21": 8, "cax31": 16, "cax41": 32},
}


@dataclass(frozen=True)
class Share:
    """One consumer of a host's memory, with the arithmetic behind its figure."""

    what: str
    arithmetic: str
    mb: int

    def __str__(self) -> str:
        return f"{self.what} {self.arithmetic} = {self.mb} MB"


def host_memory_mb(memory_mb: int | None, server_type: str | None) -> tuple[int, str] | None:
    """The host's memory and where that figure comes from, or None when the model does not know it."""
    if memory_mb is not None:
        return memory_mb, "memory_mb"
    if server_type is not None and server_type.lower() in HETZNER_MEMORY_GB:
        return HETZNER_MEMORY_GB[server_type.lower()] * 1024, f"server type {server_type}"
    return None
