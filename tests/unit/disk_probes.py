"""What `mastofleet.views.disk_probe.probe_script` prints on a host, built from figures, for tests without hosts.

fio's JSON report is reduced to the fields the parser reads (jobs[0].read/write: iops and
clat_ns.percentile["99.000000"]), in fio 3's layout; the fleet tests parse real reports.
"""

from __future__ import annotations

import json

from mastofleet.views.disk_probe import FIO_BEGIN, FIO_END


def fio_report(read_p99_ms: float, write_p99_ms: float) -> str:
    def side(p99_ms: float, iops: float) -> dict:
        return {"iops": iops, "clat_ns": {"mean": p99_ms * 4e5, "percentile": {"99.000000": int(p99_ms * 1e6)}}}

    report = {
        "fio version": "fio-3.39",
        "jobs": [{"jobname": "probe", "read": side(read_p99_ms, 2100.5), "write": side(write_p99_ms, 900.25)}],
    }
    return json.dumps(report, indent=2)


def probe_output(
    read_p99_ms: float = 0.9,
    write_p99_ms: float = 1.4,
    space_kb: tuple[int, int] = (100_000_000, 60_000_000),
    inodes: tuple[int, int] = (6_000_000, 5_500_000),
    loadavg: str = "0.30 0.25 0.20",
    cpus: int = 2,
    memory_kb: tuple[int, int] = (8_000_000, 6_000_000),
    virtualization: str = "kvm",
    container: str = "none",
    time_synchronized: str = "yes",
    smart: str = "unavailable /dev/vda",
    tool: str = "fio",
) -> str:
    lines = ["directory=/var/lib/postgresql/17", f"tool={tool}"]
    if tool == "fio":
        lines += [FIO_BEGIN, fio_report(read_p99_ms, write_p99_ms), FIO_END]
    lines += [
        f"space={space_kb[0]} {space_kb[1]}",
        f"inodes={inodes[0]} {inodes[1]}",
        "device=/dev/vda1",
        f"loadavg={loadavg}",
        f"cpus={cpus}",
        f"memory={memory_kb[0]} {memory_kb[1]}",
        f"virtualization={virtualization}",
        f"container={container}",
        f"time_synchronized={time_synchronized}",
        f"smart={smart}",
    ]
    return "\n".join(lines) + "\n"
