"""Where a command's CPU goes, by kind of process: the runner, its zygotes, the kernels forked from
them, kernel launchers, spawned report workers, pytest workers, chromium, LibreOffice …

    .venv/bin/python benchmarks/cpu_by_process.py -- .venv/bin/python -m pytest -q -n 2 --dist loadscope
    .venv/bin/python benchmarks/cpu_by_process.py --json benchmarks/out/cpu.json -- \\
        .venv/bin/perflib run --db data/perf.duckdb --out /tmp/r --jobs 2 --force --no-progress

The command's process tree is sampled every ``--interval`` seconds (each process's user + system
time and command line; a process stays counted after its parent dies); a process that ends between
two samples loses at most one interval of CPU, so the sampled total is shown beside the exact one
(``getrusage`` of the waited-for descendants). Also the machine's busy share over the run: on two
cores, a share well under 100 % means the command waited rather than computed.
Exit status: the command's.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

# (kind, what its command line holds), first match wins; a zygote's forked kernels are told apart by
# their parent (they keep the zygote's command line)
ZYGOTE = "perflib.run.kernels zygote"
KINDS = (
    ("zygote", ZYGOTE),
    ("kernel launcher", "perflib.run.kernels launch"),
    ("kernel (started fresh)", "ipykernel"),
    ("report worker (spawned)", "multiprocessing.spawn"),
    ("report worker (spawned)", "multiprocessing.forkserver"),
    ("perflib command", "perflib.cli"),
    ("perflib command", "bin/perflib "),
    ("pytest worker", "exec(eval(sys.stdin"),
    ("pytest", "-m pytest"),
    ("pytest", "bin/pytest"),
    ("chromium", "chrom"),
    ("LibreOffice", "soffice"),
    ("LibreOffice", "oosplash"),
    ("other Python", "python"),
)
FORKED_KERNEL = "kernel (forked from a zygote)"


def kind_of(cmdline: str, parent_cmdline: str = "") -> str:
    """The kind of a process from its command line (and its parent's, for forked kernels)."""
    if ZYGOTE in cmdline and ZYGOTE in parent_cmdline:
        return FORKED_KERNEL
    for kind, needle in KINDS:
        if needle in cmdline:
            return kind
    return "other"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _proc_table() -> dict[int, tuple[int, float, int]]:
    """pid → (parent pid, user + system seconds, start ticks) of every process (Linux ``/proc``;
    a zombie still shows its final times)."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2:].split()
        table[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, int(fields[19]))
    return table


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def profile(cmd: list[str], interval: float = 0.1) -> dict:
    """Run ``cmd``; CPU seconds by kind of process (see the module docstring)."""
    seen: dict[tuple[int, int], dict] = {}   # (pid, start ticks) → {cmd, parent, cpu}
    before, machine_before = _children_cpu(), _machine_ticks()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)

    def sample() -> None:
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        # the command's descendants, and those of every process seen before that still lives (an
        # orphan's parent is gone, but it and what it starts are still the command's)
        tree, todo = set(), [proc.pid] + [pid for pid, started in seen if pid in table and table[pid][2] == started]
        while todo:
            pid = todo.pop()
            if pid in table and pid not in tree:
                tree.add(pid)
                todo += children.get(pid, [])
        for pid in tree:
            ppid, cpu, started = table[pid]
            rec = seen.get((pid, started))
            if rec is None:
                parent = seen.get((ppid, table[ppid][2])) if ppid in table else None
                rec = seen[(pid, started)] = {"cmd": "", "parent": parent["cmd"] if parent else _cmdline(ppid),
                                              "cpu": 0.0}
            rec["cpu"] = cpu
            if not rec["cmd"]:  # the first command line is kept (a retired zygote execs another)
                rec["cmd"] = _cmdline(pid)

    while proc.poll() is None:
        sample()
        time.sleep(interval)
    wall = time.perf_counter() - start
    exact = _children_cpu() - before
    machine_after = _machine_ticks()
    busy = [b - a for a, b in zip(machine_before, machine_after)]
    kinds: dict[str, dict] = {}
    for rec in seen.values():
        k = kinds.setdefault(kind_of(rec["cmd"], rec["parent"]), {"processes": 0, "cpu_s": 0.0})
        k["processes"] += 1
        k["cpu_s"] += rec["cpu"]
    for k in kinds.values():
        k["cpu_s"] = round(k["cpu_s"], 2)
    return {"command": cmd, "exit": proc.returncode, "wall_s": round(wall, 2),
            "cpu_sampled_s": round(sum(r["cpu"] for r in seen.values()), 2), "cpu_exact_s": round(exact, 2),
            "machine_busy": round(1 - busy[1] / busy[0], 3) if busy[0] > 0 else None,
            "kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1]["cpu_s"]))}


def _machine_ticks() -> tuple[int, int]:
    """(all, idle + iowait) CPU ticks of the machine since boot (``/proc/stat``)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return sum(values), values[3] + values[4]


def show(r: dict) -> str:
    lines = [f"wall {r['wall_s']:.1f} s; CPU {r['cpu_exact_s']:.1f} s (sampled {r['cpu_sampled_s']:.1f} s); "
             f"machine busy {100 * (r['machine_busy'] or 0):.0f} %; exit {r['exit']}",
             f"{'kind':32s} {'processes':>9s} {'CPU s':>8s} {'share':>6s}"]
    total = r["cpu_sampled_s"] or 1.0
    for kind, k in r["kinds"].items():
        lines.append(f"{kind:32s} {k['processes']:9d} {k['cpu_s']:8.1f} {100 * k['cpu_s'] / total:5.0f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        print("usage: cpu_by_process.py [--interval S] [--json FILE] -- COMMAND ...", file=sys.stderr)
        return 2
    cut = argv.index("--")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv[:cut])
    if not argv[cut + 1:]:
        ap.error("no command after --")
    r = profile(argv[cut + 1:], args.interval)
    print(show(r), file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, ensure_ascii=False, indent=1), "utf-8")
    return r["exit"]


if __name__ == "__main__":
    sys.exit(main())
