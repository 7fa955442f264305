#!/usr/bin/env bash
# Side-by-side benchmark (issue 7): one run, one machine, the same models and input, three designs:
#   (a) ceiling  — Engine in-process, batches back to back at the fastest batch size (bench/Ceiling sweeps them),
#                  one runner per worker;
#   (b) system   — the whole system through the AppHost (gateway + RabbitMQ + workers + Redis + push),
#                  `bench` closed loop over SignalR at $CLIENTS clients;
#   (c) sync     — the "before" design: the model inside the HTTP request, one at a time (bench/SyncBaseline),
#                  `bench --transport rest` at $CLIENTS clients.
# And for $OPEN_MODELS, the latency target: (b) in open loop at half of its measured saturation rate, against the
# single-inference time (the Engine running one job, batch 1, one runner, decode included) measured in phase a.
# Prints a table with throughput, p50/p99 and the ratios (b)/(a), (b)/(c); saves it as
# bench/results/side-by-side-<date>.md (raw JSON and HTML reports beside it).
#
# Usage: bash bench/side-by-side.sh            (env: DURATION=20 WARMUP=5 CLIENTS=64 WORKERS=2 MODELS="ocr-cls ocr-rec"
#                                                    INPUT=tests/Engine.Tests/Fixtures/Ocr/line-001.png SKIP_BUILD=1
#                                                    PHASES="a b c": run only some of the designs;
#                                                    OPEN_MODELS="ocr-cls" OPEN_CLIENTS=16: the open-loop latency run;
#                                                    CLIENT=path/to/Client.dll: another tree's load generator, to tell a
#                                                    change of the system from a change of the client sharing its cores;
#                                                    BENCH_ARGS="--protocol json": extra options for every bench run;
#                                                    TRANSPORTS="signalr signalr:messagepack jobs rest oip": (b) over
#                                                    each (bench --transport[:--protocol]); the first is the table's (b);
#                                                    MODELS="null ocr-cls": "null" is the null model (bench/NullModel), a
#                                                    real ONNX model of near-zero cost: what it measures is the system's own)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
CLIENTS=${CLIENTS:-64}
WORKERS=${WORKERS:-2}
MODELS=${MODELS:-"ocr-cls ocr-rec"}
INPUT=${INPUT:-tests/Engine.Tests/Fixtures/Ocr/line-001.png}
PHASES=${PHASES:-"a b c"}
OPEN_MODELS=${OPEN_MODELS:-ocr-cls}
OPEN_CLIENTS=${OPEN_CLIENTS:-16}
TRANSPORTS=${TRANSPORTS:-signalr}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=bench/results
RAW=$OUT/side-by-side-$STAMP
mkdir -p "$RAW"
REL=bin/Release/net10.0
CLIENT=${CLIENT:-Client/$REL/Client.dll}
BENCH_ARGS=${BENCH_ARGS:-}

