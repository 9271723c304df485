"""Server-side CPU and context switches per request, from /proc (Linux).

Used by grid.py around every load run: CPU time per request is steadier
than throughput on a shared machine, and context switches per request
show thread hand-offs that instruction counts do not.
"""
import os

TICK = os.sysconf("SC_CLK_TCK")


def sample(pid):
    """(cpu seconds user+system, context switches, threads) of process `pid`."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    switches = threads = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
            threads += 1
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return cpu, switches, threads


def per_thread(pid):
    """{thread name: [cpu seconds, voluntary switches, involuntary switches, count]}."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            vol = invol = 0
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol = int(line.split()[1])
        except FileNotFoundError:
            continue
        e = out.setdefault(name, [0.0, 0, 0, 0])
        e[0] += (int(fields[11]) + int(fields[12])) / TICK
        e[1] += vol
        e[2] += invol
        e[3] += 1
    return out
