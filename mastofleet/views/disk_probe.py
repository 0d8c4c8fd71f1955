"""The disk probe of `mastofleet doctor` and of the deploy's disk guard: the script, its parsing and the verdict.

On each host one shell script (`probe_script`) measures the disk that holds the host's data under a
short synthetic load (fio, 4k random reads and writes, direct I/O; dd with synchronous 4k writes
when fio is not installed), and reads free space and inodes there, the load, memory, SMART health
where the disk exposes it and whether the clock is synchronised. A container hides the disk: SMART
is reported as not visible there, and load and memory are the whole machine's. The figures are
judged against the fleet's `doctor` thresholds: a disk that fails them fails the host (and refuses
the db role, see `mastofleet.runtime.disk_guard`); load, memory and time only warn.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from mastofleet.model import Doctor, Fleet, Host, Role

FIO_BEGIN = "--- fio ---"
FIO_END = "--- end fio ---"
MARKER = "mastofleet-doctor-probe"  # names the probe's command and its scratch file
DD_WRITES = 256


def data_directory(fleet: Fleet, host: Host) -> str:
    """Where the host keeps what a slow disk hurts most: PostgreSQL's data on db hosts, else /var/lib."""
    holds_database = host.has(Role.db) or host.has(Role.db_replica)
    return f"/var/lib/postgresql/{fleet.postgres.version}" if holds_database else "/var/lib"


def probe_script(directory: str, seconds: int) -> str:
    """The POSIX shell script run on a host; it prints `key=value` lines and fio's JSON report."""
    return f"""# {MARKER}
d={shlex.quote(directory)}
while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "directory=$d"
scratch="$d/.{MARKER}-$$"
trap 'rm -f "$scratch"' EXIT
if command -v fio >/dev/null 2>&1; then
  echo "tool=fio"
  echo "{FIO_BEGIN}"
  for engine in libaio psync; do
    if timeout {seconds * 10 + 30} fio --name={MARKER} --filename="$scratch" --size=64m --bs=4k --rw=randrw \\
        --rwmixread=70 --ioengine=$engine --iodepth=4 --direct=1 --runtime={seconds} --time_based \\
        --output-format=json 2>/dev/null; then
      break
    fi
  done
  echo "{FIO_END}"
else
  echo "tool=dd"
  written=$(timeout {seconds * 10 + 30} dd if=/dev/zero of="$scratch" bs=4k count={DD_WRITES} oflag=direct,dsync 2>&1 | tail -n 1)
  echo "dd_write=$written"
  read_back=$(timeout {seconds * 10 + 30} dd if="$scratch" of=/dev/null bs=4k iflag=direct 2>&1 | tail -n 1)
  echo "dd_read=$read_back"
fi
rm -f "$scratch"
echo "space=$(df -P -k "$d" | awk 'NR == 2 {{print $2, $4}}')"
echo "inodes=$(df -P -i "$d" | awk 'NR == 2 {{print $2, $4}}')"
echo "device=$(df -P "$d" | awk 'NR == 2 {{print $1}}')"
echo "loadavg=$(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "cpus=$(nproc)"
echo "memory=$(awk '/^MemTotal:/ {{t = $2}} /^MemAvailable:/ {{a = $2}} END {{print t, a}}' /proc/meminfo)"
echo "virtualization=$(systemd-detect-virt 2>/dev/null || echo none)"
container=$(systemd-detect-virt --container 2>/dev/null || echo none)
echo "container=$container"
echo "time_synchronized=$(timedatectl show -p NTPSynchronized --value 2>/dev/null || echo unknown)"
if [ "$container" != none ]; then
  echo "smart=hidden"
elif ! command -v smartctl >/dev/null 2>&1; then
  echo "smart=not-installed"
else
  source=$(findmnt -n -o SOURCE --target "$d" | head -n 1)
  disk=$(lsblk -n -d -o PKNAME "$source" 2>/dev/null | head -n 1)
  [ -n "$disk" ] && source="/dev/$disk"
  health=$(smartctl -H "$source" 2>&1)
  case "$health" in
    *PASSED*|*"Health Status: OK"*) echo "smart=passed $source" ;;
    *FAILED*|*"Health Status:"*) echo "smart=failed $source" ;;
    *) echo "smart=unavailable $source" ;;
  esac
fi
"""


