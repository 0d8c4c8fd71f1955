"""The fleet model: every option of a mastofleet deployment, typed and documented in one place.

Units, env files, nginx upstreams, pg_hba, firewall rules and Prometheus targets are all rendered
from a `Fleet`. Field-level checks are pydantic validators; the cross-host rules (`fleet_problems`)
run over the whole fleet and report every problem at once.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Network
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mastofleet.access_model import Access, Backup, Firewall
from mastofleet.problems import Problem
from mastofleet.queues import QUEUES, SCHEDULER_QUEUE
from mastofleet.secrets_reference import MASTODON_SECRETS, SecretReference, secret_name

DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
VERSION_PATTERN = re.compile(r"^v\d+\.\d+\.\d+(-(alpha|beta|rc)\.\d+)?$")
HOST_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class Strict(BaseModel):
    """Base of every section: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    """What a host does; a host's roles are the inventory groups it is in."""

    db = "db"
    db_replica = "db_replica"
    redis = "redis"
    redis_cache = "redis_cache"
    redis_sidekiq = "redis_sidekiq"
    lb = "lb"
    app = "app"
    edge = "edge"
    monitor = "monitor"
    search = "search"
    # An app host leaving the fleet: out of the balancer, its processes stopped, then dropped from
    # every allow-list. Delete it from the inventory once a deploy has done that.
    retired = "retired"


REQUIRED_ROLES = (Role.db, Role.redis, Role.app, Role.lb)


class CodeSource(Strict):
    """Where the Mastodon code comes from: a git URL and ref, or a directory on the operator's machine."""

    git_url: str | None = Field("https://github.com/mastodon/mastodon.git", description="Git repository to clone.")
    ref: str | None = Field(None, description="Git ref to check out; defaults to the version tag.")
    path: str | None = Field(None, description="Local directory uploaded instead of a git checkout (the stand-in app).")

    @model_validator(mode="after")
    def _one_source(self) -> CodeSource:
        if self.path is not None and self.ref is not None:
            raise ValueError("give either path or git_url+ref, not both")
        return self


class Install(Strict):
    """How the application's runtime is installed on app hosts."""

    ruby: Literal["debian", "rbenv"] = Field("debian", description="Ruby from Debian 13 (3.3) or rbenv with jemalloc.")
    node: Literal["nodesource", "debian"] = Field(
        "nodesource", description="Node >= 22 from Node's own apt repository, or Debian's nodejs."
    )
    bundle_deployment: bool = Field(
        True, description="`bundle config deployment true`: install only from Gemfile.lock into vendor/."
    )
    bundle_local: bool = Field(False, description="`bundle install --local`: no gem downloads.")
    yarn_command: str = Field("yarn", description="Yarn binary: `yarn` via corepack, or `yarnpkg`.")
    system_packages: list[str] | None = Field(
        None,
        description="Debian packages the application needs; unset: Mastodon's build and runtime dependencies.",
    )


class Instance(Strict):
    """The Mastodon instance as the world sees it."""

    local_domain: str = Field(description="LOCAL_DOMAIN: the domain in user handles; never changes.")
    web_domain: str | None = Field(None, description="WEB_DOMAIN when the site is served elsewhere.")
    version: str = Field("v4.6.5", description="Mastodon release tag to deploy.")
    source: CodeSource = Field(default_factory=CodeSource)
    install: Install = Field(default_factory=Install)
    user: str = Field("mastodon", description="System user that owns and runs the application.")
    home: str = Field("/home/mastodon", description="Home of the application user.")
    single_user_mode: bool = Field(False, description="SINGLE_USER_MODE: one account, no sign-ups.")
    default_locale: str = Field("en", description="DEFAULT_LOCALE for visitors without a preference.")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="TRUSTED_PROXY_IP when lb/edge are not on private ranges."
    )
    extra_environment: dict[str, str] = Field(
        default_factory=dict, description="More .env.production keys; only keys Mastodon reads."
    )

    @property
    def site_domain(self) -> str:
        return self.web_domain or self.local_domain

    @property
    def live_directory(self) -> str:
        return f"{self.home}/live"

    @property
    def releases_directory(self) -> str:
        return f"{self.home}/releases"


class QueueWeight(Strict):
    """One queue of a Sidekiq process and its weight (`-q name,weight`)."""

    name: str = Field(description="One of Mastodon's queues.")
    weight: int = Field(1, ge=1, description="Relative weight in this process.")


class SidekiqProcess(Strict):
    """One Sidekiq process: its own unit `mastodon-sidekiq-<name>.service`."""

    name: str = Field(description="Unit suffix, unique on the host: mastodon-sidekiq-<name>.")
    queues: list[QueueWeight] = Field(min_length=1, description="`-q` list: names, or [name, weight] pairs.")
    threads: int = Field(5, ge=1, description="`-c`: Sidekiq threads.")
    db_pool: int | None = Field(None, ge=1, description="DB_POOL; defaults to threads.")

    @field_validator("queues", mode="before")
    @classmethod
    def _short_queues(cls, value: object) -> object:
        # Accept the compact forms operators write: "ingress", ["push", 6], {"name": ...}.
        if not isinstance(value, list):
            return value
        parsed: list[object] = []
        for item in value:
            if isinstance(item, str):
                parsed.append({"name": item})
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                parsed.append({"name": item[0], "weight": item[1]})
            else:
                parsed.append(item)
        return parsed

    @property
    def pool(self) -> int:
        return self.db_pool if self.db_pool is not None else self.threads

    @property
    def unit(self) -> str:
        return f"mastodon-sidekiq-{self.name}.service"

    @property
    def queue_names(self) -> list[str]:
        return [queue.name for queue in self.queues]


class Web(Strict):
    """Puma on an app host: WEB_CONCURRENCY processes x MAX_THREADS threads."""

    processes: int = Field(2, ge=1, description="WEB_CONCURRENCY.")
    threads: int = Field(5, ge=1, description="MAX_THREADS; each thread may hold a DB connection.")
    port: int = Field(3000, ge=1, le=65535, description="PORT of Puma on the private address.")

    @property
    def connections(self) -> int:
        return self.processes * self.threads


