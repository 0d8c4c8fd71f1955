"""The same fleet as `hetzner.py`, as systemd-nspawn hosts on this machine (`mastofleet local up`).

Only addresses and connection settings differ; the groups and group_data are the same.
"""

from mastofleet.local.inventory import local_host as _host

db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
monitor = [_host("nixie")]
