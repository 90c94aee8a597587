"""What the benchmarks read from /proc: a server process's CPU time and resident memory, and the CPU time
the hypervisor gave to other guests (steal), which makes a latency figure of a virtual machine noise."""

import os


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of a process in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def host_ticks() -> tuple[int, int]:
    """(all, steal) CPU ticks of the machine since boot, every core summed (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return sum(fields[:8]), fields[7]  # user nice system idle iowait irq softirq steal; guest is in user


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the machine's CPU time between two host_ticks() readings that was stolen (0 to 1)."""
    total = after[0] - before[0]
    return (after[1] - before[1]) / total if total > 0 else 0.0
