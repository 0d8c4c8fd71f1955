"""The local fleet with a fifth app host, frieda: one entry more in the `app` group than
inventories/local.py. Used by tests/fleet/test_grow.py to add and remove an app host under load."""

from mastofleet.local.inventory import local_host

_APP_HOSTS = ("freud", "fritz", "franz", "frieda")

db = [local_host("nixie")]
redis = [local_host("nixie")]
lb = [local_host("nixie")]
app = [local_host(name) for name in _APP_HOSTS]
edge = [local_host("esme")]
monitor = [local_host("nixie")]
# group_data/local.py applies to the hosts of a group named `local` (pyinfra names one after the file)
local = [local_host(name) for name in ("nixie", *_APP_HOSTS, "esme")]
