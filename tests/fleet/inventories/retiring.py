"""The local fleet retiring frieda: inventories/local.py plus frieda in the `retired` group (it
was an app host in grown.py). Used by tests/fleet/test_grow.py to remove an app host under load."""

from mastofleet.local.inventory import local_host

_APP_HOSTS = ("freud", "fritz", "franz")

db = [local_host("nixie")]
redis = [local_host("nixie")]
lb = [local_host("nixie")]
app = [local_host(name) for name in _APP_HOSTS]
edge = [local_host("esme")]
monitor = [local_host("nixie")]
retired = [local_host("frieda")]
# group_data/local.py applies to the hosts of a group named `local` (pyinfra names one after the file)
local = [local_host(name) for name in ("nixie", *_APP_HOSTS, "esme", "frieda")]
