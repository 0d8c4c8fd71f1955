"""What an old primary outside the fleet needs before the db host can replicate it: rendered from
the model, like everything else (an operator puts it there; mastofleet does not manage that host).

PostgreSQL on the old primary must run with wal_level = replica (the default) and ssl = on, listen
on the address the db host reaches, have a role with REPLICATION and LOGIN whose password is the
secret `database_migration.password` names, and admit the lines of `hba_lines`.
"""

from __future__ import annotations

from mastofleet.model import Fleet
from mastofleet.views.templating import render


def hba_lines(fleet: Fleet) -> str:
    """pg_hba.conf lines for the old primary: the db host's replication over TLS, the app hosts' writes."""
    assert fleet.database_migration is not None
    return render(
        "database/old-primary-hba.conf.j2",
        fleet=fleet,
        migration=fleet.database_migration,
        postgres=fleet.postgres,
        target=fleet.db_host,
        app_hosts=fleet.app_hosts,
    )
