"""What the edge's media programs are told by the deploy: one JSON file, credentials from the environment."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

SETTINGS_FILE = "/etc/mastofleet/media.json"


@dataclass(frozen=True)
class Settings:
    """Where the bucket and the old server are, and where the write-back keeps its state."""

    endpoint: str
    region: str
    bucket: str
    origin: str
    permission: str = "public-read"
    origin_log: str = "/var/log/nginx/media-origin.log"
    state_directory: str = "/var/lib/mastofleet-media"
    bandwidth_mb: float = 0.0
    copy_log: str = "/var/lib/mastofleet-media/copy.log"

    @classmethod
    def load(cls, path: str = SETTINGS_FILE) -> Settings:
        data = json.loads(Path(path).read_text())
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown settings {', '.join(unknown)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps({field.name: getattr(self, field.name) for field in fields(self)}, indent=2) + "\n"

    def origin_url(self, key: str) -> str:
        return f"{self.origin.rstrip('/')}/{key}"
