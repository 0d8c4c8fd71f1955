"""Deploy the Mastodon fleet: `pyinfra inventories/hetzner.py deploy.py`.

The whole fleet is validated first (every problem listed, nothing touched when any is found),
then each host gets its roles: base, PostgreSQL and PgBouncer, Redis, the Mastodon application
with web, streaming and Sidekiq, and nginx.
"""

from mastofleet.runtime.deployment import deploy_current_host

deploy_current_host()
