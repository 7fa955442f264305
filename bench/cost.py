#!/usr/bin/env python3
"""Cost per job of the whole system, from counters rather than timings (so it stays meaningful on a loaded machine).

  cost.py snapshot APPHOST_LOG > snap.json        the AppHost's resource table names every replica's pid and endpoint
  cost.py diff BEFORE.json AFTER.json MODEL       per job: CPU ms per resource (process tree), managed bytes
                                                  allocated (gateway, workers), Redis commands by name

Jobs = the gateway's aspire_inference_jobs_accepted_total{model} delta. Redis counts are INFO commandstats (the whole
server: background traffic such as heartbeats is included, and is small next to thousands of jobs).
"""
import json, os, re, subprocess, sys, urllib.request

TICKS = os.sysconf("SC_CLK_TCK")


def resources(log):
    rows = {}
    for line in open(log):
        m = re.match(r"^  (\S+)\s+\S+\s+\S+\s+pid (\d+)\s+(\S*)", line)
        if m:
            rows[m.group(1)] = {"pid": int(m.group(2)), "endpoint": m.group(3)}
    return rows


def process_table():
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                fields = stat[stat.rindex(")") + 2:].split()
                # ppid, utime + stime + the reaped children's cutime + cstime: a child that came and went between two
                # snapshots (Redis's AOF-rewrite fork) still counts, and a tree's total never falls.
                table[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
            except (OSError, ValueError, IndexError):
                pass
    return table


def tree_ticks(pid, table):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        if p in table:
            total += table[p][1]
            todo.extend(c for c, (ppid, _) in table.items() if ppid == p)
    return total


def metrics(endpoint):
    try:
        text = urllib.request.urlopen(endpoint.rstrip("/") + "/metrics", timeout=5).read().decode()
    except Exception:
        return {}
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


def redis_stats(endpoint):
    host, port = endpoint.replace("tcp://", "").split(":")
    out = subprocess.run(["redis-cli", "-h", host, "-p", port, "INFO", "commandstats"], capture_output=True, text=True).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", out)}


def snapshot(log):
    rows = resources(log)
    table = process_table()
    snap = {"cpu_ticks": {}, "metrics": {}, "redis": {}}
    for name, row in rows.items():
        snap["cpu_ticks"][name] = tree_ticks(row["pid"], table)
        if name.startswith(("gateway", "worker")) and row["endpoint"].startswith("http"):
            snap["metrics"][name] = metrics(row["endpoint"])
        if name == "cache" or name.startswith("cache-"):  # Aspire names a replica cache-<suffix>
            snap["redis"] = redis_stats(row["endpoint"])
    return snap


def diff(before, after, model):
    key = f'aspire_inference_jobs_accepted_total{{model="{model}"}}'
    jobs = sum(m.get(key, 0) for m in after["metrics"].values()) - sum(m.get(key, 0) for m in before["metrics"].values())
    print(f"jobs accepted: {jobs:.0f} ({model})")
    if jobs <= 0:
        return
    print("CPU ms per job, by resource (process tree):")
    total = 0.0
    for name in sorted(after["cpu_ticks"]):
        ms = (after["cpu_ticks"][name] - before["cpu_ticks"].get(name, 0)) * 1000 / TICKS / jobs
        total += ms
        print(f"  {name:<12} {ms:7.3f}")
    print(f"  {'all':<12} {total:7.3f}")
    alloc = "dotnet_total_memory_bytes_allocated"
    print("managed bytes allocated per job:")
    for kind in ("gateway", "worker"):
        names = [n for n in after["metrics"] if n.startswith(kind)]
        delta = sum(after["metrics"][n].get(alloc, 0) - before["metrics"].get(n, {}).get(alloc, 0) for n in names)
        print(f"  {kind:<12} {delta / jobs / 1024:9.1f} KiB")
    print("garbage collections per 1,000 jobs (gen0/gen1/gen2):")
    for kind in ("gateway", "worker"):
        names = [n for n in after["metrics"] if n.startswith(kind)]
        counts = []
        for g in range(3):
            k = f'dotnet_collection_count_total{{generation="{g}"}}'
            counts.append(sum(after["metrics"][n].get(k, 0) - before["metrics"].get(n, {}).get(k, 0) for n in names) * 1000 / jobs)
        print(f"  {kind:<12} " + " / ".join(f"{c:.1f}" for c in counts))
    print("Redis commands per job:")
    for cmd in sorted(after["redis"], key=lambda c: -(after["redis"][c] - before["redis"].get(c, 0))):
        d = after["redis"][cmd] - before["redis"].get(cmd, 0)
        if d > 0:
            print(f"  {cmd:<12} {d / jobs:7.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        json.dump(snapshot(sys.argv[2]), sys.stdout)
    else:
        diff(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), sys.argv[4])
