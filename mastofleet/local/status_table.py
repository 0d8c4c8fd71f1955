"""`status`: one line per machine, from what is running on this machine right now."""

from mastofleet.local import cgroups, machine, network
from mastofleet.local.machines import MACHINES, base_directory

COLUMNS = ("HOST", "ADDRESS", "STATE", "SYSTEMD", "MEMORY")


def memory_text(name: str) -> str:
    usage = cgroups.memory_usage(name)
    return "-" if usage is None else f"{usage / 2**20:.0f} MiB"


def rows() -> list[tuple[str, ...]]:
    table: list[tuple[str, ...]] = []
    for name, host in MACHINES.items():
        running = machine.is_running(name)
        table.append(
            (
                name,
                host.address,
                "running" if running else "stopped",
                (machine.system_state(name) or "-") if running else "-",
                memory_text(name) if running else "-",
            )
        )
    return table


def format_table(table: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in [COLUMNS, *table]) for column in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [COLUMNS, *table]
    )


def status() -> int:
    print(format_table(rows()))
    print(f"\nbase image: {'present' if base_directory().exists() else 'not built'} ({base_directory()})")
    print(f"bridge: {'up' if network.bridge_exists() else 'absent'}")
    return 0
