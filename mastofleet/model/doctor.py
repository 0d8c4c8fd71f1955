"""Thresholds of `mastofleet doctor`."""

from __future__ import annotations

from pydantic import Field

from mastofleet.model.base import Strict


class Doctor(Strict):
    """Thresholds of `mastofleet doctor`, and of the disk check before a host is given the db role."""

    probe_seconds: int = Field(3, ge=1, le=60, description="Length of the synthetic disk load (4k random I/O).")
    read_latency_ms: float = Field(50, gt=0, description="99th-percentile read latency above which a disk fails.")
    write_latency_ms: float = Field(50, gt=0, description="99th-percentile write latency above which a disk fails.")
    free_space_percent: float = Field(15, ge=0, le=100, description="Free space below which a disk fails.")
    free_inodes_percent: float = Field(10, ge=0, le=100, description="Free inodes below which a disk fails.")
    load_per_cpu: float = Field(2.0, gt=0, description="15-minute load per CPU above which a host is warned about.")
    memory_available_percent: float = Field(
        10, ge=0, le=100, description="Available memory below which a host is warned about."
    )