class Streaming(Strict):
    """Streaming API processes, one `mastodon-streaming@PORT` unit per port."""

    ports: list[int] = Field(default_factory=lambda: [4000], min_length=1, description="One process per port.")
    db_pool: int = Field(10, ge=1, description="DB_POOL of each streaming process.")

    @property
    def connections(self) -> int:
        return len(self.ports) * self.db_pool


class Host(Strict):
    """A machine of the fleet."""

    name: str = Field(description="Host name (the inventory name).")
    roles: list[Role] = Field(description="The inventory groups the host is in: db, redis, lb, app, edge, ...")
    private_address: IPv4Address = Field(description="Address on the private network.")
    public_address: IPv4Address | None = Field(None, description="Address on the internet.")
    web: Web | None = Field(None, description="Puma on this app host.")
    streaming: Streaming | None = Field(None, description="Streaming processes on this app host.")
    sidekiq: list[SidekiqProcess] = Field(default_factory=list, description="Sidekiq processes on this app host.")
    memory_mb: int | None = Field(None, description="Memory, for tuning services on this host.")
    cpus: int | None = Field(None, description="CPUs, for tuning services on this host.")
    server_type: str | None = Field(
        None, description="Hetzner server type, e.g. ccx33 (`mastofleet provision`; checked against the API)."
    )
    location: str | None = Field(None, description="Hetzner location of this host; unset: hetzner.location.")

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def connections(self) -> int:
        """Database connections this host may open at most."""
        total = sum(process.pool for process in self.sidekiq)
        total += self.web.connections if self.web else 0
        total += self.streaming.connections if self.streaming else 0
        return total


class Postgres(Strict):
    """PostgreSQL on the db host."""

    version: int = Field(17, ge=14, description="Major version; Mastodon needs 14+.")
    memory_mb: int = Field(4096, ge=256, description="Memory of the db host, for tuning.")
    cpus: int = Field(2, ge=1, description="CPUs of the db host, for tuning.")
    max_connections: int = Field(200, ge=10)
    reserved_connections: int = Field(10, ge=0, description="Kept free for superusers, migrations and replication.")
    port: int = Field(5432, description="PostgreSQL's port; migrations always use it, never PgBouncer's.")
    database: str = Field("mastodon_production", description="DB_NAME.")
    user: str = Field("mastodon", description="DB_USER, the role the app logs in as.")
    password: SecretReference = Field("secret:postgres_password", description="DB_PASS, by reference.")
    storage: Literal["ssd", "hdd"] = Field("ssd", description="Disk kind, for random_page_cost.")

    @property
    def usable_connections(self) -> int:
        return self.max_connections - self.reserved_connections


class Pgbouncer(Strict):
    """PgBouncer in transaction mode in front of Postgres on the db host."""

    enabled: bool = Field(True, description="Put PgBouncer between the app and PostgreSQL.")
    port: int = Field(6432, description="PgBouncer's port (DB_PORT for the app).")
    max_client_connections: int = Field(1000, ge=1, description="max_client_conn.")
    default_pool_size: int = Field(60, ge=1, description="Server connections per database/user.")
    reserve_pool_size: int = Field(10, ge=0, description="Extra server connections for bursts.")


class Redis(Strict):
    """Redis for Mastodon (cache, Sidekiq and streaming pub/sub unless split)."""

    port: int = Field(6379, ge=1, le=65535, description="REDIS_PORT.")
    password: SecretReference = Field(
        "secret:redis_password", description="Password of the app's ACL user / REDIS_PASSWORD, by reference."
    )
    app_user: str = Field("mastodon", description="ACL user the app logs in as (REDIS_USER); the default user is off.")
    maxmemory_mb: int | None = Field(None, ge=1, description="maxmemory; unset means no limit.")


class SidekiqRedis(Redis):
    """The Sidekiq Redis (hosts in the group `redis_sidekiq`): the job queues, persistent, never evicting."""

    port: int = Field(
        6381, ge=1, le=65535, description="SIDEKIQ_REDIS_PORT; differs from the others' so they may share a host."
    )
    password: SecretReference = Field(
        "secret:sidekiq_redis_password", description="Password of the app's ACL user / SIDEKIQ_REDIS_PASSWORD."
    )


class CacheRedis(Redis):
    """The cache Redis (hosts in the group `redis_cache`): no persistence, bounded memory, evicting."""

    port: int = Field(
        6380, ge=1, le=65535, description="CACHE_REDIS_PORT; differs from the others' so they may share a host."
    )
    password: SecretReference = Field(
        "secret:cache_redis_password", description="Password of the app's ACL user / CACHE_REDIS_PASSWORD."
    )
    maxmemory_mb: int = Field(1024, ge=1, description="maxmemory: the cache never grows past it.")
    maxmemory_policy: Literal["allkeys-lru", "volatile-lru", "allkeys-lfu", "volatile-lfu"] = Field(
        "allkeys-lru", description="Which keys Redis evicts at maxmemory (an LRU or LFU policy)."
    )


class Search(Strict):
    """Full-text search: Elasticsearch or OpenSearch on the hosts of the group `search`, or an
    existing cluster at `external_host`; ES_* for the app and `tootctl search deploy` once."""

    engine: Literal["elasticsearch", "opensearch"] = Field(
        "elasticsearch", description="Which server the search hosts run, from its maker's apt repository."
    )
    series: str = Field(
        "8.x", description="The apt repository's release series, e.g. 8.x (Elasticsearch), 2.x (OpenSearch)."
    )
    port: int = Field(9200, ge=1, le=65535, description="ES_PORT: the HTTP port of the search hosts.")
    preset: Literal["single_node_cluster", "small_cluster", "large_cluster"] = Field(
        "single_node_cluster", description="ES_PRESET: shards and replicas Mastodon creates its indices with."
    )
    heap_mb: int = Field(1024, ge=256, le=31744, description="JVM heap of each search host (at most half its memory).")
    external_host: str | None = Field(
        None, description="Address of an existing cluster (a managed service) instead of hosts in 'search'."
    )


