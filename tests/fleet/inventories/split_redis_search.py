"""The local fleet grown by two services: nixie also runs a cache Redis (port 6380, no persistence,
LRU at 64 MB) and a Sidekiq Redis (port 6381, persistent) beside the main one, and full-text search
points at an external cluster address (outsider's; the stand-in's `tootctl search deploy` records
it without contacting it: no Elasticsearch or OpenSearch can be installed here). Used by
tests/fleet/test_split_redis_search.py only, so the shared local fleet stays as inventories/local.py has it."""

from mastofleet.local.machines import MACHINES, ssh_key_path

_SERVICES = {
    "redis_cache": {"maxmemory_mb": 64},
    "redis_sidekiq": {},
    "search": {"external_host": MACHINES["outsider"].address, "preset": "single_node_cluster"},
    # no host in `monitor`: group_data/all.py's Alertmanager would have nowhere to run
    "monitoring": {},
}


def _host(name):
    address = str(MACHINES[name].address)
    return (
        name,
        {
            "ssh_hostname": address,
            "ssh_user": "root",
            "ssh_key": str(ssh_key_path()),
            "ssh_strict_host_key_checking": "no",
            "ssh_known_hosts_file": "/dev/null",
            "private_address": address,
            "public_address": address,
            **_SERVICES,
        },
    )


db = [_host("nixie")]
redis = [_host("nixie")]
redis_cache = [_host("nixie")]
redis_sidekiq = [_host("nixie")]
lb = [_host("nixie")]
app = [_host("freud"), _host("fritz"), _host("franz")]
edge = [_host("esme")]
# group_data/local.py applies to the hosts of a group named `local` (pyinfra names one after the file)
local = [_host(name) for name in ("nixie", "freud", "fritz", "franz", "esme")]
