"""Instance-wide settings of the fleet: every host sees these.

Secrets are never written here, only referenced as "secret:NAME"; their values live in the
age-encrypted secrets file (`mastofleet secrets init`) or in MASTOFLEET_SECRET_<NAME>.
"""

fleet_name = "hachyderm"

instance = {
    "local_domain": "hachyderm.example",
    "version": "v4.6.5",
    "default_locale": "en",
    # Where the code comes from and how its runtime is installed (see mastofleet.model.CodeSource/Install).
    "source": {"git_url": "https://github.com/mastodon/mastodon.git"},
    "install": {"ruby": "debian", "node": "nodesource", "yarn_command": "yarn"},
}

private_network = "10.0.0.0/16"

postgres = {
    "version": 17,
    "memory_mb": 16384,  # a CCX33-class db host
    "cpus": 8,
    "max_connections": 300,
    "reserved_connections": 10,
    "password": "secret:postgres_password",
}

pgbouncer = {"enabled": True, "max_client_connections": 1000, "default_pool_size": 150, "reserve_pool_size": 20}

redis = {"password": "secret:redis_password"}

object_storage = {
    "provider": "spaces",
    "endpoint": "https://fra1.digitaloceanspaces.com",
    "region": "fra1",
    "bucket": "hachyderm-media",
    "alias_host": "media.hachyderm.example",
    "access_key": "secret:object_storage_access_key",
    "secret_key": "secret:object_storage_secret_key",
}

smtp = {
    "server": "smtp.hachyderm.example",
    "port": 587,
    "login": "mastodon",
    "password": "secret:smtp_password",
    "from_address": "notifications@hachyderm.example",
}

tls = {"mode": "certbot", "email": "admin@hachyderm.example"}

# Prometheus on the `monitor` host scrapes every exporter of the fleet; Alertmanager mails the operators
# through `smtp` (see mastofleet.model.Monitoring). Targets are never listed here: they come from the hosts.
monitoring = {
    "scrape_interval_seconds": 15,
    "retention_days": 30,
    "alertmanager": {
        "enabled": True,
        "receivers": [{"name": "operators", "email_to": "ops@hachyderm.example"}],
    },
}

# Relative to the project directory; committed encrypted, decrypted in memory at deploy time.
secrets_file = "secrets/hachyderm.json"

# The people who run the fleet: each has an account of their own (never a shared login), their own
# SSH keys, and the networks they connect from; the Hetzner firewall opens SSH to these only.
# The example keys' private halves were thrown away: replace them with your operators' keys.
operators = [
    {
        "name": "alice",
        "ssh_keys": [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJXBHnMmH37wjBYDD0G3NL6M8HmOA4/UzVmXZSk8jSNP alice@hachyderm.example"
        ],
        "source_cidrs": ["198.51.100.0/28", "2001:db8:a11c::/48"],
    },
    {
        "name": "bob",
        "ssh_keys": [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINiFknup/hZoVgODGS5qSJcfcrR5FJnnAYaRDE9bwOWE bob@hachyderm.example"
        ],
        "source_cidrs": ["192.0.2.64/27"],
    },
]

# Backups: pgBackRest to a bucket of their own (never the public media bucket), in the same store.
backup = {"bucket": "hachyderm-backups"}