class ObjectStorage(Strict):
    """Media on S3-compatible object storage (DigitalOcean Spaces, Hetzner, AWS ...)."""

    enabled: bool = Field(True, description="S3_ENABLED.")
    provider: Literal["spaces", "hetzner", "s3"] = Field("spaces", description="Who runs the store.")
    endpoint: str = Field(description="S3_ENDPOINT, https URL of the region endpoint.")
    region: str = Field(description="S3_REGION.")
    bucket: str = Field(description="S3_BUCKET.")
    alias_host: str | None = Field(None, description="S3_ALIAS_HOST: host name only, no scheme or bucket.")
    permission: str = Field("public-read", description="S3_PERMISSION.")
    access_key: SecretReference = Field("secret:object_storage_access_key", description="AWS_ACCESS_KEY_ID.")
    secret_key: SecretReference = Field("secret:object_storage_secret_key", description="AWS_SECRET_ACCESS_KEY.")

    @property
    def hostname(self) -> str:
        return self.endpoint.split("://", 1)[-1].rstrip("/")

    @property
    def scheme(self) -> str:
        return self.endpoint.split("://", 1)[0] if "://" in self.endpoint else "https"

    @property
    def path_style(self) -> bool:
        """An endpoint given by address (a private S3 server) has no per-bucket host names."""
        return _is_address(self.hostname.rsplit(":", 1)[0])

    @property
    def bucket_url(self) -> str:
        """Where the bucket's objects are served: https://BUCKET.HOST, or ENDPOINT/BUCKET by address."""
        if self.path_style:
            return f"{self.scheme}://{self.hostname}/{self.bucket}"
        return f"{self.scheme}://{self.bucket}.{self.hostname}"


def _is_address(text: str) -> bool:
    try:
        IPv4Address(text)
    except ValueError:
        return False
    return True


class Smtp(Strict):
    """Outgoing mail."""

    server: str = Field("localhost", description="SMTP_SERVER.")
    port: int = Field(587, description="SMTP_PORT.")
    login: str | None = Field(None, description="SMTP_LOGIN.")
    password: SecretReference | None = Field(None, description="SMTP_PASSWORD, by reference.")
    from_address: str = Field(description="SMTP_FROM_ADDRESS.")
    auth_method: Literal["plain", "login", "cram_md5", "none"] = Field("plain", description="SMTP_AUTH_METHOD.")
    enable_starttls: Literal["auto", "always", "never"] = Field("auto", description="SMTP_ENABLE_STARTTLS.")


class Tls(Strict):
    """Certificates for lb and edge nginx."""

    mode: Literal["self-signed", "files", "certbot"] = Field("certbot", description="Where certificates come from.")
    certificate: str | None = Field(None, description="Path on the host (mode files).")
    key: str | None = Field(None, description="Path on the host (mode files).")
    email: str | None = Field(None, description="Let's Encrypt account e-mail (mode certbot).")


class Edge(Strict):
    """nginx on edge hosts: a caching proxy for the site and for the media host (S3_ALIAS_HOST)."""

    resolvers: list[str] = Field(
        default_factory=lambda: ["185.12.64.1", "185.12.64.2"],
        min_length=1,
        description="DNS servers nginx asks for the object storage's address at run time (a variable "
        "upstream, so a changed address is followed); default: Hetzner's recursive resolvers.",
    )
    media_cache_mb: int = Field(10240, ge=16, description="Disk the media cache may use on each edge host.")
    media_cache_days: int = Field(30, ge=1, description="A cached media file unused this long is dropped.")
    site_cache_mb: int = Field(1024, ge=16, description="Disk the site's cache (static files) may use.")


class MediaMigration(Strict):
    """Live media evacuation: the edge serves from object storage, else from the old server, and
    writes every file the old server served back into the bucket; rclone copies the rest."""

    enabled: bool = Field(True, description="Migration mode on; `mastofleet media finish` turns it off.")
    origin: str = Field(
        description="Base URL where the old server serves its media directory (public/system) over the "
        "private network, e.g. http://10.0.0.5:8080."
    )
    copy_bandwidth: str = Field(
        "8M", description="rclone --bwlimit of the background copy (bytes/s, K/M suffix), so failing disks are spared."
    )
    copy_transfers: int = Field(2, ge=1, description="Files the background copy moves at once.")
    copy_interval: str = Field("1h", description="Start the background copy again this long after it last ended.")
    writeback_bandwidth_mb: float = Field(0, ge=0, description="MB/s each write-back upload may use; 0: unlimited.")
    record_file: str = Field(
        "media-migration.json",
        description="Where `media finish` records that the migration is complete (project-relative).",
    )

    @property
    def origin_url(self) -> str:
        return self.origin.rstrip("/")


OPERATOR_NAME_PATTERN = re.compile(r"^[a-z]([a-z0-9_-]{0,30}[a-z0-9])?$")
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


def ssh_key_problem(text: str) -> str | None:
    """Why `text` is not one OpenSSH public key line, or None. Never repeats the text itself."""
    if "PRIVATE KEY" in text:
        return "this is a PRIVATE key; put only the public key (the .pub file) here, and replace the leaked key"
    parts = text.split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return f"not an OpenSSH public key: it must start with one of {', '.join(SSH_KEY_TYPES)}"
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return "the key's base64 body is damaged"
    # The blob starts with its own type name (a 4-byte length, then the name): a pasted key that was
    # cut or glued to another one shows here.
    length = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + length] != parts[0].encode():
        return f"the key's body does not belong to a {parts[0]} key"
    return None


