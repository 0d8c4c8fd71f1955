"""PostgreSQL on a host, asked over SSH as the postgres user: the fleet's db hosts (SSH settings
from the inventory) and the old primary outside the fleet (SSH settings from database_migration).

Queries are fixed text written here; nothing they carry is a secret, and no password is needed:
psql runs on the server host itself, over its local socket, with peer authentication.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mastofleet.model import DatabaseMigration, Fleet
from mastofleet.project.fleet import fleet_host_name
from mastofleet.remote import Remote, connected


def old_primary_ssh(migration: DatabaseMigration) -> dict[str, Any]:
    return {
        "ssh_hostname": migration.ssh_host or migration.source,
        "ssh_user": migration.ssh_user,
        "ssh_port": migration.ssh_port,
        "ssh_key": migration.ssh_key_file,
    }


class Hosts:
    """How to reach the fleet's hosts (by inventory data) and the old primary (by the model)."""

    def __init__(self, fleet: Fleet, inventory: Any) -> None:
        self.fleet = fleet
        self.by_name = {fleet_host_name(item.name): item.data.dict() for item in inventory}

    def host(self, name: str) -> Any:
        return connected(name, self.by_name[name])

    def old_primary(self) -> Any:
        migration = self.fleet.database_migration
        assert migration is not None
        # Its host key is checked as the fleet's are: by the inventory's known-hosts settings.
        checking = {
            key: value
            for key, value in next(iter(self.by_name.values()), {}).items()
            if key in ("ssh_known_hosts_file", "ssh_strict_host_key_checking")
        }
        return connected(f"the old primary {migration.endpoint}", {**old_primary_ssh(migration), **checking})


# --- what the status and the cutover ask ------------------------------------------------------


@dataclass(frozen=True)
class ServerState:
    """One PostgreSQL server: primary or standby, its version and where its WAL stands."""

    in_recovery: bool
    version_number: int  # server_version_num, e.g. 170012
    version: str
    position: str  # pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby
    read_only: bool  # default_transaction_read_only: a fenced old primary

    @property
    def major(self) -> int:
        return self.version_number // 10000


def server_state(remote: Remote) -> ServerState:
    (row,) = remote.psql(
        "SELECT pg_is_in_recovery(), current_setting('server_version_num'), current_setting('server_version'),"
        " CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,"
        " current_setting('default_transaction_read_only')"
    )
    return ServerState(row[0] == "t", int(row[1]), row[2].split()[0], row[3], row[4] == "on")


@dataclass(frozen=True)
class Stream:
    """A standby streaming from this server, as the server sees it (pg_stat_replication and its slot)."""

    standby: str  # application_name: the standby's host name
    address: str
    state: str
    replay_position: str
    lag_bytes: int
    lag_seconds: float
    slot: str
    slot_holds_bytes: int


def streams(remote: Remote) -> list[Stream]:
    rows = remote.psql(
        "SELECT r.application_name, host(r.client_addr), r.state, COALESCE(r.replay_lsn::text, ''),"
        " COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn), 0)::bigint,"
        " COALESCE(EXTRACT(epoch FROM r.replay_lag), 0), COALESCE(s.slot_name, ''),"
        " COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::bigint"
        " FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid"
        " ORDER BY r.application_name"
    )
    return [Stream(row[0], row[1], row[2], row[3], int(row[4]), float(row[5]), row[6], int(row[7])) for row in rows]


@dataclass(frozen=True)
class Slot:
    name: str
    active: bool
    holds_bytes: int


def slots(remote: Remote) -> list[Slot]:
    position = "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END"
    rows = remote.psql(
        f"SELECT slot_name, active, COALESCE(pg_wal_lsn_diff({position}, restart_lsn), 0)::bigint"
        " FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name"
    )
    return [Slot(row[0], row[1] == "t", int(row[2])) for row in rows]


@dataclass(frozen=True)
class Receiver:
    """This standby's WAL receiver (pg_stat_wal_receiver): whom it streams from, and how."""

    status: str  # streaming, waiting, ... ; empty when no receiver runs
    sender: str  # host:port
    slot: str


def receiver(remote: Remote) -> Receiver:
    rows = remote.psql(
        "SELECT status, sender_host || ':' || sender_port, COALESCE(slot_name, '') FROM pg_stat_wal_receiver"
    )
    if not rows:
        return Receiver("", "", "")
    return Receiver(rows[0][0], rows[0][1], rows[0][2])


def lsn_bytes(position: str) -> int:
    """A WAL position (e.g. 0/5A0001E8) as a byte offset, to subtract two of them."""
    high, low = position.split("/")
    return (int(high, 16) << 32) + int(low, 16)