@dataclass
class Probe:
    """What the probe found on one host."""

    directory: str = ""
    tool: str = ""
    read_latency_ms: float | None = None  # fio: 99th percentile; dd: mean
    write_latency_ms: float | None = None
    read_iops: float | None = None
    write_iops: float | None = None
    free_percent: float | None = None
    free_inodes_percent: float | None = None
    device: str = ""
    load15: float | None = None
    cpus: int | None = None
    memory_total_mb: int | None = None
    memory_available_percent: float | None = None
    virtualization: str = ""
    container: str = "none"
    time_synchronized: str = "unknown"
    smart: str = ""
    problems: list[str] = field(default_factory=list)  # what could not be read

    @property
    def load_per_cpu(self) -> float | None:
        return self.load15 / self.cpus if self.load15 is not None and self.cpus else None

    @property
    def latency_kind(self) -> str:
        return "p99" if self.tool == "fio" else "mean"


def _percentile_ms(side: dict[str, Any]) -> float | None:
    latency = side.get("clat_ns") or side.get("lat_ns") or {}
    percentiles = latency.get("percentile") or {}
    value = percentiles.get("99.000000")
    return round(value / 1e6, 3) if value is not None else None


def _parse_fio(text: str, probe: Probe) -> None:
    start = text.find("{")
    if start < 0:
        probe.problems.append("fio ran but reported nothing (no direct I/O here?)")
        return
    try:
        report = json.loads(text[start:])
        job = report["jobs"][0]
    except (ValueError, KeyError, IndexError):
        probe.problems.append("fio's report could not be read")
        return
    probe.read_latency_ms = _percentile_ms(job.get("read", {}))
    probe.write_latency_ms = _percentile_ms(job.get("write", {}))
    probe.read_iops = round(job.get("read", {}).get("iops", 0.0), 1)
    probe.write_iops = round(job.get("write", {}).get("iops", 0.0), 1)


def _dd_mean_ms(line: str, count: int) -> float | None:
    # "1048576 bytes (1.0 MB, 1.0 MiB) copied, 0.512 s, 2.0 MB/s"
    words = line.replace(",", " ").split()
    if "s" not in words or "copied" not in words:
        return None
    try:
        seconds = float(words[words.index("s") - 1])
    except (ValueError, IndexError):
        return None
    return round(seconds / count * 1000, 3)


def _numbers(value: str) -> list[float]:
    try:
        return [float(item) for item in value.split()]
    except ValueError:
        return []