class Operator(Strict):
    """A person who runs the fleet: an account of their own, their SSH keys, the networks they come from."""

    name: str = Field(description="Login name of the operator's own account (never a shared one).")
    ssh_keys: list[str] = Field(min_length=1, description="OpenSSH public keys, one line each (`ssh-ed25519 AAAA...`).")
    source_cidrs: list[IPv4Network | IPv6Network] = Field(
        min_length=1, description="Networks the operator connects from; the only sources the firewall opens SSH to."
    )

    @field_validator("name")
    @classmethod
    def _login_name(cls, value: str) -> str:
        if not OPERATOR_NAME_PATTERN.match(value):
            raise ValueError(
                "an operator name must be a login name: a lowercase letter, then letters, digits, '_' or '-', "
                "ending in a letter or digit"
            )
        return value

    @field_validator("source_cidrs", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        # one clear message per entry instead of pydantic's two (one per address family)
        if not isinstance(value, list):
            return value
        parsed = []
        for index, item in enumerate(value):
            try:
                parsed.append(ipaddress.ip_network(str(item)))
            except ValueError as error:
                raise ValueError(f"source_cidrs[{index}]: {error}; write a network like 198.51.100.0/24") from None
        return parsed

    @field_validator("ssh_keys")
    @classmethod
    def _public_keys(cls, value: list[str]) -> list[str]:
        for index, key in enumerate(value):
            problem = ssh_key_problem(key.strip())
            if problem:
                raise ValueError(f"ssh_keys[{index}]: {problem}")
        return [key.strip() for key in value]


class Hetzner(Strict):
    """Where `mastofleet provision` creates the fleet on Hetzner Cloud (names derive from the fleet name)."""

    location: str = Field("fsn1", description="Location of every host without its own; checked against the API.")
    network_zone: str = Field("eu-central", description="Network zone of the subnet; it must hold every location.")
    subnet: IPv4Network = Field(description="The hosts' subnet, inside private_network; every private address in it.")
    image: str = Field("debian-13", description="System image the servers are created from.")


# Alert after a queue's oldest job waited this long (seconds); ingress and pull tolerate more.
DEFAULT_SIDEKIQ_LATENCY: dict[str, int] = {
    "default": 300,
    "push": 600,
    "ingress": 600,
    "mailers": 300,
    "pull": 1800,
    "scheduler": 120,
    "fasp": 1800,
}


class Receiver(Strict):
    """Where Alertmanager sends notifications: e-mail through the fleet's smtp, a webhook, or both."""

    name: str = Field(description="Receiver name, unique.")
    email_to: str | None = Field(None, description="Send e-mail here, through the fleet's `smtp` settings.")
    webhook_url: SecretReference | None = Field(
        None, description="POST alerts to this URL, by reference (such URLs usually carry a token)."
    )


class Alertmanager(Strict):
    """Alertmanager next to Prometheus on the monitor host: routes firing alerts to receivers."""

    enabled: bool = Field(False, description="Run Alertmanager on the monitor host.")
    receivers: list[Receiver] = Field(default_factory=list, description="Receivers; the first one gets every alert.")
    repeat_hours: int = Field(4, ge=1, description="Notify again about an alert still firing after this many hours.")


class Monitoring(Strict):
    """Prometheus on the monitor host, scraping the exporters of every host (targets from the model)."""

    scrape_interval_seconds: int = Field(
        15, ge=1, le=300, description="How often each target is scraped and the alert rules evaluated."
    )
    retention_days: int = Field(30, ge=1, description="How long Prometheus keeps samples.")
    sidekiq_latency_seconds: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_SIDEKIQ_LATENCY),
        description="Per queue: alert when its oldest job has waited longer than this many seconds "
        "(queues not named keep their default).",
    )
    alertmanager: Alertmanager = Field(default_factory=Alertmanager, description="See `monitoring.alertmanager`.")

    @field_validator("sidekiq_latency_seconds", mode="after")
    @classmethod
    def _keep_default_latencies(cls, value: dict[str, int]) -> dict[str, int]:
        return {**DEFAULT_SIDEKIQ_LATENCY, **value}


class Doctor(Strict):
    """Thresholds of `mastofleet doctor`, and of the disk check before a host is given the db role."""

    probe_seconds: int = Field(3, ge=1, le=60, description="Length of the synthetic disk load (4k random I/O).")
    read_latency_ms: float = Field(50, gt=0, description="99th-percentile read latency above which a disk fails.")
    write_latency_ms: float = Field(50, gt=0, description="99th-percentile write latency above which a disk fails.")
    free_space_percent: float = Field(15, ge=0, le=100, description="Free space below which a disk fails.")
    free_inodes_percent: float = Field(10, ge=0, le=100, description="Free inodes below which a disk fails.")
    load_per_cpu: float = Field(2.0, gt=0, description="15-minute load per CPU above which a host is warned about.")
    memory_available_percent: float = Field(
        10, ge=0, le=100, description="Available memory below which a host is warned about."
    )


ROLE_NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ADDRESS_OR_NAME_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class Replication(Strict):
    """Streaming replication from the fleet's primary to its db_replica hosts: physical, over TLS,
    one replication slot per replica, hot standby."""

    user: str = Field("replicator", description="The role replicas log in as (REPLICATION, scram-sha-256).")
    password: SecretReference = Field("secret:replication_password", description="Its password, by reference.")


class DatabaseMigration(Strict):
    """An existing PostgreSQL primary outside the fleet: the db host is built as its streaming replica
    and the app keeps writing to it until `mastofleet cutover` promotes the db host."""

    enabled: bool = Field(
        True, description="Migration mode on; the cutover's record turns it off once the db host is promoted."
    )
    source: str = Field(description="Address of the old primary, reachable from the db host and the app hosts.")
    port: int = Field(5432, ge=1, le=65535, description="The old primary's PostgreSQL port.")
    user: str = Field("replicator", description="Replication role on the old primary (REPLICATION, LOGIN).")
    password: SecretReference = Field(
        "secret:source_replication_password", description="That role's password, by reference."
    )
    ssh_host: str | None = Field(
        None, description="Where `cutover` and `db status` reach the old primary by SSH; default: source."
    )
    ssh_user: str = Field("root", description="SSH user on the old primary (runs psql as postgres).")
    ssh_port: int = Field(22, ge=1, le=65535, description="SSH port of the old primary.")
    ssh_key_file: str | None = Field(None, description="Private key for that SSH login; default: the agent's keys.")
    replace_target_data: bool = Field(
        False,
        description="Let the first build replace a db host whose database already holds tables (a rehearsal); "
        "never needed on a fresh host.",
    )
    catch_up_timeout: int = Field(
        120, ge=5, description="Seconds the cutover waits for the db host to replay the old primary's last WAL."
    )
    max_lag_bytes: int = Field(
        16 * 1024 * 1024, ge=0, description="Cutover starts only when the lag is at most this, or shrinking."
    )
    disk_headroom: float = Field(
        1.0, ge=0, description="Cutover wants this many times the database's size free on the db host."
    )
    record_file: str = Field(
        "database-cutover.json", description="The cutover's record of its steps, to resume from (project-relative)."
    )

    @property
    def endpoint(self) -> str:
        return f"{self.source}:{self.port}"


