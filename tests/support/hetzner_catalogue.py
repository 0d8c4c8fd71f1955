"""What the fake Hetzner API offers: locations, server types per location, system images.

Shaped like the API's `/locations`, `/server_types` and `/images` answers (docs.hetzner.cloud, with
the per-location `locations[]` of server types added in 2025-09). The families follow Hetzner's
2025 line-up: CX23-CX53 (cost-optimized, EU only), CPX12-CPX62 (regular performance), CCX13-CCX63
(dedicated vCPU), CAX11-CAX41 (Arm, EU only); CX22-CX52 and CPX11-CPX51 are still listed but
deprecated and no longer orderable, as the real API keeps retired types visible for old servers.
Figures are plausible, not a price list: the provisioning code asks the API and never relies on them.
"""

from __future__ import annotations

from typing import Any

EU = ("fsn1", "nbg1", "hel1")
EVERYWHERE = ("fsn1", "nbg1", "hel1", "ash", "hil", "sin")

LOCATIONS: list[dict[str, Any]] = [
    {
        "id": index,
        "name": name,
        "description": description,
        "country": country,
        "city": city,
        "latitude": latitude,
        "longitude": longitude,
        "network_zone": zone,
    }
    for index, (name, description, country, city, latitude, longitude, zone) in enumerate(
        [
            ("fsn1", "Falkenstein DC Park 1", "DE", "Falkenstein", 50.47612, 12.370071, "eu-central"),
            ("nbg1", "Nuremberg DC Park 1", "DE", "Nuremberg", 49.452102, 11.076665, "eu-central"),
            ("hel1", "Helsinki DC Park 1", "FI", "Helsinki", 60.169855, 24.938379, "eu-central"),
            ("ash", "Ashburn, VA", "US", "Ashburn, VA", 39.045821, -77.487073, "us-east"),
            ("hil", "Hillsboro, OR", "US", "Hillsboro, OR", 45.54222, -122.951924, "us-west"),
            ("sin", "Singapore", "SG", "Singapore", 1.283333, 103.833333, "ap-southeast"),
        ],
        start=1,
    )
]

RETIRED = {"announced": "2025-10-16T00:00:00+00:00", "unavailable_after": "2026-01-01T00:00:00+00:00"}

# name, category, cores, memory GB, disk GB, cpu type, architecture, monthly EUR, locations, retired
_TYPES: list[tuple[str, str, int, float, int, str, str, float, tuple[str, ...], bool]] = [
    ("cx23", "cost_optimized", 2, 4, 40, "shared", "x86", 3.49, EU, False),
    ("cx33", "cost_optimized", 4, 8, 80, "shared", "x86", 5.49, EU, False),
    ("cx43", "cost_optimized", 8, 16, 160, "shared", "x86", 9.49, EU, False),
    ("cx53", "cost_optimized", 16, 32, 320, "shared", "x86", 17.49, EU, False),
    ("cpx12", "regular_purpose", 1, 2, 40, "shared", "x86", 5.99, EVERYWHERE, False),
    ("cpx22", "regular_purpose", 2, 4, 80, "shared", "x86", 7.99, EVERYWHERE, False),
    ("cpx32", "regular_purpose", 4, 8, 160, "shared", "x86", 13.99, EVERYWHERE, False),
    ("cpx42", "regular_purpose", 8, 16, 320, "shared", "x86", 25.49, EVERYWHERE, False),
    ("cpx52", "regular_purpose", 12, 24, 480, "shared", "x86", 36.49, EVERYWHERE, False),
    ("cpx62", "regular_purpose", 16, 32, 640, "shared", "x86", 49.99, EVERYWHERE, False),
    ("ccx13", "general_purpose", 2, 8, 80, "dedicated", "x86", 12.49, EVERYWHERE, False),
    ("ccx23", "general_purpose", 4, 16, 160, "dedicated", "x86", 24.49, EVERYWHERE, False),
    ("ccx33", "general_purpose", 8, 32, 240, "dedicated", "x86", 48.49, EVERYWHERE, False),
    ("ccx43", "general_purpose", 16, 64, 360, "dedicated", "x86", 96.49, EVERYWHERE, False),
    ("ccx53", "general_purpose", 32, 128, 600, "dedicated", "x86", 192.49, EVERYWHERE, False),
    ("ccx63", "general_purpose", 48, 192, 960, "dedicated", "x86", 288.49, EVERYWHERE, False),
    ("cax11", "cost_optimized", 2, 4, 40, "shared", "arm", 3.79, EU, False),
    ("cax21", "cost_optimized", 4, 8, 80, "shared", "arm", 6.49, EU, False),
    ("cax31", "cost_optimized", 8, 16, 160, "shared", "arm", 12.49, EU, False),
    ("cax41", "cost_optimized", 16, 32, 320, "shared", "arm", 24.49, EU, False),
    ("cx22", "cost_optimized", 2, 4, 40, "shared", "x86", 3.79, EU, True),
    ("cx32", "cost_optimized", 4, 8, 80, "shared", "x86", 6.80, EU, True),
    ("cx42", "cost_optimized", 8, 16, 160, "shared", "x86", 16.40, EU, True),
    ("cx52", "cost_optimized", 16, 32, 320, "shared", "x86", 32.40, EU, True),
    ("cpx11", "regular_purpose", 2, 2, 40, "shared", "x86", 4.35, EVERYWHERE, True),
    ("cpx21", "regular_purpose", 3, 4, 80, "shared", "x86", 7.55, EVERYWHERE, True),
    ("cpx31", "regular_purpose", 4, 8, 160, "shared", "x86", 13.60, EVERYWHERE, True),
    ("cpx41", "regular_purpose", 8, 16, 240, "shared", "x86", 25.20, EVERYWHERE, True),
    ("cpx51", "regular_purpose", 16, 32, 360, "shared", "x86", 54.90, EVERYWHERE, True),
]