def parse_probe(output: str) -> Probe:
    """Read what `probe_script` printed; anything missing is listed in `problems`."""
    probe = Probe()
    fio_text = ""
    if FIO_BEGIN in output:
        fio_text = output.split(FIO_BEGIN, 1)[1].split(FIO_END, 1)[0]
        output = output.replace(fio_text, "")
    values: dict[str, str] = {}
    for line in output.splitlines():
        key, separator, value = line.partition("=")
        if separator and key.isidentifier():
            values[key] = value.strip()
    probe.directory = values.get("directory", "")
    probe.tool = values.get("tool", "")
    if probe.tool == "fio":
        _parse_fio(fio_text, probe)
    elif probe.tool == "dd":
        probe.write_latency_ms = _dd_mean_ms(values.get("dd_write", ""), DD_WRITES)
        probe.read_latency_ms = _dd_mean_ms(values.get("dd_read", ""), DD_WRITES)
        if probe.write_latency_ms is None:
            probe.problems.append(f"dd could not write with direct I/O: {values.get('dd_write', '')}")
    else:
        probe.problems.append("the probe did not run (no output from the host)")
    space = _numbers(values.get("space", ""))
    if len(space) == 2 and space[0] > 0:
        probe.free_percent = round(space[1] / space[0] * 100, 1)
    inodes = _numbers(values.get("inodes", ""))
    if len(inodes) == 2 and inodes[0] > 0:
        probe.free_inodes_percent = round(inodes[1] / inodes[0] * 100, 1)
    probe.device = values.get("device", "")
    load = _numbers(values.get("loadavg", ""))
    if len(load) == 3:
        probe.load15 = load[2]
    cpus = _numbers(values.get("cpus", ""))
    probe.cpus = int(cpus[0]) if cpus else None
    memory = _numbers(values.get("memory", ""))
    if len(memory) == 2 and memory[0] > 0:
        probe.memory_total_mb = int(memory[0] // 1024)
        probe.memory_available_percent = round(memory[1] / memory[0] * 100, 1)
    probe.virtualization = values.get("virtualization", "")
    probe.container = values.get("container", "none") or "none"
    probe.time_synchronized = values.get("time_synchronized", "unknown") or "unknown"
    probe.smart = values.get("smart", "")
    return probe


# --- judging the figures ----------------------------------------------------------------------


def disk_failures(probe: Probe, thresholds: Doctor) -> list[str]:
    """Why the disk is not fit to hold a database, each reason with its figure; empty when it is."""
    failures = list(probe.problems)
    kind = probe.latency_kind
    for name, measured, limit in (
        ("read", probe.read_latency_ms, thresholds.read_latency_ms),
        ("write", probe.write_latency_ms, thresholds.write_latency_ms),
    ):
        if measured is not None and measured > limit:
            failures.append(f"{name} latency {kind} {measured:.1f} ms > {limit:g} ms")
    if probe.tool and probe.read_latency_ms is None and probe.write_latency_ms is None and not probe.problems:
        failures.append("no latency was measured")
    if probe.free_percent is not None and probe.free_percent < thresholds.free_space_percent:
        failures.append(f"free space {probe.free_percent:.1f}% < {thresholds.free_space_percent:g}%")
    if probe.free_inodes_percent is not None and probe.free_inodes_percent < thresholds.free_inodes_percent:
        failures.append(f"free inodes {probe.free_inodes_percent:.1f}% < {thresholds.free_inodes_percent:g}%")
    if probe.smart.startswith("failed"):
        failures.append(f"SMART health check failed on {probe.smart.split()[-1]}")
    return failures


def warnings(probe: Probe, thresholds: Doctor) -> list[str]:
    """What deserves a look but does not make the host unfit."""
    found = []
    if probe.load_per_cpu is not None and probe.load_per_cpu > thresholds.load_per_cpu:
        found.append(f"load per CPU {probe.load_per_cpu:.2f} > {thresholds.load_per_cpu:g}")
    memory = probe.memory_available_percent
    if memory is not None and memory < thresholds.memory_available_percent:
        found.append(f"available memory {memory:.1f}% < {thresholds.memory_available_percent:g}%")
    if probe.time_synchronized != "yes":
        found.append(f"clock synchronised: {probe.time_synchronized}")
    return found


def verdict(probe: Probe, thresholds: Doctor) -> str:
    if disk_failures(probe, thresholds):
        return "FAIL"
    return "WARN" if warnings(probe, thresholds) else "OK"


def smart_text(probe: Probe) -> str:
    state = probe.smart.split()[0] if probe.smart else "unknown"
    return {
        "hidden": f"not visible ({probe.container} container)",
        "not-installed": "not checked (no smartctl)",
        "unavailable": f"not exposed ({probe.virtualization} disk)"
        if probe.virtualization != "none"
        else "not exposed",
        "passed": "PASSED",
        "failed": "FAILED",
    }.get(state, state)
