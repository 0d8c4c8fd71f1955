"""Media: object storage, and the live migration of media from an old server."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mastofleet.model.base import Strict, is_address
from mastofleet.model.secrets_reference import SecretReference


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
        return is_address(self.hostname.rsplit(":", 1)[0])

    @property
    def bucket_url(self) -> str:
        """Where the bucket's objects are served: https://BUCKET.HOST, or ENDPOINT/BUCKET by address."""
        if self.path_style:
            return f"{self.scheme}://{self.hostname}/{self.bucket}"
        return f"{self.scheme}://{self.bucket}.{self.hostname}"


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
