"""The roles: one module per role, each defining its `Component` (`mastofleet.deploys.component`).

`mastofleet.deploys.registry` lists them in order; importing one role imports only what it needs.
"""
