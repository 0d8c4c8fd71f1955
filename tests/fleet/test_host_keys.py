"""The commands' SSH client checks host keys as pyinfra does: with `accept-new`, a host seen for the
first time is recorded, the same key is accepted again, and a changed key is refused with an error
naming the host (a man in the middle, or a rebuilt server someone must confirm).

Real parts: the local fleet's sshd on nixie and freud; the known-hosts file is a temporary one (the
local fleet's own inventory turns checking off, as its hosts are rebuilt every run).
"""

from __future__ import annotations

import pytest

from mastofleet.project.fleet import load_fleet
from mastofleet.remote.session import RemoteError, connected
from support.deploy_run import PROJECT

pytestmark = [pytest.mark.fleet]


def test_a_changed_host_key_is_refused(first_deploy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, inventory = load_fleet(str(PROJECT / "inventories" / "local.py"))
    data = {item.name: item.data.dict() for item in inventory}
    known = tmp_path / "known_hosts"
    checked = {"ssh_strict_host_key_checking": "accept-new", "ssh_known_hosts_file": str(known)}
    nixie, freud = ({**data[name], **checked} for name in ("nixie", "freud"))
    for _ in range(2):  # recorded at first contact, accepted the second time
        with connected("nixie", nixie) as remote:
            assert remote.run("hostname").strip() == "nixie"
    with connected("freud", freud) as remote:
        remote.run("true")
    lines = known.read_text().splitlines()
    assert len(lines) == 2, lines
    nixie_line, freud_line = lines
    # nixie's entry now carries freud's key: what a server that is not nixie would present
    address = nixie_line.split()[0]
    known.write_text(f"{address} {' '.join(freud_line.split()[1:])}\n{freud_line}\n")
    refused = pytest.raises(RemoteError, match="nixie: cannot connect by SSH to .*(does not match|BadHostKey)")
    with refused, connected("nixie", nixie):
        pass
