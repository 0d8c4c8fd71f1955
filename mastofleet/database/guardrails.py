"""What the cutover checks before it changes anything, and the figures it decides on.

The figures are gathered over SSH (`gather`); the decision (`refusals`) is a plain function of
them, so every rule is tested without hosts. The cutover refuses when replication is broken, when
the lag is large and not shrinking, when the two servers' major versions differ, or when the db host
has less free disk than the data needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mastofleet.database.queries import (
    Hosts,
    Receiver,
    ServerState,
    Stream,
    lsn_bytes,
    receiver,
    server_state,
    streams,
)
from mastofleet.database.replication_status import size
from mastofleet.deploys.standby import data_directory
from mastofleet.model import DatabaseMigration, Fleet

SAMPLES = 5
SAMPLE_INTERVAL = 1.0  # seconds between lag samples


@dataclass(frozen=True)
class LagSample:
    seconds: float  # since the first sample
    source_position: int  # bytes: the old primary's current WAL position
    replayed: int  # bytes: what the db host has replayed

    @property
    def lag(self) -> int:
        return max(0, self.source_position - self.replayed)


@dataclass
class Figures:
    """Everything the decision looks at; printed as it is."""

    target: str  # the db host's name
    source: ServerState
    replica: ServerState
    wal_receiver: Receiver
    stream: Stream | None  # the db host's stream, seen on the old primary
    samples: list[LagSample] = field(default_factory=list)
    free_bytes: int = 0  # on the db host's data file system
    data_bytes: int = 0  # every database of the old primary

    @property
    def replay_rate(self) -> float:
        """Bytes of WAL the db host replayed per second while sampled."""
        if len(self.samples) < 2 or self.samples[-1].seconds <= 0:
            return 0.0
        return (self.samples[-1].replayed - self.samples[0].replayed) / self.samples[-1].seconds

    @property
    def shrinking(self) -> bool:
        return len(self.samples) >= 2 and self.samples[-1].lag < self.samples[0].lag


def refusals(figures: Figures, migration: DatabaseMigration, version: int) -> list[str]:
    """Why the cutover must not start; empty when it may."""
    reasons = []
    if not figures.replica.in_recovery:
        reasons.append(f"{figures.target} is not a standby (it was promoted already, or never built)")
    if figures.wal_receiver.status != "streaming":
        reasons.append(
            f"replication is broken: {figures.target}'s WAL receiver is"
            f" '{figures.wal_receiver.status or 'not running'}', not streaming"
        )
    elif figures.wal_receiver.sender.split(":")[0] != migration.source:
        reasons.append(f"{figures.target} streams from {figures.wal_receiver.sender}, not from {migration.endpoint}")
    if figures.stream is None or figures.stream.state != "streaming":
        state = figures.stream.state if figures.stream else "no connection"
        reasons.append(f"replication is broken: the old primary sees {state} from {figures.target}")
    majors = {figures.source.major, figures.replica.major, version}
    if len(majors) != 1:
        reasons.append(
            f"incompatible versions: the old primary runs PostgreSQL {figures.source.version},"
            f" {figures.target} {figures.replica.version}, the fleet wants {version}"
        )
    if figures.samples:
        last = figures.samples[-1].lag
        if last > migration.max_lag_bytes and not figures.shrinking:
            reasons.append(
                f"the lag is not shrinking: {size(figures.samples[0].lag)} -> {size(last)} over"
                f" {figures.samples[-1].seconds:.0f} s, above database_migration.max_lag_bytes"
                f" ({size(migration.max_lag_bytes)})"
            )
    needed = int(figures.data_bytes * migration.disk_headroom)
    if figures.free_bytes < needed:
        reasons.append(
            f"{figures.target} has {size(figures.free_bytes)} free, the data needs {size(needed)}"
            f" ({size(figures.data_bytes)} x database_migration.disk_headroom {migration.disk_headroom})"
        )
    return reasons


def describe(figures: Figures, migration: DatabaseMigration) -> list[str]:
    lags = ", ".join(size(sample.lag) for sample in figures.samples) or "-"
    stream = figures.stream
    return [
        f"old primary {migration.endpoint}: PostgreSQL {figures.source.version}, WAL {figures.source.position}",
        f"{figures.target}: PostgreSQL {figures.replica.version}, replayed {figures.replica.position},"
        f" receiver {figures.wal_receiver.status or 'not running'} from {figures.wal_receiver.sender or '-'}",
        f"stream on the old primary: {stream.state if stream else 'none'}"
        + (f", slot {stream.slot}, lag {size(stream.lag_bytes)} / {stream.lag_seconds:.3f} s" if stream else ""),
        f"lag samples ({SAMPLE_INTERVAL:.0f} s apart): {lags}"
        + (" (shrinking)" if figures.shrinking else "")
        + f"; replay rate {figures.replay_rate / 1e6:.2f} MB/s",
        f"disk on {figures.target}: {size(figures.free_bytes)} free; data on the old primary"
        f" {size(figures.data_bytes)} (x {migration.disk_headroom} wanted free)",
    ]


def gather(fleet: Fleet, hosts: Hosts, samples: int = SAMPLES) -> Figures:
    target = fleet.db_host.name
    with hosts.old_primary() as source, hosts.host(target) as replica:
        source_state = server_state(source)
        data_bytes = int(source.value("SELECT sum(pg_database_size(datname))::bigint FROM pg_database") or 0)
        stream = next((item for item in streams(source) if item.standby == target), None)
        replica_state = server_state(replica)
        figures = Figures(target, source_state, replica_state, receiver(replica), stream, data_bytes=data_bytes)
        directory = data_directory(fleet.postgres)
        figures.free_bytes = int(replica.run(f"df -B1 --output=avail {directory} | tail -1").strip())
        started = time.monotonic()
        for index in range(samples):
            if index:
                time.sleep(SAMPLE_INTERVAL)
            position = lsn_bytes(source.value("SELECT pg_current_wal_lsn()"))
            replayed = replica.value("SELECT pg_last_wal_replay_lsn()")
            figures.samples.append(
                LagSample(time.monotonic() - started, position, lsn_bytes(replayed) if replayed else 0)
            )
    return figures
