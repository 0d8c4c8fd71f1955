"""nginx on lb and edge hosts: certificates, and the edge's caching proxy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mastofleet.model.base import Strict


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
