"""The same fleet as `hetzner.py`, as the Vagrant machines of the `Vagrantfile` (pyinfra's @vagrant connector).

Only addresses and connection settings differ; the groups and group_data are the same. Every machine
must be running (`vagrant up`): the connector asks `vagrant status` for each. The reduced fleet of
the dry run on this machine is `vagrant_dry_run.py`.
"""

from mastofleet.vagrant.inventory import vagrant_host as _host

db = [_host("nixie")]
redis = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
monitor = [_host("nixie")]
