"""Provisioning: the fleet's servers, network and firewall on Hetzner Cloud, and its media bucket.

`mastofleet provision plan | apply | destroy INVENTORY` (see `command.py`). What to create comes from
the fleet model; what exists is read from the provider's API; the difference is the plan.
"""
