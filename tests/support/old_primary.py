"""The old primary of a database migration on the local fleet: `alice` (booted only when named),
the basement server of the seed, running PostgreSQL 17 with a database of known content.

It is prepared the way an operator prepares an old primary for `database_migration`: listening on
its private address with TLS (Debian's default snakeoil certificate), the pg_hba lines mastofleet
renders for it (`mastofleet.database.source`), the application's role with the fleet's
postgres_password and a replication role with source_replication_password. Both are stored as
SCRAM verifiers computed here and sent over SSH's stdin: no password is on a command line.

The content: the shared fleet's own database (pg_dump from nixie, so the application finds its
tables) and `legacy_statuses`, generated from a row count so its size is known (about 1 GB at
3,200,000 rows).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mastofleet.database.source import hba_lines
from mastofleet.deploys.postgres import scram_verifier
from mastofleet.local.machines import MACHINES, ssh_config_path
from mastofleet.model import Fleet
from mastofleet.model.secrets_reference import secret_name
from mastofleet.project.fleet import load_fleet, project_directory
from mastofleet.project.secrets import SecretStore
from mastofleet.views.replication import slot_name
from support.remote import ssh

OLD_PRIMARY = "alice"
VERSION = 17
CONFIGURATION = f"/etc/postgresql/{VERSION}/main"
LEGACY_TABLE = "legacy_statuses"


def psql(host: str, sql: str, database: str = "postgres") -> str:
    """Run SQL read from stdin as postgres on `host`; returns its unaligned output."""
    return ssh(host, f"runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d {database}", stdin=sql)


@dataclass(frozen=True)
class OldPrimary:
    address: str
    legacy_rows: int


def settings() -> str:
    address = MACHINES[OLD_PRIMARY].address
    return (
        "# the old primary of the local fleet's database migration (tests/support/old_primary.py)\n"
        f"listen_addresses = 'localhost,{address}'\nwal_level = replica\nmax_wal_senders = 10\n"
        "password_encryption = scram-sha-256\nssl = on\n"
    )


def hba(fleet: Fleet) -> str:
    return "local all postgres peer\nlocal all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n" + hba_lines(fleet)


def start_old_primary(inventory: str, legacy_rows: int) -> OldPrimary:
    """alice as a fresh old primary holding the shared fleet's database and `legacy_rows` generated rows.

    Anything a previous run left there (the fence, the slot, the database) is reset first."""
    mastofleet = str(Path(sys.executable).with_name("mastofleet"))
    subprocess.run([mastofleet, "local", "up", OLD_PRIMARY], check=True, capture_output=True)
    fleet, loaded = load_fleet(inventory)
    store = SecretStore.for_fleet_data(next(iter(loaded)).data.dict(), project_directory(inventory))
    migration = fleet.database_migration
    assert migration is not None
    ssh(OLD_PRIMARY, f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-{VERSION} >/dev/null")
    ssh(OLD_PRIMARY, f"cat > {CONFIGURATION}/conf.d/50-old-primary.conf", stdin=settings())
    ssh(OLD_PRIMARY, f"cat > {CONFIGURATION}/pg_hba.conf", stdin=hba(fleet))
    database, user = fleet.postgres.database, fleet.postgres.user
    application = scram_verifier(user, store.reveal(secret_name(fleet.postgres.password)))
    replication = scram_verifier(migration.user, store.reveal(secret_name(migration.password)))
    slot = slot_name(fleet.db_host)
    # the settings above take a restart; a previous run's fence is undone, and restarted away too
    ssh(OLD_PRIMARY, f"systemctl restart postgresql@{VERSION}-main")
    psql(OLD_PRIMARY, "ALTER SYSTEM RESET default_transaction_read_only;\n")
    ssh(OLD_PRIMARY, f"systemctl restart postgresql@{VERSION}-main")
    psql(
        OLD_PRIMARY,
        f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}';\n"
        f"DROP DATABASE IF EXISTS {database} WITH (FORCE);\n"
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN CREATE ROLE {user};"
        f" END IF; IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{migration.user}') THEN"
        f" CREATE ROLE {migration.user}; END IF; END $$;\n"
        f"ALTER ROLE {user} LOGIN PASSWORD '{application}';\n"
        f"ALTER ROLE {migration.user} LOGIN REPLICATION PASSWORD '{replication}';\n"
        f"CREATE DATABASE {database} OWNER {user};\n",
    )
    copy_database(fleet)
    fill_legacy_table(fleet, legacy_rows)
    return OldPrimary(MACHINES[OLD_PRIMARY].address, legacy_rows)


def copy_database(fleet: Fleet) -> None:
    """The shared fleet's database (nixie's) into alice's: the tables the application expects."""
    database = fleet.postgres.database
    dump = subprocess.Popen(
        ["ssh", "-F", str(ssh_config_path()), "nixie", f"runuser -u postgres -- pg_dump --no-publications {database}"],
        stdout=subprocess.PIPE,
    )
    restore = subprocess.run(
        [
            "ssh",
            "-F",
            str(ssh_config_path()),
            OLD_PRIMARY,
            f"runuser -u postgres -- psql -XqAt -v ON_ERROR_STOP=1 -d {database}",
        ],
        stdin=dump.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert dump.stdout is not None
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        raise RuntimeError(f"copying nixie's {database} to {OLD_PRIMARY} failed: {restore.stderr[-2000:]}")


def fill_legacy_table(fleet: Fleet, rows: int) -> None:
    """Rows of about 330 bytes each, generated from their id: their content is known without reading it."""
    psql(
        OLD_PRIMARY,
        f"CREATE TABLE {LEGACY_TABLE} (id bigserial PRIMARY KEY, account_id integer NOT NULL, text text NOT NULL,"
        " created_at timestamptz NOT NULL);\n"
        f"ALTER TABLE {LEGACY_TABLE} OWNER TO {fleet.postgres.user};\n"
        f"INSERT INTO {LEGACY_TABLE} (account_id, text, created_at) SELECT i % 5000, repeat(md5(i::text), 8),"
        f" timestamptz '2022-11-01 00:00:00+00' + i * interval '1 second' FROM generate_series(1, {rows}) AS i;\n"
        f"SELECT setval('{LEGACY_TABLE}_id_seq', {rows});\nCHECKPOINT;\n",
        database=fleet.postgres.database,
    )


def table_checksums(host: str, database: str, up_to: dict[str, int] | None = None) -> dict[str, tuple[int, str]]:
    """Per table of the public schema: (rows, checksum over every row's text), only ids up to `up_to[table]`."""
    tables = psql(
        host, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename;\n", database
    ).split()
    sums = {}
    for table in tables:
        where = f" WHERE id <= {up_to[table]}" if up_to and table in up_to else ""
        count, checksum = psql(
            host,
            f"SELECT count(*), COALESCE(sum(hashtextextended(t::text, 0)), 0) FROM {table} AS t{where};\n",
            database,
        ).split("|")
        sums[table] = (int(count), checksum.strip())
    return sums


def max_ids(host: str, database: str) -> dict[str, int]:
    tables = psql(
        host,
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id';\n",
        database,
    ).split()
    return {table: int(psql(host, f"SELECT COALESCE(max(id), 0) FROM {table};\n", database)) for table in tables}


def stop_old_primary() -> None:
    ssh(OLD_PRIMARY, f"systemctl stop postgresql@{VERSION}-main")


def as_postgres(host: str, sql: str, database: str = "mastodon_production") -> str:
    """One statement as postgres on a fleet host (on the command line: it holds no secret)."""
    return ssh(host, f'runuser -u postgres -- psql -XtA -d {database} -c "{sql}"').strip()


def put_shared_fleet_back(record: Path) -> None:
    """Whatever state a run stopped in: nixie a primary serving the site, deployed from the shared
    inventory, without the generated table; alice's PostgreSQL stopped."""
    from mastofleet.deploys import nginx
    from support.deploy_run import run_deploy

    if as_postgres("nixie", "SELECT pg_is_in_recovery()") == "t":
        as_postgres("nixie", "SELECT pg_promote(true, 60)")
    ssh("nixie", nginx.switch_variant_command(nginx.SERVING))
    record.unlink(missing_ok=True)
    result = run_deploy("inventories/local.py")
    if result.returncode != 0 or result.failed:
        raise RuntimeError(f"the shared fleet's deploy failed: {result.failed}\n{result.output[-5000:]}")
    as_postgres("nixie", f"DROP TABLE IF EXISTS {LEGACY_TABLE}")
    stop_old_primary()
