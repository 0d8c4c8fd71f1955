"""The local fleet while its database migrates: the hosts of inventories/local.py, with the old
primary `alice` (tests/support/old_primary.py) as database_migration.source, so nixie is built as
its streaming replica and the app writes to alice until `mastofleet cutover`. Used by
tests/fleet/test_database_cutover.py and bench/database_cutover.py only."""

from mastofleet.local.inventory import local_host
from mastofleet.local.machines import MACHINES, ssh_key_path, state_directory

_MIGRATION = {
    "source": MACHINES["alice"].address,
    "ssh_key_file": str(ssh_key_path()),
    # nixie holds the shared fleet's database, which alice starts from: a rehearsal may replace it
    "replace_target_data": True,
    "catch_up_timeout": 10,
    "record_file": str(state_directory() / "database-cutover.json"),
}


def _host(name):
    return local_host(name, database_migration=_MIGRATION)


db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
monitor = [_host("nixie")]
# group_data/local.py applies to the hosts of a group named `local` (pyinfra names one after the file)
local = [_host(name) for name in ("nixie", "freud", "fritz", "franz", "esme")]
