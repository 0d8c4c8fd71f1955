"""The pyinfra runtime above the roles: what deploy.py runs for each host (deployment), the
one-host-at-a-time rollout, the run records, the disk guard before PostgreSQL, and starting
pyinfra on the project (pyinfra_deploy). The roles' own pyinfra mechanics are `mastofleet.deploys.operations`.
"""