log() { printf '[side-by-side %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building (Release): AppHost (and every service), Client, Ceiling, SyncBaseline"
  for p in AppHost/AppHost.csproj Client/Client.csproj bench/Ceiling/Ceiling.csproj bench/SyncBaseline/SyncBaseline.csproj bench/NullModel/NullModel.csproj; do
    dotnet build "$p" -c Release --nologo -v quiet >"$RAW/build.log" 2>&1 || { cat "$RAW/build.log"; exit 1; }
  done
fi

bench() { # bench URL MODEL TRANSPORT NAME [extra bench options, default: closed loop at $CLIENTS clients]
  local url=$1 model=$2 transport=$3 name=$4; shift 4
  (( $# > 0 )) || set -- --mode closed --clients "$CLIENTS"
  # shellcheck disable=SC2086 # BENCH_ARGS: one word per option
  dotnet "$CLIENT" bench --gateway "$url" --model "$model" --transport "$transport" "$@" $BENCH_ARGS \
    --duration "$DURATION" --warmup "$WARMUP" --input "$INPUT" \
    --json "$RAW/$name.json" --html "$RAW/$name.html" >"$RAW/$name.txt" 2>&1 || true
  tail -n 8 "$RAW/$name.txt" >&2
}

. scripts/lib.sh

# The bucket every design serves: the repository's models, plus the null model when asked for (written by
# bench/NullModel and published with the CLI, so it has its manifest's sha256 list like any published version).
BUCKET=models
if [[ " $MODELS $OPEN_MODELS " == *" null "* ]]; then
  BUCKET=$(mktemp -d -t bench-bucket-XXXXXX) # outside bench/results: the results stay text
  for m in models/*/; do ln -s "$PWD/$m" "$BUCKET/$(basename "$m")"; done
  dotnet bench/NullModel/$REL/NullModel.dll "$BUCKET.null-model" >&2
  dotnet "$CLIENT" models publish "$BUCKET.null-model" --model null --version 1 --bucket "$BUCKET" >&2
fi
SYNC_PID=
cleanup() {
  apphost_stop
  if [[ -n "$SYNC_PID" ]]; then kill -TERM "$SYNC_PID" 2>/dev/null || true; wait "$SYNC_PID" 2>/dev/null || true; fi
  if [[ "$BUCKET" != models ]]; then rm -rf "$BUCKET" "$BUCKET.null-model"; fi
}
trap cleanup EXIT

phase() { [[ " $PHASES " == *" $1 "* ]]; }

# ---- (a) ceiling ----
phase a && for m in $MODELS; do
  log "(a) ceiling: $m, $WORKERS runners, ${WARMUP}s + ${DURATION}s"
  dotnet bench/Ceiling/$REL/Ceiling.dll --model "$m" --models "$BUCKET" --input "$INPUT" \
    --duration "$DURATION" --warmup "$WARMUP" --runners "$WORKERS" | tee "$RAW/ceiling-$m.txt" >&2
done
phase a && for m in $OPEN_MODELS; do
  log "(a) single inference: $m, batch 1, 1 runner, 3s + 10s"
  dotnet bench/Ceiling/$REL/Ceiling.dll --model "$m" --models "$BUCKET" --input "$INPUT" \
    --duration 10 --warmup 3 --runners 1 --batch 1 | tee "$RAW/single-$m.txt" >&2
done

# ---- (b) the whole system ----
if phase b; then
log "(b) system: starting the AppHost with $WORKERS workers"
apphost_start "$REL" "$RAW/apphost.log" 180 --gateway-port 0 --workers "$WORKERS" --models "$(realpath "$BUCKET")"
log "gateway at $GATEWAY; waiting for workers to serve $MODELS"
# shellcheck disable=SC2086 # one argument per model
wait_for 120 models_ready $MODELS || log "warning: not every model reported ready; benchmarking anyway"
for m in $MODELS; do
  # The first transport is (b) in the table; the others (TRANSPORTS="signalr signalr:messagepack jobs rest oip") each get
  # a row of their own below it, with their cost per job.
  # Unmeasured first: right after the start the services are still compiling their hot paths and ModelSync is
  # validating the models, which a short model's cost per job would carry (the null model's: 2.5 ms instead of 1.5).
  log "(b) system: $m, settling for $((2 * WARMUP)) s (not measured)"
  dotnet "$CLIENT" bench --gateway "$GATEWAY" --model "$m" --mode closed --clients "$CLIENTS" --duration "$((2 * WARMUP))" \
    --warmup 0 --input "$INPUT" >"$RAW/settle-$m.txt" 2>&1 || true
  first=1 i=0
  for t in $TRANSPORTS; do
    i=$((i + 1))
    name=system-$m; [[ $first == 1 ]] || name=system-$m-$i-${t//:/-}
    transport=${t%%:*}; extra=(); [[ $t == *:* ]] && extra=(--protocol "${t#*:}")
    log "(b) system: $m, $t, $CLIENTS clients"
    python3 bench/cost.py snapshot "$RAW/apphost.log" >"$RAW/cost-$name-before.json" || true
    bench "$GATEWAY" "$m" "$transport" "$name" --mode closed --clients "$CLIENTS" "${extra[@]}"
    # Cost per job from counters (CPU per process, bytes allocated, Redis commands): meaningful even on a busy machine.
    python3 bench/cost.py snapshot "$RAW/apphost.log" >"$RAW/cost-$name-after.json" || true
    python3 bench/cost.py diff "$RAW/cost-$name-before.json" "$RAW/cost-$name-after.json" "$m" | tee "$RAW/cost-${name#system-}.txt" >&2 || true
    first=0
  done
  if [[ " $OPEN_MODELS " == *" $m "* ]]; then
    # Half of the saturation rate just measured: queueing is not hidden, and the system is far from its limit.
    rate=$(jq -r '.throughput / 2 | . * 10 | floor / 10' "$RAW/system-$m.json" 2>/dev/null || echo "")
    if [[ -n "$rate" && "$rate" != "0" ]]; then
      log "(b) open loop: $m, signalr, $rate jobs/s (half of saturation) over $OPEN_CLIENTS connections"
      bench "$GATEWAY" "$m" signalr "open-$m" --mode open --rate "$rate" --clients "$OPEN_CLIENTS"
    fi
  fi
done
log "(b) stopping the AppHost (SIGTERM: clean shutdown, like Ctrl+C)"
apphost_stop
fi

# ---- (c) synchronous endpoint ----
if phase c; then
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SYNC=http://127.0.0.1:$PORT
log "(c) sync: starting SyncBaseline on $SYNC"
dotnet bench/SyncBaseline/$REL/SyncBaseline.dll --urls "$SYNC" --Models "$BUCKET" >"$RAW/sync.log" 2>&1 &
SYNC_PID=$!
wait_for 60 curl -sf "$SYNC/health" || { log "SyncBaseline did not start; see $RAW/sync.log"; exit 1; }
for m in $MODELS; do
  log "(c) sync: $m, rest, $CLIENTS clients"
  bench "$SYNC" "$m" rest "sync-$m"
done
fi

# ---- table ----
TABLE=$OUT/side-by-side-$STAMP.md
TRANSPORTS="$TRANSPORTS" python3 - "$RAW" "$CLIENTS" "$WORKERS" "$DURATION" "$WARMUP" "$INPUT" "$MODELS" "$CLIENT $BENCH_ARGS" >"$TABLE" <<'PY'
import json, os, re, sys, datetime, subprocess
raw, clients, workers, duration, warmup, input_, models, load_generator = sys.argv[1:9]
def ceiling_line(m):
    try:
        return re.search(r"^ceiling: .*$", open(os.path.join(raw, f"ceiling-{m}.txt")).read(), re.M).group(0)
    except Exception:
        return ""
def ceiling(m):
    found = re.search(r"jobs_per_s=([\d.]+)", ceiling_line(m))
    return float(found.group(1)) if found else None
def ceiling_batch(m):
    found = re.search(r" batch=(\d+) max_batch=(\d+)", ceiling_line(m))
    return f"batch {found.group(1)} of ≤ {found.group(2)}" if found else "—"
def report(name):
    try:
        return json.load(open(os.path.join(raw, f"{name}.json")))
    except Exception:
        return None
def f(x, d=1):
    return "—" if x is None else f"{x:,.{d}f}"
def ratio(a, b):
    return "—" if not a or not b else f"{a / b:.2f}"
cores = os.cpu_count()
print(f"# Side-by-side benchmark, {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n")
print(f"Command: `bash bench/side-by-side.sh` (DURATION={duration} WARMUP={warmup} CLIENTS={clients} WORKERS={workers}); "
      f"input `{input_}` for every design; load generator `{load_generator.strip()}`.  ")
load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
print(f"Machine: {cores} cores; the load generator, RabbitMQ, Redis, the gateway and the workers all share them (load average 1/5/15 min at the end: {load}).  ")
print("(a) Engine in-process, one runner per worker, at the batch size that was fastest in a sweep of 1, 2, 4 … the manifest's maximum; (b) AppHost end to end, `bench` closed loop over SignalR; "
      "(c) model inside the HTTP request, one at a time, `bench --transport rest`. Latency in ms, from send to result.\n")
print("| model | (a) ceiling jobs/s | (a) batch | (b) system jobs/s | (b) p50 | (b) p99 | (b) errors | (c) sync jobs/s | (c) p50 | (c) p99 | (c) errors | (b)/(a) | (b)/(c) |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for m in models.split():
    a, b, c = ceiling(m), report(f"system-{m}"), report(f"sync-{m}")
    bt = b and b["throughput"]; ct = c and c["throughput"]
    def errs(r):
        return "—" if r is None else (str(r["failed"]) + ("" if not r["errors"] else " (" + ", ".join(f"{k} {v}" for k, v in r["errors"].items()) + ")"))
    print(f"| {m} | {f(a)} | {ceiling_batch(m)} | {f(bt)} | {f(b and b['latency']['p50'], 2)} | {f(b and b['latency']['p99'], 2)} | {errs(b)} "
          f"| {f(ct)} | {f(c and c['latency']['p50'], 2)} | {f(c and c['latency']['p99'], 2)} | {errs(c)} | {ratio(bt, a)} | {ratio(bt, ct)} |")
open_rows = [(m, report(f"open-{m}")) for m in models.split()]
open_rows = [(m, r) for m, r in open_rows if r]
if open_rows:
    print("\nOpen loop at half of (b)'s saturation rate (latency from each job's scheduled send time), against the single-inference "
          "time (Engine in-process, batch 1, one runner, decode included). Targets: p50 ≤ single + 2 ms, p99 ≤ single + 10 ms.\n")
    print("| model | offered jobs/s | achieved jobs/s | single inference p50 | (b) p50 | (b) p90 | (b) p99 | (b) p99.9 | errors | p50 − single | p99 − single |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for m, r in open_rows:
        try:
            single = float(re.search(r"run_ms_p50=([\d.]+)", open(os.path.join(raw, f"single-{m}.txt")).read()).group(1))
        except Exception:
            single = None
        lat = r["latency"]
        d = lambda x: "—" if single is None else f"{x - single:+.2f}"
        print(f"| {m} | {f(r.get('rate'))} | {f(r['throughput'])} | {f(single, 2)} | {f(lat['p50'], 2)} | {f(lat['p90'], 2)} | {f(lat['p99'], 2)} "
              f"| {f(lat['p999'], 2)} | {r['failed']} | {d(lat['p50'])} | {d(lat['p99'])} |")
    stages = ["submit", "queue", "queue: broker", "queue: worker", "run", "push", "send lag"]
    staged = [(m, r) for m, r in open_rows if r.get("stages")]
    if staged:
        print("\nWhere the open-loop time goes, p50 / p99 ms per stage (load generator's clock and the job record's server "
              "timestamps, same machine): submit = send → gateway accepted; queue = accepted → worker started the batch "
              "(broker, delivery, batch gathering), split into its broker part (accepted → delivered to the worker: the gateway's "
              "Redis write, the confirmed publish, the delivery) and the worker's (delivered → started: batch gathering, reading "
              "the records); run = the batch's model run incl. decode/pre/post; push = finished → "
              "result received (store, notice, push); send lag = the generator's lateness against its schedule.\n")
        print("| model | " + " | ".join(stages) + " | mean batch |")
        print("|---|" + "--:|" * (len(stages) + 1))
        for m, r in staged:
            cell = lambda s: "—" if s not in r["stages"] else f"{f(r['stages'][s]['p50'], 2)} / {f(r['stages'][s]['p99'], 2)}"
            print(f"| {m} | " + " | ".join(cell(s) for s in stages) + f" | {f(r.get('meanBatchSize'), 2)} |")
transports = os.environ.get("TRANSPORTS", "signalr").split()
if len(transports) > 1:
    print("\n(b) over each transport, closed loop at the same clients; CPU per job summed over every process of the system, from `bench/cost.py`:\n")
    print("| model | transport | jobs/s | p50 | p99 | errors | CPU ms/job (all) | of which gateway | workers |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for m in models.split():
        for i, t in enumerate(transports):
            name = f"system-{m}" if i == 0 else f"system-{m}-{i + 1}-{t.replace(':', '-')}"
            r = report(name)
            try:
                text = open(os.path.join(raw, f"cost-{name[len('system-'):]}.txt")).read()
            except OSError:
                text = ""
            def cpu(label):  # summed over the replicas (gateway-…, worker-…); "all" is the total line
                found = re.findall(rf"^  {label}(?:-\S+)?\s+([\d.]+)$", text, re.M)
                return sum(float(x) for x in found) if found else None
            print(f"| {m} | {t} | {f(r and r['throughput'])} | {f(r and r['latency']['p50'], 2)} | {f(r and r['latency']['p99'], 2)} "
                  f"| {'—' if r is None else r['failed']} | {f(cpu('all'), 3)} | {f(cpu('gateway'), 3)} | {f(cpu('worker'), 3)} |")
for m in models.split():
    try:
        print(f"\nCost per job of (b) on `{m}` (counters over the whole run, warm-up included; `bench/cost.py`):\n\n```\n" + open(os.path.join(raw, f"cost-{m}.txt")).read().rstrip() + "\n```")
    except OSError:
        pass
print(f"\nRaw reports (JSON, HTML, logs): `{raw}/`")
PY
cat "$TABLE"
log "saved $TABLE"
