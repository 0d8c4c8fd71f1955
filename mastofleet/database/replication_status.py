"""`mastofleet db status INVENTORY`: every PostgreSQL server of the fleet (and, while the database
migrates, the old primary), which are standbys of which, and how far behind each one is.

Lag is read on the upstream (pg_stat_replication): bytes between its current WAL position and what
the standby has replayed, and the time that replay took (`replay_lag`, 0 when idle and caught up).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mastofleet.database.queries import Hosts, Slot, Stream, receiver, server_state, slots, streams
from mastofleet.deploys.standby import STATUS_FILE
from mastofleet.model import Fleet, Role
from mastofleet.project import cutover_record
from mastofleet.remote import RemoteError
from mastofleet.views.replication import upstream_of
from mastofleet.views.report import table


@dataclass
class Server:
    label: str
    role: str  # "primary", "standby", "old primary" ...
    state: str = ""  # what the server says about itself
    streams: list[Stream] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def size(count: int) -> str:
    """Bytes for people: 512 B, 1.5 kB, 16.0 MB, 1.1 GB."""
    if abs(count) < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("kB", "MB"):
        value /= 1024
        if abs(value) < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} GB"


def _ask(server: Server, connect: Any, expects_standby: bool, upstream: str | None) -> None:
    try:
        with connect as remote:
            state = server_state(remote)
            server.streams = streams(remote)
            server.slots = slots(remote)
            build = remote.run(f"cat {STATUS_FILE} 2>/dev/null || true").strip()
            wal = receiver(remote) if state.in_recovery else None
    except RemoteError as error:
        server.problems.append(str(error))
        server.state = "unreachable"
        return
    kind = "standby" if state.in_recovery else "primary"
    server.state = f"{kind}, PostgreSQL {state.version}, WAL {state.position}" + (
        ", read-only" if state.read_only else ""
    )
    if wal is not None:
        server.state += f"; receiving from {wal.sender or '-'}: {wal.status or 'no WAL receiver'}"
        if expects_standby and wal.status != "streaming":
            server.problems.append(
                f"{server.label} is not streaming from {upstream} ({wal.status or 'no WAL receiver'})"
            )
    if build:
        built = json.loads(build)
        seconds = built["milliseconds"] / 1000
        rate = built["bytes"] / seconds / 1e6 if seconds else 0.0
        server.state += f"; built from {built['upstream']}: {size(built['bytes'])} in {seconds:.1f} s ({rate:.1f} MB/s)"
    if expects_standby and not state.in_recovery:
        server.problems.append(f"{server.label} should be a standby of {upstream} but is a primary")


def database_status(fleet: Fleet, inventory: Any, project: str) -> tuple[str, bool]:
    hosts = Hosts(fleet, inventory)
    servers: list[Server] = []
    expected: dict[str, str] = {}  # standby name -> upstream label
    migration = fleet.database_migration if fleet.migrating_database else None
    if migration is not None:
        old = Server(f"old primary {migration.endpoint}", "old primary")
        _ask(old, hosts.old_primary(), False, None)
        servers.append(old)
    for host in [*fleet.with_role(Role.db), *fleet.replica_hosts]:
        upstream = upstream_of(fleet, host)
        label = f"{host.name} ({', '.join(role.value for role in host.roles if role.value.startswith('db'))})"
        server = Server(label, "standby" if upstream else "primary")
        _ask(server, hosts.host(host.name), upstream is not None, upstream.endpoint if upstream else None)
        servers.append(server)
        if upstream is not None:
            expected[host.name] = upstream.description
    lines = [table(["server", "state"], [[server.label, server.state] for server in servers])]
    rows = []
    seen: set[str] = set()
    for server in servers:
        for stream in server.streams:
            seen.add(stream.standby)
            rows.append(
                [
                    server.label,
                    stream.standby,
                    stream.state,
                    str(stream.lag_bytes),
                    f"{stream.lag_seconds:.3f}",
                    stream.slot or "-",
                    size(stream.slot_holds_bytes) if stream.slot else "-",
                ]
            )
        for slot in server.slots:
            if not slot.active:
                rows.append([server.label, "-", "slot inactive", "-", "-", slot.name, size(slot.holds_bytes)])
    lines += ["", "replication, seen from each upstream:"]
    lines.append(
        table(["upstream", "standby", "state", "lag bytes", "lag s", "slot", "WAL held"], rows) if rows else "  none"
    )
    problems = [problem for server in servers for problem in server.problems]
    for standby, source in expected.items():
        if standby not in seen and not any(problem.startswith("the old primary") for problem in problems):
            problems.append(f"{source} has no streaming connection from {standby}")
    if migration is not None:
        record = cutover_record.read_record(fleet, project)
        done = [step for step, facts in record.get("steps", {}).items() if facts.get("done")]
        lines.append("")
        lines.append("cutover: " + (f"steps done: {', '.join(done)}" if done else "not started"))
    if problems:
        lines += ["", "problems:", *(f"  - {problem}" for problem in problems)]
    return "\n".join(lines), not problems
