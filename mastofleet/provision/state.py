"""The state file: the Hetzner API's last answer about the fleet's servers, kept for offline use.

`mastofleet provision apply` and the live inventory write it; `check`, `render` and `--dry` read it
when there is no token (or no network). Only what the API said is stored: ids, addresses, types,
labels; never a token. The file is rewritten only when that answer changed, so it can be committed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_VARIABLE = "MASTOFLEET_HETZNER_STATE"
COMMENT = "Written by mastofleet from the Hetzner API (provision apply, or the inventory with HCLOUD_TOKEN)."


def state_path_for(inventory_path: str | Path) -> Path:
    """$MASTOFLEET_HETZNER_STATE, else `<inventory>.state.json` next to the inventory file."""
    configured = os.environ.get(STATE_VARIABLE)
    if configured:
        return Path(configured)
    inventory = Path(inventory_path)
    return inventory.with_name(f"{inventory.stem}.state.json")


def server_record(server: Any) -> dict[str, Any]:
    """What the inventory needs of a server (a bound hcloud server)."""
    public = server.public_net
    private = (server.private_net or [None])[0]
    return {
        "id": server.id,
        "status": server.status,
        "server_type": server.server_type.name if server.server_type else None,
        "location": server.location.name if server.location else None,
        "public_address": public.ipv4.ip if public and public.ipv4 else None,
        "public_ipv6": public.ipv6.ip if public and public.ipv6 else None,
        "private_address": private.ip if private else None,
        "labels": dict(server.labels or {}),
    }


def read_state(path: Path) -> dict[str, Any]:
    """The state document; an empty one when the file does not exist yet."""
    if not path.exists():
        return {"servers": {}}
    try:
        document = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path}: not a JSON state file ({error}); delete it and run provision apply") from None
    document.setdefault("servers", {})
    return dict(document)


def write_state(path: Path, fleet: str, servers: dict[str, dict[str, Any]]) -> bool:
    """Record the servers; False when the file already said exactly this."""
    document = {"comment": COMMENT, "fleet": fleet, "servers": dict(sorted(servers.items()))}
    text = json.dumps(document, indent=2) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return True
