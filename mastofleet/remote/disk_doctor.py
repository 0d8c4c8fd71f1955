"""`mastofleet doctor INVENTORY`: the disk probe (`mastofleet.views.disk_probe`) run on every host over SSH,
and the table of every host's figures with a verdict per host."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mastofleet.model import Fleet
from mastofleet.remote.ssh_client import ssh_client
from mastofleet.views.disk_probe import (
    Probe,
    data_directory,
    disk_failures,
    parse_probe,
    probe_script,
    smart_text,
    verdict,
    warnings,
)


def _figure(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def probe_host(data: dict[str, Any], directory: str, seconds: int) -> Probe:
    """Run the probe over SSH with the inventory's connection settings."""
    try:
        client = ssh_client(data)
    except Exception as error:  # reported per host: the other hosts are still checked
        return Probe(problems=[f"unreachable: {error}"])
    with client:
        shell = "sh -s" if (data.get("ssh_user") or "root") == "root" else "sudo -n sh -s"
        _, stdout, stderr = client.exec_command(shell, timeout=seconds * 20 + 120)
        stdout.channel.sendall(probe_script(directory, seconds).encode())
        stdout.channel.shutdown_write()
        output = stdout.read().decode(errors="replace")
        stderr.read()
    return parse_probe(output)


def doctor_report(fleet: Fleet, inventory: Any) -> tuple[str, bool]:
    """The table of every host's figures and verdict, notes below it; ok when no host fails."""
    from mastofleet.project.fleet import fleet_host_name
    from mastofleet.views.report import table

    thresholds = fleet.doctor
    by_name = {fleet_host_name(item.name): item.data.dict() for item in inventory}
    with ThreadPoolExecutor(max_workers=len(fleet.hosts) or 1) as pool:
        futures = {
            host.name: pool.submit(
                probe_host, by_name[host.name], data_directory(fleet, host), thresholds.probe_seconds
            )
            for host in fleet.hosts
        }
        probes = {name: future.result() for name, future in futures.items()}
    rows = []
    notes = []
    healthy = True
    for host in fleet.hosts:
        probe = probes[host.name]
        judged = verdict(probe, thresholds)
        healthy = healthy and judged != "FAIL"
        load = "-" if probe.load_per_cpu is None else f"{probe.load15:.2f}/{probe.cpus}"
        memory = "-"
        if probe.memory_available_percent is not None:
            memory = f"{probe.memory_available_percent:.0f}% of {probe.memory_total_mb} MiB"
        rows.append(
            [
                host.name,
                ",".join(role.value for role in host.roles) or "-",
                f"{probe.directory or '-'} ({probe.tool or '-'})",
                _figure(probe.read_latency_ms, " ms", 2),
                _figure(probe.write_latency_ms, " ms", 2),
                _figure(probe.free_percent, "%"),
                _figure(probe.free_inodes_percent, "%"),
                load,
                memory,
                smart_text(probe),
                probe.time_synchronized,
                judged,
            ]
        )
        for reason in disk_failures(probe, thresholds):
            notes.append(f"{host.name}: FAIL: {reason}")
        for reason in warnings(probe, thresholds):
            notes.append(f"{host.name}: warn: {reason}")
        if probe.container != "none":
            notes.append(
                f"{host.name}: runs in a {probe.container} container: load and memory are the whole machine's, "
                "SMART is not visible from inside"
            )
    header = [
        "host",
        "roles",
        "disk (tool)",
        "read lat",
        "write lat",
        "free",
        "inodes",
        "load/cpus",
        "memory avail",
        "SMART",
        "clock sync",
        "verdict",
    ]
    lines = [
        table(header, rows),
        "",
        f"latency: 4k random I/O for {thresholds.probe_seconds} s, 99th percentile with fio (mean with dd);"
        f" a disk fails above {thresholds.read_latency_ms:g} ms read / {thresholds.write_latency_ms:g} ms write,"
        f" under {thresholds.free_space_percent:g}% free space or {thresholds.free_inodes_percent:g}% free inodes",
        *notes,
    ]
    return "\n".join(lines), healthy
