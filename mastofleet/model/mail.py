"""Outgoing mail."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mastofleet.model.base import Strict
from mastofleet.model.ports import Port
from mastofleet.model.secrets_reference import SecretReference


class Smtp(Strict):
    """Outgoing mail."""

    server: str = Field("localhost", description="SMTP_SERVER.")
    port: Port = Field(587, description="SMTP_PORT.")
    login: str | None = Field(None, description="SMTP_LOGIN.")
    password: SecretReference | None = Field(None, description="SMTP_PASSWORD, by reference.")
    from_address: str = Field(description="SMTP_FROM_ADDRESS.")
    auth_method: Literal["plain", "login", "cram_md5", "none"] = Field("plain", description="SMTP_AUTH_METHOD.")
    enable_starttls: Literal["auto", "always", "never"] = Field("auto", description="SMTP_ENABLE_STARTTLS.")
