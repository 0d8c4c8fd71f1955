"""Settings of the Hetzner fleet only (`inventories/hetzner.py`): where `mastofleet provision` creates it.

Server types and locations are checked against the Hetzner API at plan time (they change: the CX22-CX52
and CPX11-CPX51 families were retired in 2025), so a name that no longer exists fails before anything
is created, with the list of what the location offers.
"""

hetzner = {
    "location": "fsn1",
    "network_zone": "eu-central",
    "subnet": "10.0.1.0/24",
    "image": "debian-13",
}
