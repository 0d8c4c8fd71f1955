"""The local fleet with a read replica: the hosts of inventories/local.py, plus `hermine` (booted
only when named) in the db_replica group. Used by tests/fleet/test_read_replica.py and
bench/read_replica.py only, so the shared local fleet has no replica otherwise."""

from mastofleet.local.inventory import local_host

db = [local_host("nixie")]
redis = [local_host("nixie")]
lb = [local_host("nixie")]
app = [local_host("freud"), local_host("fritz"), local_host("franz")]
edge = [local_host("esme")]
monitor = [local_host("nixie")]
db_replica = [local_host("hermine")]
# group_data/local.py applies to the hosts of a group named `local` (pyinfra names one after the file)
local = [local_host(name) for name in ("nixie", "freud", "fritz", "franz", "esme", "hermine")]
