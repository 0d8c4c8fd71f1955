"""`mastofleet doctor` and the disk check before PostgreSQL, without hosts: the probe's output read
into figures and judged against the fleet's thresholds, the probe script itself run on this machine,
and the deploy plan of the db host refused (before anything runs) when its disk fails, unless forced.

The probe's output is built by `disk_probes.probe_output` (fio's report reduced to the fields read);
the fleet tests run the real probe on the local hosts.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from disk_probes import probe_output
from fleet_builder import build, default_fleet_data
from plans import plan_host, secrets_in_environment  # noqa: F401 - a fixture used below
from pyinfra.api.exceptions import PyinfraError

from mastofleet.model import Doctor
from mastofleet.views.disk_probe import (
    MARKER,
    data_directory,
    disk_failures,
    parse_probe,
    probe_script,
    smart_text,
    verdict,
    warnings,
)

THRESHOLDS = Doctor()


def test_a_healthy_host_reads_as_ok():
    probe = parse_probe(probe_output())
    assert (probe.tool, probe.read_latency_ms, probe.write_latency_ms) == ("fio", 0.9, 1.4)
    assert (probe.read_iops, probe.write_iops) == (2100.5, 900.2)
    assert (probe.free_percent, probe.free_inodes_percent) == (60.0, 91.7)
    assert (probe.load15, probe.cpus, probe.load_per_cpu) == (0.2, 2, 0.1)
    assert (probe.memory_total_mb, probe.memory_available_percent) == (7812, 75.0)
    assert probe.directory == "/var/lib/postgresql/17" and probe.device == "/dev/vda1"
    assert probe.problems == []
    assert verdict(probe, THRESHOLDS) == "OK"
    assert smart_text(probe) == "not exposed (kvm disk)"


def test_a_slow_disk_fails_with_its_figures():
    probe = parse_probe(probe_output(read_p99_ms=180.25, write_p99_ms=912.5))
    assert disk_failures(probe, THRESHOLDS) == [
        "read latency p99 180.2 ms > 50 ms",
        "write latency p99 912.5 ms > 50 ms",
    ]
    assert verdict(probe, THRESHOLDS) == "FAIL"


def test_a_nearly_full_disk_and_a_failed_smart_check_fail():
    probe = parse_probe(
        probe_output(
            space_kb=(100_000_000, 9_000_000), inodes=(1000, 50), smart="failed /dev/sda", virtualization="none"
        )
    )
    assert disk_failures(probe, THRESHOLDS) == [
        "free space 9.0% < 15%",
        "free inodes 5.0% < 10%",
        "SMART health check failed on /dev/sda",
    ]
    assert smart_text(probe) == "FAILED"


def test_load_memory_and_time_only_warn():
    probe = parse_probe(
        probe_output(loadavg="9.0 8.0 6.5", cpus=2, memory_kb=(8_000_000, 400_000), time_synchronized="no")
    )
    assert disk_failures(probe, THRESHOLDS) == []
    assert warnings(probe, THRESHOLDS) == [
        "load per CPU 3.25 > 2",
        "available memory 5.0% < 10%",
        "clock synchronised: no",
    ]
    assert verdict(probe, THRESHOLDS) == "WARN"


def test_a_container_says_smart_is_hidden_rather_than_inventing_a_value():
    probe = parse_probe(probe_output(virtualization="systemd-nspawn", container="systemd-nspawn", smart="hidden"))
    assert smart_text(probe) == "not visible (systemd-nspawn container)"
    assert verdict(probe, THRESHOLDS) == "OK"


def test_dd_is_the_fallback_and_reports_means():
    output = probe_output(tool="dd") + (
        "dd_write=1048576 bytes (1.0 MB, 1.0 MiB) copied, 2.56 s, 410 kB/s\n"
        "dd_read=1048576 bytes (1.0 MB, 1.0 MiB) copied, 0.0512 s, 20.5 MB/s\n"
    )
    probe = parse_probe(output)
    assert (probe.tool, probe.latency_kind) == ("dd", "mean")
    assert (probe.write_latency_ms, probe.read_latency_ms) == (10.0, 0.2)
    probe = parse_probe(output.replace("2.56 s", "25.6 s"))
    assert disk_failures(probe, THRESHOLDS) == ["write latency mean 100.0 ms > 50 ms"]


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("", "the probe did not run (no output from the host)"),
        (probe_output().replace('"99.000000"', '"95.000000"'), "no latency was measured"),
        ("tool=fio\n--- fio ---\nfio: O_DIRECT not supported\n--- end fio ---\n", "fio ran but reported nothing"),
        ("tool=dd\ndd_write=dd: failed to open 'x': Invalid argument\n", "dd could not write with direct I/O"),
    ],
    ids=["no-output", "no-percentile", "fio-failed", "dd-failed"],
)
def test_a_disk_that_could_not_be_measured_fails(output, reason):
    failures = disk_failures(parse_probe(output), THRESHOLDS)
    assert failures and failures[0].startswith(reason)


def test_the_probe_script_runs_here(tmp_path):
    """The real script on this machine (fio if installed, else dd) against tmp_path: the figures
    it reads match what Python reads here, and it leaves no scratch file behind."""
    result = subprocess.run(
        ["sh", "-s"],
        input=probe_script(str(tmp_path / "absent" / "dir"), 1),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    probe = parse_probe(result.stdout)
    assert probe.directory == str(tmp_path)  # the nearest existing directory
    assert probe.tool == ("fio" if shutil.which("fio") else "dd")
    usage = shutil.disk_usage(tmp_path)
    assert probe.free_percent is not None and abs(probe.free_percent - usage.free / usage.total * 100) < 2
    assert probe.cpus == os.cpu_count()
    assert probe.load15 is not None and probe.memory_total_mb and probe.memory_available_percent
    assert probe.read_latency_ms is not None or probe.problems  # measured, or said why not
    assert os.listdir(tmp_path) == []
    assert MARKER in probe_script("/x", 1)


def test_db_hosts_are_probed_where_postgresql_keeps_its_data():
    fleet = build(*default_fleet_data())
    assert data_directory(fleet, fleet.host("nixie")) == "/var/lib/postgresql/17"
    assert data_directory(fleet, fleet.host("freud")) == "/var/lib"


# --- the deploy refuses the db role on a failing disk ---------------------------------------------


def slow_disk() -> dict[str, dict]:
    return {"nixie": {MARKER: probe_output(write_p99_ms=312.4).splitlines()}}


def test_a_failing_disk_refuses_the_db_role_before_anything_is_planned(secrets_in_environment):  # noqa: F811
    hosts, common = default_fleet_data()
    with pytest.raises(PyinfraError) as refused:
        plan_host("nixie", hosts, common, slow_disk())
    message = str(refused.value)
    assert message.startswith("mastofleet refuses to deploy the db role onto nixie: its disk")
    assert "/var/lib/postgresql/17 on /dev/vda1, measured with fio for 3 s" in message
    assert "write latency p99 312.4 ms > 50 ms" in message
    assert "--force-disk" in message


def test_a_forced_deploy_goes_ahead_on_a_failing_disk(secrets_in_environment):  # noqa: F811
    hosts, common = default_fleet_data()
    next(host for host in hosts if host["name"] == "nixie")["data"]["force_disk"] = True
    plan = plan_host("nixie", hosts, common, slow_disk())
    assert "PostgreSQL | Install PostgreSQL" in plan.names


def test_only_db_hosts_are_probed_by_the_deploy(secrets_in_environment):  # noqa: F811
    hosts, common = default_fleet_data()
    slow = {name: {MARKER: probe_output(write_p99_ms=900).splitlines()} for name in ("freud", "esme")}
    for name in ("freud", "esme"):
        plan = plan_host(name, hosts, common, slow)
        assert plan.names
        assert not [command for command in plan.host.connector.executed_commands if MARKER in command], name
    nixie = plan_host("nixie", hosts, common)
    assert len([command for command in nixie.host.connector.executed_commands if MARKER in command]) == 1
