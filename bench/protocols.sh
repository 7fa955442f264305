#!/usr/bin/env bash
# Hub protocols compared (issue 13): the same image, the same load, JSON then MessagePack. Starts the whole system
# through the AppHost (1 gateway, $WORKERS workers) and runs `bench` (closed loop, $CLIENTS connections) through a
# counting proxy (bench/wire-bytes.py) once per protocol: bytes on the wire per job each way, and the cost per job
# from bench/cost.py (gateway CPU ms, allocations) and the bench process's own CPU (the client's side of the protocol),
# after an unmeasured warm-up. Saves bench/results/protocols-<stamp>.md with the raw files beside it.
#
# Usage: bash bench/protocols.sh     (env: MODEL=ocr-cls INPUT=tests/Engine.Tests/Fixtures/Ocr/line-001.png CLIENTS=16
#                                          DURATION=20 WARMUP=5 WORKERS=2 SKIP_BUILD=1
#                                          PROTOCOLS="json messagepack json messagepack": the runs, in this order;
#                                          alternated, so a warming-up system or a passing load falls on both)
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MODEL:-ocr-cls}
INPUT=${INPUT:-tests/Engine.Tests/Fixtures/Ocr/line-001.png}
CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
WORKERS=${WORKERS:-2}
PROTOCOLS=${PROTOCOLS:-"json messagepack json messagepack"}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=bench/results
RAW=$OUT/protocols-$STAMP
mkdir -p "$RAW"
REL=bin/Release/net10.0

log() { printf '[protocols %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

. scripts/lib.sh
if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building (Release): AppHost (and every service), Client"
  build_release "$RAW/build.log" AppHost/AppHost.csproj Client/Client.csproj
fi
PROXY=
cleanup() {
  if [[ -n "$PROXY" ]]; then kill -TERM "$PROXY" 2>/dev/null || true; wait "$PROXY" 2>/dev/null || true; fi
  apphost_stop
}
trap cleanup EXIT

apphost_start "$REL" "$RAW/apphost.log" 180 --gateway-port 0 --workers "$WORKERS"
wait_for 120 models_ready "$MODEL" || log "warning: $MODEL is not reported ready; measuring anyway"
# A fresh system is slow for its first thousand jobs (JIT, tiered compilation, pools): that falls on no measured run.
log "warm-up: $MODEL, $CLIENTS clients, ${DURATION}s (not measured)"
dotnet Client/$REL/Client.dll bench --gateway "$GATEWAY" --model "$MODEL" --clients "$CLIENTS" --duration "$DURATION" \
  --warmup 0 --input "$INPUT" >"$RAW/warm-up.txt" 2>&1 || true
n=0
for protocol in $PROTOCOLS; do
  n=$((n + 1)); run=$n-$protocol
  port=$(free_port)
  python3 bench/wire-bytes.py "$port" "$GATEWAY" "$RAW/wire-$run.json" &
  PROXY=$!
  wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))"
  log "run $run: $MODEL, $CLIENTS clients, ${WARMUP}s + ${DURATION}s through the counting proxy"
  python3 bench/cost.py snapshot "$RAW/apphost.log" >"$RAW/cost-$run-before.json"
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(str(r.ru_utime + r.ru_stime))' "$RAW/client-cpu-$run.txt" \
  dotnet Client/$REL/Client.dll bench --gateway "http://127.0.0.1:$port" --model "$MODEL" --protocol "$protocol" \
    --clients "$CLIENTS" --duration "$DURATION" --warmup "$WARMUP" --input "$INPUT" \
    --json "$RAW/bench-$run.json" >"$RAW/bench-$run.txt" 2>&1 || true
  python3 bench/cost.py snapshot "$RAW/apphost.log" >"$RAW/cost-$run-after.json"
  kill -TERM "$PROXY"; wait "$PROXY" || true; PROXY=
  python3 bench/cost.py diff "$RAW/cost-$run-before.json" "$RAW/cost-$run-after.json" "$MODEL" >"$RAW/cost-$run.txt"
  tail -n 6 "$RAW/bench-$run.txt" >&2
done

TABLE=$OUT/protocols-$STAMP.md
python3 - "$RAW" "$MODEL" "$INPUT" "$CLIENTS" "$PROTOCOLS" >"$TABLE" <<'PY'
import json, os, re, sys
raw, model, input_, clients, protocols = sys.argv[1:6]
def cost(protocol, pattern):
    text = open(os.path.join(raw, f"cost-{protocol}.txt")).read()
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else None
load = open("/proc/loadavg").read().split()[:3]
print(f"# Hub protocols, {model}, `{input_}` ({os.path.getsize(input_):,} bytes), {clients} clients closed loop\n")
print(f"Load average at the end: {' '.join(load)} ({os.cpu_count()} cores).\n")
print("| run | jobs | bytes up per job | bytes down per job | gateway CPU ms per job | gateway KiB allocated per job | client CPU ms per job | jobs/s | p50 ms |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
for p in (f"{i}-{p}" for i, p in enumerate(protocols.split(), 1)):
    wire = json.load(open(os.path.join(raw, f"wire-{p}.json")))
    jobs = cost(p, r"^jobs accepted: (\d+)") or 0
    report = json.load(open(os.path.join(raw, f"bench-{p}.json")))
    per = lambda b: f"{b / jobs:,.0f}" if jobs else "—"
    cpu, alloc = cost(p, r"^  gateway\S*\s+([\d.]+)"), cost(p, r"^  gateway\s+([\d.]+) KiB")
    client = float(open(os.path.join(raw, f"client-cpu-{p}.txt")).read()) * 1000 / jobs if jobs else 0
    print(f"| {p} | {jobs:.0f} | {per(wire['up'])} | {per(wire['down'])} | {cpu} | {alloc} | {client:.2f} | {report['throughput']} | {report['latency']['p50']} |")
PY
cat "$TABLE"
log "saved $TABLE"
