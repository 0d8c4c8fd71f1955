"""Provisioning: the fleet's servers, network and firewall on Hetzner Cloud, and its media bucket.

`mastofleet provision plan | apply | destroy INVENTORY` (the command: `mastofleet.commands.provision`).
What to create comes from the fleet model; what exists is read from the provider's API; the difference is the plan.
"""
