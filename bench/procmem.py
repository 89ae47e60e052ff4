"""bench/procmem.py — a process's memory as the benchmarks report it, read from /proc: resident
set size, and proportional set size (shared library pages counted by each process's share)."""


def _field_kb(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid):
    """VmRSS in KiB, 0 when the process is gone."""
    return _field_kb("/proc/%d/status" % pid, "VmRSS:")


def pss_kb(pid):
    """Pss in KiB (smaps_rollup), 0 when the process is gone."""
    return _field_kb("/proc/%d/smaps_rollup" % pid, "Pss:")
