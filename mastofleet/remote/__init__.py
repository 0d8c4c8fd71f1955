"""Acting on fleet hosts over SSH: the client (`ssh_client`) and the command runner (`session`)."""

from mastofleet.remote.session import Remote, RemoteError, connected, logs_in_as_root
from mastofleet.remote.ssh_client import ssh_client

__all__ = ["Remote", "RemoteError", "connected", "logs_in_as_root", "ssh_client"]