class Fleet(Strict):
    """The whole fleet: instance-wide settings and every host."""

    name: str = Field(description="Fleet name; labels cloud resources and names run records.")
    instance: Instance
    hosts: list[Host]
    postgres: Postgres = Field(default_factory=Postgres)
    pgbouncer: Pgbouncer = Field(default_factory=Pgbouncer)
    redis: Redis = Field(default_factory=Redis)
    redis_cache: CacheRedis | None = Field(None, description="Settings of the cache Redis (group redis_cache).")
    redis_sidekiq: SidekiqRedis | None = Field(None, description="Settings of the Sidekiq Redis (group redis_sidekiq).")
    search: Search | None = Field(None, description="Full-text search settings (group search, or external_host).")
    object_storage: ObjectStorage | None = None
    smtp: Smtp | None = None
    tls: Tls = Field(default_factory=Tls)
    edge: Edge = Field(default_factory=Edge)
    media_migration: MediaMigration | None = None
    replication: Replication = Field(default_factory=Replication)
    database_migration: DatabaseMigration | None = None
    secrets: list[str] = Field(
        default_factory=lambda: sorted(MASTODON_SECRETS.values()),
        description="Names of the secrets the fleet's secret store must hold.",
    )
    private_network: IPv4Network = Field(IPv4Network("10.0.0.0/16"), description="The private network the hosts share.")
    operators: list[Operator] = Field(
        default_factory=list, description="The people who run the fleet (SSH keys, source networks)."
    )
    hetzner: Hetzner | None = Field(None, description="Hetzner Cloud settings for `mastofleet provision`.")
    monitoring: Monitoring = Field(default_factory=Monitoring)
    doctor: Doctor = Field(default_factory=Doctor)
    access: Access = Field(default_factory=Access)
    firewall: Firewall = Field(default_factory=Firewall)
    backup: Backup | None = None

    def with_role(self, role: Role) -> list[Host]:
        return [host for host in self.hosts if host.has(role)]

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    @property
    def db_host(self) -> Host:
        return self.with_role(Role.db)[0]

    @property
    def redis_host(self) -> Host:
        return self.with_role(Role.redis)[0]

    @property
    def cache_redis(self) -> CacheRedis:
        return self.redis_cache or CacheRedis()

    @property
    def sidekiq_redis(self) -> SidekiqRedis:
        return self.redis_sidekiq or SidekiqRedis()

    @property
    def app_hosts(self) -> list[Host]:
        return self.with_role(Role.app)

    @property
    def migrating_media(self) -> bool:
        """Migration mode is on: edge hosts fall back to the old server and write back what it serves."""
        return self.media_migration is not None and self.media_migration.enabled

    @property
    def monitor_host(self) -> Host | None:
        """The host running Prometheus; without one, no exporter is deployed anywhere."""
        hosts = self.with_role(Role.monitor)
        return hosts[0] if hosts else None

    @property
    def migrating_database(self) -> bool:
        """Migration mode on: the app writes to the old primary and the db host replicates from it."""
        return self.database_migration is not None and self.database_migration.enabled

    @property
    def replica_hosts(self) -> list[Host]:
        return self.with_role(Role.db_replica)

    def primary_endpoint(self) -> tuple[str, int]:
        """Where PostgreSQL takes writes now (migrations go there): the old primary while migrating."""
        if self.migrating_database and self.database_migration is not None:
            return self.database_migration.source, self.database_migration.port
        return str(self.db_host.private_address), self.postgres.port

    @property
    def total_connections(self) -> int:
        return sum(host.connections for host in self.hosts)

    def referenced_secrets(self) -> set[str]:
        """Every secret name the deploy will need to resolve."""
        names = set(MASTODON_SECRETS.values())
        names.add(secret_name(self.postgres.password))
        names.add(secret_name(self.redis.password))
        if self.with_role(Role.redis_cache):
            names.add(secret_name(self.cache_redis.password))
        if self.with_role(Role.redis_sidekiq):
            names.add(secret_name(self.sidekiq_redis.password))
        if self.object_storage and self.object_storage.enabled:
            names.add(secret_name(self.object_storage.access_key))
            names.add(secret_name(self.object_storage.secret_key))
        if self.smtp and self.smtp.password:
            names.add(secret_name(self.smtp.password))
        if self.monitor_host and self.monitoring.alertmanager.enabled:
            names |= {secret_name(r.webhook_url) for r in self.monitoring.alertmanager.receivers if r.webhook_url}
        if self.backup:
            names.add(secret_name(self.backup.access_key))
            names.add(secret_name(self.backup.secret_key))
        if self.replica_hosts:
            names.add(secret_name(self.replication.password))
        if self.migrating_database and self.database_migration is not None:
            names.add(secret_name(self.database_migration.password))
        return names


# --- cross-host rules -------------------------------------------------------------------------


def fleet_problems(fleet: Fleet) -> list[Problem]:
    """Every rule that spans hosts; an empty list means the fleet may be deployed."""
    problems: list[Problem] = []
    for rule in RULES:
        problems.extend(rule(fleet))
    return problems


def _roles_present(fleet: Fleet) -> list[Problem]:
    return [
        Problem(
            "fleet",
            "roles",
            f"no host has the role {role.value}",
            f"add a host to the inventory group '{role.value}'",
        )
        for role in REQUIRED_ROLES
        if not fleet.with_role(role)
    ]


def _single_primaries(fleet: Fleet) -> list[Problem]:
    problems = []
    for role in (Role.db, Role.redis, Role.redis_cache, Role.redis_sidekiq):
        hosts = fleet.with_role(role)
        if len(hosts) > 1:
            problems.append(
                Problem(
                    "fleet",
                    "roles",
                    f"{len(hosts)} hosts have the role {role.value} ({', '.join(h.name for h in hosts)}); "
                    "the app would use only the first",
                    f"keep one host in '{role.value}' (read replicas go in 'db_replica')",
                )
            )
    app_hosts = fleet.with_role(Role.app)
    for kind in ("web", "streaming"):
        if app_hosts and not any(getattr(host, kind) for host in app_hosts):
            problems.append(
                Problem(
                    "fleet",
                    kind,
                    f"no app host runs {kind}; nginx would have nothing to balance",
                    f"give an app host {kind}",
                )
            )
    return problems


