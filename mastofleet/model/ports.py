"""The one type of every port field: a TCP/UDP port, 1 to 65535 (0 means "any port" to a socket)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Port = Annotated[int, Field(ge=1, le=65535)]
