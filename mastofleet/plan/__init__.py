"""What the roles add up to on each host, read from the role registry: its files (and their render
to disk), its firewall rules, the services `status` and `doctor` watch, and the metrics endpoints Prometheus scrapes.

These sit above the roles (they import `mastofleet.deploys.registry`); no role imports them.
"""
