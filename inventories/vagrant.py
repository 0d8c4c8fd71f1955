"""The same fleet as `hetzner.py`, as the Vagrant VMs of the `Vagrantfile` (pyinfra's @vagrant connector).

Only addresses and connection settings differ; the groups and group_data are the same.
"""


def _host(name, address):
    return (f"@vagrant/{name}", {"private_address": address, "public_address": address})


db = [_host("nixie", "192.168.56.11")]
redis = [_host("nixie", "192.168.56.11")]
lb = [_host("nixie", "192.168.56.11")]
app = [_host("freud", "192.168.56.12"), _host("fritz", "192.168.56.13"), _host("franz", "192.168.56.14")]
edge = [_host("esme", "192.168.56.15")]
monitor = [_host("nixie", "192.168.56.11")]