def _unique_names_and_addresses(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    seen_names: set[str] = set()
    seen_addresses: dict[IPv4Address, str] = {}
    for host in fleet.hosts:
        if host.name in seen_names:
            problems.append(Problem(host.name, "name", "the host name is used twice", "give each host its own name"))
        seen_names.add(host.name)
        for field, address in (("private_address", host.private_address), ("public_address", host.public_address)):
            if address is None:
                continue
            if address in seen_addresses and seen_addresses[address] != host.name:
                problems.append(
                    Problem(
                        host.name,
                        field,
                        f"{address} is already the address of {seen_addresses[address]}",
                        "give each host its own address",
                    )
                )
            seen_addresses.setdefault(address, host.name)
        if not HOST_NAME_PATTERN.match(host.name):
            problems.append(
                Problem(host.name, "name", "not a valid host name", "use lowercase letters, digits and '-'")
            )
        if host.private_address not in fleet.private_network:
            problems.append(
                Problem(
                    host.name,
                    "private_address",
                    f"{host.private_address} is outside the private network {fleet.private_network}",
                    "pick an address inside private_network or widen it",
                )
            )
    return problems


def _app_hosts_have_processes(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    for host in fleet.hosts:
        has_processes = host.web or host.streaming or host.sidekiq
        if host.has(Role.app) and not has_processes:
            problems.append(
                Problem(
                    host.name, "web/streaming/sidekiq", "an app host runs nothing", "give it web, streaming or sidekiq"
                )
            )
        if not host.has(Role.app) and has_processes:
            problems.append(
                Problem(
                    host.name,
                    "web/streaming/sidekiq",
                    "Mastodon processes are set on a host without the app role",
                    "add the host to the 'app' group or remove its processes",
                )
            )
        names = [process.name for process in host.sidekiq]
        for duplicate in sorted({name for name in names if names.count(name) > 1}):
            problems.append(
                Problem(host.name, f"sidekiq[{duplicate}]", "two Sidekiq processes share a name", "rename one")
            )
        if host.streaming and len(set(host.streaming.ports)) != len(host.streaming.ports):
            problems.append(Problem(host.name, "streaming.ports", "a port is listed twice", "list each port once"))
        if host.web and host.streaming and host.web.port in host.streaming.ports:
            problems.append(
                Problem(host.name, "streaming.ports", f"port {host.web.port} is also the web port", "pick another port")
            )
    return problems


def _queues(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    listeners: dict[str, list[str]] = {queue: [] for queue in QUEUES}
    for host in fleet.hosts:
        for process in host.sidekiq:
            for queue in dict.fromkeys(process.queue_names):  # a queue listed twice is one listener
                if queue not in listeners:
                    problems.append(
                        Problem(
                            host.name,
                            f"sidekiq[{process.name}].queues",
                            f"unknown queue '{queue}'",
                            f"use one of {', '.join(QUEUES)}",
                        )
                    )
                    continue
                listeners[queue].append(f"{host.name}/{process.name}")
    schedulers = listeners[SCHEDULER_QUEUE]
    if len(schedulers) > 1:
        problems.append(
            Problem(
                "fleet",
                "sidekiq.queues",
                f"{len(schedulers)} processes listen on 'scheduler' ({', '.join(schedulers)}); "
                "scheduled jobs would run several times",
                "keep 'scheduler' on exactly one process",
            )
        )
    for queue in QUEUES:
        if not listeners[queue]:
            problems.append(
                Problem(
                    "fleet",
                    "sidekiq.queues",
                    f"no Sidekiq process listens on '{queue}'; its jobs would never run",
                    f"add '{queue}' to a process's queues",
                )
            )
    return problems


def _database_pools(fleet: Fleet) -> list[Problem]:
    return [
        Problem(
            host.name,
            f"sidekiq[{process.name}].db_pool",
            f"DB_POOL {process.pool} is below its {process.threads} threads; threads would wait for connections",
            f"set db_pool to at least {process.threads}",
        )
        for host in fleet.hosts
        for process in host.sidekiq
        if process.pool < process.threads
    ]


def connection_budget(fleet: Fleet) -> tuple[int, int, str]:
    """(connections the fleet may open, what it may open them against, the arithmetic)."""
    parts = []
    for host in fleet.hosts:
        if not host.connections:
            continue
        terms = []
        if host.web:
            terms.append(f"web {host.web.processes}x{host.web.threads}")
        terms += [f"sidekiq {p.name} {p.pool}" for p in host.sidekiq]
        if host.streaming:
            terms.append(f"streaming {len(host.streaming.ports)}x{host.streaming.db_pool}")
        parts.append(f"{host.name} {host.connections} ({' + '.join(terms)})")
    used = fleet.total_connections
    if fleet.pgbouncer.enabled:
        limit = fleet.pgbouncer.max_client_connections
        against = f"pgbouncer max_client_connections {limit}"
    else:
        limit = fleet.postgres.usable_connections
        against = (
            f"postgres max_connections {fleet.postgres.max_connections} - reserved "
            f"{fleet.postgres.reserved_connections} = {limit}"
        )
    arithmetic = f"{' + '.join(parts) or '0'} = {used} against {against}"
    return used, limit, arithmetic


def _connection_budget(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    used, limit, arithmetic = connection_budget(fleet)
    if used > limit:
        problems.append(
            Problem(
                "fleet",
                "connections",
                f"the fleet may open more database connections than allowed: {arithmetic}",
                "lower web threads/processes, Sidekiq db_pool or streaming ports, or raise the limit",
            )
        )
    if fleet.pgbouncer.enabled:
        pool = fleet.pgbouncer.default_pool_size + fleet.pgbouncer.reserve_pool_size
        if pool > fleet.postgres.usable_connections:
            problems.append(
                Problem(
                    "fleet",
                    "pgbouncer.default_pool_size",
                    f"pgbouncer's pool {fleet.pgbouncer.default_pool_size} + reserve "
                    f"{fleet.pgbouncer.reserve_pool_size} = {pool} exceeds postgres max_connections "
                    f"{fleet.postgres.max_connections} - reserved {fleet.postgres.reserved_connections} "
                    f"= {fleet.postgres.usable_connections}",
                    "lower the pool or raise postgres.max_connections",
                )
            )
    return problems


def _domains_and_version(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    instance = fleet.instance
    for field, domain in (("local_domain", instance.local_domain), ("web_domain", instance.web_domain)):
        if domain is not None and not DOMAIN_PATTERN.match(domain):
            problems.append(
                Problem(
                    "instance",
                    field,
                    f"'{domain}' is not a valid domain",
                    "write a lowercase name like social.example.com",
                )
            )
    if not VERSION_PATTERN.match(instance.version):
        problems.append(
            Problem(
                "instance",
                "version",
                f"'{instance.version}' is not a Mastodon release tag",
                "write a tag like v4.6.5",
            )
        )
    return problems


def _object_storage(fleet: Fleet) -> list[Problem]:
    storage = fleet.object_storage
    if storage is None or not storage.enabled:
        return []
    problems: list[Problem] = []
    if not storage.endpoint.startswith("https://") and not _private_http(fleet, storage.endpoint):
        problems.append(
            Problem(
                "object_storage",
                "endpoint",
                f"'{storage.endpoint}' is not an https URL (plain http only to an address on the private network)",
                "write https://<region endpoint>",
            )
        )
    alias = storage.alias_host
    if alias is not None:
        if "://" in alias or "/" in alias:
            problems.append(
                Problem(
                    "object_storage",
                    "alias_host",
                    f"'{alias}' must be a host name only (Mastodon builds https://<alias>/<path>)",
                    "drop the scheme and any path",
                )
            )
        elif alias.split(".")[0] == storage.bucket:
            problems.append(
                Problem(
                    "object_storage",
                    "alias_host",
                    f"'{alias}' starts with the bucket name; media URLs would carry the bucket twice",
                    "use the host that serves the bucket's root, e.g. files.example.com",
                )
            )
    return problems


def _private_http(fleet: Fleet, url: str) -> bool:
    """http:// to an address inside the private network: traffic that, like Redis's, never leaves it."""
    if not url.startswith("http://"):
        return False
    host = url[len("http://") :].split("/", 1)[0].rsplit(":", 1)[0]
    return _is_address(host) and IPv4Address(host) in fleet.private_network


def _edge(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    for host in fleet.with_role(Role.edge):
        if host.has(Role.lb):
            problems.append(
                Problem(
                    host.name,
                    "roles",
                    "the host is both lb and edge; both would serve the site's name on port 443",
                    "put the edge role on another host",
                )
            )
    return problems


def _retired(fleet: Fleet) -> list[Problem]:
    return [
        Problem(
            host.name,
            "roles",
            f"a retired host cannot also be {', '.join(role.value for role in host.roles if role != Role.retired)}",
            "take it out of every other group (or out of 'retired' to keep it)",
        )
        for host in fleet.with_role(Role.retired)
        if set(host.roles) != {Role.retired}
    ]


def _media_migration(fleet: Fleet) -> list[Problem]:
    migration = fleet.media_migration
    if migration is None or not migration.enabled:
        return []
    problems: list[Problem] = []
    storage = fleet.object_storage
    if storage is None or not storage.enabled or storage.alias_host is None:
        problems.append(
            Problem(
                "media_migration",
                "enabled",
                "migration mode needs object storage with an alias_host: the edge serves the media host",
                "set object_storage (enabled, with alias_host) or turn media_migration off",
            )
        )
    if not fleet.with_role(Role.edge):
        problems.append(
            Problem(
                "media_migration",
                "enabled",
                "migration mode runs on edge hosts and the fleet has none",
                "add a host to the inventory group 'edge'",
            )
        )
    scheme, _, rest = migration.origin.partition("://")
    if scheme not in ("http", "https") or not rest or "/" in rest.rstrip("/"):
        problems.append(
            Problem(
                "media_migration",
                "origin",
                f"'{migration.origin}' is not a base URL like http://10.0.0.5:8080",
                "give the scheme, address and port where the old server serves its media directory, no path",
            )
        )
    if not re.fullmatch(r"\d+(\.\d+)?[KMG]?", migration.copy_bandwidth):
        problems.append(
            Problem(
                "media_migration",
                "copy_bandwidth",
                f"'{migration.copy_bandwidth}' is not a bandwidth rclone understands",
                "write a number of bytes per second with an optional K, M or G suffix, e.g. 8M",
            )
        )
    if not re.fullmatch(r"\d+(s|min|m|h|d)", migration.copy_interval):
        problems.append(
            Problem(
                "media_migration",
                "copy_interval",
                f"'{migration.copy_interval}' is not a time span",
                "write a number with s, min, h or d, e.g. 1h",
            )
        )
    return problems


def _secrets(fleet: Fleet) -> list[Problem]:
    missing = sorted(fleet.referenced_secrets() - set(fleet.secrets))
    return [
        Problem(
            "secrets",
            name,
            "the fleet needs this secret but the secret store does not hold it",
            "run `mastofleet secrets init` (or `mastofleet secrets set NAME`)",
        )
        for name in missing
    ]


def _operators(fleet: Fleet) -> list[Problem]:
    names = [operator.name for operator in fleet.operators]
    problems = [
        Problem("operators", name, "two operators share this name", "give each operator their own account name")
        for name in sorted({name for name in names if names.count(name) > 1})
    ]
    owners: dict[str, str] = {}
    for operator in fleet.operators:
        for key in operator.ssh_keys:
            body = key.split()[1]
            if body in owners and owners[body] != operator.name:
                problems.append(
                    Problem(
                        "operators",
                        f"{operator.name}.ssh_keys",
                        f"this key is also {owners[body]}'s; a shared key makes the accounts one",
                        "give each operator their own key",
                    )
                )
            owners.setdefault(body, operator.name)
    return problems


def _hetzner_network(fleet: Fleet) -> list[Problem]:
    hetzner = fleet.hetzner
    if hetzner is None:
        return []
    if not hetzner.subnet.subnet_of(fleet.private_network):
        return [
            Problem(
                "hetzner",
                "subnet",
                f"{hetzner.subnet} is not inside private_network {fleet.private_network}",
                "pick a subnet inside private_network",
            )
        ]
    gateway = next(fleet.private_network.hosts())  # Hetzner keeps the network's first address for its gateway
    problems = []
    for host in fleet.hosts:
        if host.private_address == gateway:
            problems.append(
                Problem(
                    host.name,
                    "private_address",
                    f"{gateway} is the gateway Hetzner reserves in {fleet.private_network}",
                    "pick another address",
                )
            )
        elif host.private_address not in hetzner.subnet:
            problems.append(
                Problem(
                    host.name,
                    "private_address",
                    f"{host.private_address} is outside the Hetzner subnet {hetzner.subnet}",
                    "pick an address inside hetzner.subnet or widen it",
                )
            )
    return problems


def _monitoring(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    monitors = fleet.with_role(Role.monitor)
    if len(monitors) > 1:
        problems.append(
            Problem(
                "fleet",
                "roles",
                f"{len(monitors)} hosts have the role monitor ({', '.join(h.name for h in monitors)}); "
                "each would alert on its own and every alert would arrive twice",
                "keep one host in 'monitor'",
            )
        )
    for queue in fleet.monitoring.sidekiq_latency_seconds:
        if queue not in QUEUES:
            problems.append(
                Problem(
                    "monitoring",
                    f"sidekiq_latency_seconds.{queue}",
                    f"unknown queue '{queue}'",
                    f"use one of {', '.join(QUEUES)}",
                )
            )
    alertmanager = fleet.monitoring.alertmanager
    if not alertmanager.enabled:
        return problems
    if not alertmanager.receivers:
        problems.append(
            Problem(
                "monitoring",
                "alertmanager.receivers",
                "Alertmanager is enabled but has nowhere to send alerts",
                "add a receiver with email_to or webhook_url, or set enabled to false",
            )
        )
    names = [receiver.name for receiver in alertmanager.receivers]
    for duplicate in sorted({name for name in names if names.count(name) > 1}):
        problems.append(
            Problem("monitoring", f"alertmanager.receivers[{duplicate}]", "two receivers share a name", "rename one")
        )
    for receiver in alertmanager.receivers:
        where = f"alertmanager.receivers[{receiver.name}]"
        if not receiver.email_to and not receiver.webhook_url:
            problems.append(
                Problem("monitoring", where, "the receiver sends nothing anywhere", "give it email_to or webhook_url")
            )
        if receiver.email_to and fleet.smtp is None:
            problems.append(
                Problem(
                    "monitoring",
                    f"{where}.email_to",
                    "e-mail needs the fleet's smtp settings, and there are none",
                    "add an `smtp` section to group_data, or use a webhook",
                )
            )
    return problems


from mastofleet.access_rules import ACCESS_RULES  # noqa: E402 - the rules need Fleet defined


def replica_connection_budget(fleet: Fleet) -> tuple[int, int, str] | None:
    """Like `connection_budget`, for the read replica: every app process may open its pool there too."""
    if not fleet.replica_hosts:
        return None
    replica = fleet.replica_hosts[0]
    used = fleet.total_connections
    if fleet.pgbouncer.enabled:
        limit = fleet.pgbouncer.max_client_connections
        against = f"pgbouncer max_client_connections {limit} on {replica.name}"
    else:
        limit = fleet.postgres.usable_connections
        against = f"postgres max_connections {fleet.postgres.max_connections} - reserved {fleet.postgres.reserved_connections} on {replica.name}"
    return used, limit, f"{used} (the app's pools, opened again for reads) against {against}"


def _replication(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    replicas = fleet.replica_hosts
    if len(replicas) > 1:
        problems.append(
            Problem(
                "fleet",
                "roles",
                f"{len(replicas)} hosts have the role db_replica ({', '.join(h.name for h in replicas)}); "
                "Mastodon reads from one replica (REPLICA_DB_HOST)",
                "keep one host in 'db_replica'",
            )
        )
    for host in replicas:
        if host.has(Role.db):
            problems.append(
                Problem(host.name, "roles", "the host is both db and db_replica", "put the replica on another host")
            )
    names = [("replication", "user", fleet.replication.user)]
    if fleet.database_migration is not None:
        names.append(("database_migration", "user", fleet.database_migration.user))
    for where, field, name in names:
        if not ROLE_NAME_PATTERN.match(name):
            problems.append(
                Problem(
                    where, field, f"'{name}' is not a plain PostgreSQL role name", "use lowercase letters, digits, _"
                )
            )
    if replicas and fleet.replication.user == fleet.postgres.user:
        problems.append(
            Problem(
                "replication",
                "user",
                f"replicas would log in as the app's own role {fleet.postgres.user}",
                "give replication its own role, e.g. replicator",
            )
        )
    return problems


def _database_migration(fleet: Fleet) -> list[Problem]:
    migration = fleet.database_migration
    if migration is None or not migration.enabled:
        return []
    problems: list[Problem] = []
    if fleet.replica_hosts:
        problems.append(
            Problem(
                "database_migration",
                "enabled",
                "a read replica cannot follow a db host that is itself still a replica of the old primary",
                "add the db_replica host once the cutover is done and database_migration is removed",
            )
        )
    fleet_addresses = {str(host.private_address): host.name for host in fleet.hosts}
    fleet_addresses.update({str(host.public_address): host.name for host in fleet.hosts if host.public_address})
    if migration.source in fleet_addresses:
        problems.append(
            Problem(
                "database_migration",
                "source",
                f"{migration.source} is {fleet_addresses[migration.source]}, a host of this fleet",
                "name the old primary outside the fleet that the db host should copy",
            )
        )
    for field, value in (("source", migration.source), ("ssh_host", migration.ssh_host)):
        if value is not None and not ADDRESS_OR_NAME_PATTERN.match(value):
            problems.append(
                Problem(
                    "database_migration",
                    field,
                    f"'{value}' is neither an address nor a host name",
                    "write the old primary's private address, e.g. 10.0.0.5",
                )
            )
    return problems


def _replica_connection_budget(fleet: Fleet) -> list[Problem]:
    budget = replica_connection_budget(fleet)
    if budget is None or budget[0] <= budget[1]:
        return []
    return [
        Problem(
            "fleet",
            "connections",
            f"the app may open more connections to the read replica than it allows: {budget[2]}",
            "lower the app's pools or raise the limit",
        )
    ]


RULES = (
    _roles_present,
    _single_primaries,
    _unique_names_and_addresses,
    _app_hosts_have_processes,
    _queues,
    _database_pools,
    _connection_budget,
    _domains_and_version,
    _object_storage,
    _edge,
    _retired,
    _media_migration,
    _replication,
    _database_migration,
    _replica_connection_budget,
    _secrets,
    _operators,
    _hetzner_network,
    _monitoring,
    *ACCESS_RULES,
)