_LOCATION_IDS = {location["name"]: location["id"] for location in LOCATIONS}


def _price(location: str, monthly: float) -> dict[str, Any]:
    def amount(value: float) -> dict[str, str]:
        return {"net": f"{value:.4f}", "gross": f"{value * 1.19:.4f}"}

    return {
        "location": location,
        "price_hourly": amount(monthly / 730),
        "price_monthly": amount(monthly),
        "included_traffic": 21990232555520,
        "price_per_tb_traffic": amount(1.0),
    }


def server_types() -> list[dict[str, Any]]:
    """The server types, each with its per-location availability."""
    result = []
    for index, (name, category, cores, memory, disk, cpu, architecture, monthly, places, retired) in enumerate(
        _TYPES, start=1
    ):
        result.append(
            {
                "id": 100 + index,
                "name": name,
                "description": name.upper(),
                "category": category,
                "cores": cores,
                "memory": memory,
                "disk": disk,
                "deprecated": retired,
                "deprecation": dict(RETIRED) if retired else None,
                "prices": [_price(place, monthly) for place in places],
                "storage_type": "local",
                "cpu_type": cpu,
                "architecture": architecture,
                "included_traffic": 21990232555520,
                "locations": [
                    {
                        "id": _LOCATION_IDS[place],
                        "name": place,
                        "deprecation": dict(RETIRED) if retired else None,
                        "available": not retired,
                        "recommended": not retired,
                    }
                    for place in places
                ],
            }
        )
    return result


def images() -> list[dict[str, Any]]:
    """System images: Debian 12 and 13, Ubuntu 24.04, each for x86 and Arm."""
    result = []
    for index, (name, flavor, version, architecture) in enumerate(
        [
            (name, flavor, version, architecture)
            for name, flavor, version in (
                ("debian-12", "debian", "12"),
                ("debian-13", "debian", "13"),
                ("ubuntu-24.04", "ubuntu", "24.04"),
            )
            for architecture in ("x86", "arm")
        ],
        start=1,
    ):
        result.append(
            {
                "id": 5000 + index,
                "type": "system",
                "status": "available",
                "name": name,
                "description": f"{flavor.capitalize()} {version}",
                "image_size": None,
                "disk_size": 5,
                "created": "2025-08-10T00:00:00+00:00",
                "created_from": None,
                "bound_to": None,
                "os_flavor": flavor,
                "os_version": version,
                "rapid_deploy": True,
                "protection": {"delete": False},
                "deprecated": None,
                "deleted": None,
                "labels": {},
                "architecture": architecture,
            }
        )
    return result
