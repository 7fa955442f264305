#!/usr/bin/env bash
# Soak test (issue 8): the whole system through the AppHost at 70% of its measured capacity for a long time.
# Every SAMPLE seconds it records the resident memory (VmRSS) of every process the AppHost started (and of the
# AppHost itself) and the number of Redis keys; at the end it prints a table and a verdict:
#   memory flat   — no process's peak RSS in the second half of the run exceeds its first-half peak (after a minute of
#                   warm-up) by more than max(20%, 50 MB);
#   keys bounded  — Redis never held more than 1.5 × (rate × record TTL) + 1000 keys: records leave by their TTL
#                   (shortened for the soak, see TTL below), and the deadline index holds only unfinished jobs.
# Exits 1 when the verdict fails.
#
# Usage: bash scripts/soak.sh [--minutes 30] [--load 0.7] [--model ocr-cls] [--sample 60]
#   env: CONFIG=Debug|Release (build to run; default Release), SKIP_BUILD=1, WORKERS=2, GATEWAYS=1,
#        TTL=record TTL in minutes (default minutes/3, at least 1), INPUT=image file
# Results: artifacts/soak-<stamp>/ (samples.csv, table.md, bench JSON/HTML, apphost.log).
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=30 LOAD=0.7 MODEL=ocr-cls SAMPLE=60
while (( $# )); do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --load) LOAD=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --sample) SAMPLE=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
CONFIG=${CONFIG:-Release}
WORKERS=${WORKERS:-2}
GATEWAYS=${GATEWAYS:-1}
TTL=${TTL:-$(( MINUTES / 3 > 1 ? MINUTES / 3 : 1 ))}
INPUT=${INPUT:-tests/Engine.Tests/Fixtures/Ocr/line-001.png}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=artifacts/soak-$STAMP
mkdir -p "$OUT"
BIN=bin/$CONFIG/net10.0

log() { printf '[soak %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building ($CONFIG): AppHost (and every service), Client"
  for p in AppHost/AppHost.csproj Client/Client.csproj; do
    dotnet build "$p" -c "$CONFIG" --nologo -v quiet >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
  done
fi

. scripts/lib.sh
trap apphost_stop EXIT

# Records expire after TTL minutes instead of a day, so the key count must level off within the run.
export Jobs__RecordTtl="00:$(printf '%02d' "$TTL"):00"
# A run directory of its own: the default one (.run/apphost) keeps Redis's and RabbitMQ's data between runs, and
# records left by earlier runs (24 h TTL) would count against the key bound.
export AppHost__RunDirectory="$PWD/$OUT/run"
log "starting the AppHost: $WORKERS workers, $GATEWAYS gateway(s), record TTL $TTL min"
apphost_start "$BIN" "$OUT/apphost.log" 240 --gateway-port 0 --workers "$WORKERS" --gateways "$GATEWAYS"
REDIS_PORT=$(grep -m1 -oE 'ConnectionStrings__cache=[^ ]+' "$OUT/apphost.log" | sed -E 's/.*:([0-9]+)$/\1/')
wait_for 120 models_ready "$MODEL" || log "warning: $MODEL not reported ready; going on"
log "gateway $GATEWAY, redis port $REDIS_PORT"

bench() { dotnet Client/$BIN/Client.dll bench --gateway "$GATEWAY" --model "$MODEL" --input "$INPUT" "$@"; }

log "measuring capacity: closed loop, 32 clients, 5 s warm-up + 20 s"
bench --mode closed --clients 32 --warmup 5 --duration 20 --json "$OUT/capacity.json" >"$OUT/capacity.txt" 2>&1
CAPACITY=$(jq -r .throughput "$OUT/capacity.json")
RATE=$(python3 -c "print(round($CAPACITY * $LOAD, 1))")
log "capacity $CAPACITY jobs/s → soak at $RATE jobs/s for $MINUTES min"

# One sample: minute, then name=rss_kB for the AppHost and each of its children, then redis keys and the deadline index.
sample() {
  local t=$1 line="$1"
  line+=",apphost=$(awk '/^VmRSS/{print $2}' /proc/$APPHOST/status 2>/dev/null || echo 0)"
  for pid in $(ps -o pid= --ppid "$APPHOST"); do
    local name
    name=$(tr '\0' '\n' </proc/$pid/environ 2>/dev/null | sed -n 's/^OTEL_RESOURCE_ATTRIBUTES=service.instance.id=//p')
    if [[ -z "$name" ]]; then
      case "$(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null)" in
        *redis-server*) name=cache ;;
        *beam.smp*|*rabbitmq*) name=messaging ;;
        *) name=pid$pid ;;
      esac
    fi
    line+=",$name=$(awk '/^VmRSS/{print $2}' /proc/$pid/status 2>/dev/null || echo 0)"
  done
  line+=",keys=$(redis-cli -p "$REDIS_PORT" dbsize),deadlines=$(redis-cli -p "$REDIS_PORT" zcard jobs:deadlines)"
  echo "$line" >>"$OUT/samples.csv"
}

: >"$OUT/samples.csv"
bench --mode open --rate "$RATE" --clients 64 --warmup 0 --duration $(( MINUTES * 60 )) --timeout 120 \
  --json "$OUT/soak.json" --html "$OUT/soak.html" >"$OUT/soak.txt" 2>&1 &
BENCH=$!
START=$SECONDS
sample 0
n=1
while kill -0 "$BENCH" 2>/dev/null; do
  sleep 5
  if (( SECONDS - START >= n * SAMPLE )) && kill -0 "$BENCH" 2>/dev/null; then
    sample "$(python3 -c "print(round(($SECONDS - $START) / 60, 1))")"
    log "sample $n: $(tail -1 "$OUT/samples.csv" | tr ',' ' ')"
    n=$((n + 1))
  fi
done
wait "$BENCH" || log "bench exited with an error; see $OUT/soak.txt"
sample "$(python3 -c "print(round(($SECONDS - $START) / 60, 1))")"

python3 - "$OUT" "$MINUTES" "$RATE" "$CAPACITY" "$TTL" "$MODEL" "$CONFIG" <<'PY' | tee "$OUT/table.md"
import json, sys
out, minutes, rate, capacity, ttl, model, config = sys.argv[1:8]
rate, ttl = float(rate), int(ttl)
rows = []
for line in open(f"{out}/samples.csv"):
    parts = line.strip().split(",")
    rows.append((float(parts[0]), dict(p.split("=", 1) for p in parts[1:])))
procs = [k for k in rows[0][1] if k not in ("keys", "deadlines")]
for _, r in rows[1:]:
    procs += [k for k in r if k not in procs and k not in ("keys", "deadlines")]
report = json.load(open(f"{out}/soak.json"))
print(f"## Soak: {model}, {minutes} min at {rate:g} jobs/s (70% of the measured {float(capacity):.1f} jobs/s), {config} build\n")
print(f"bench: sent {report['sent']}, succeeded {report['succeeded']}, failed {report['failed']}, "
      f"throughput {report['throughput']:.1f} jobs/s, p50 {report['latency']['p50']:.1f} ms, p99 {report['latency']['p99']:.1f} ms; "
      f"errors {dict(report['errors']) or 'none'}\n")
print("| minute | " + " | ".join(f"{p} MB" for p in procs) + " | Redis keys | deadline index |")
print("|--:|" + "--:|" * len(procs) + "--:|--:|")
for t, r in rows:
    print(f"| {t:g} | " + " | ".join(f"{int(r[p]) / 1024:.0f}" if p in r else "—" for p in procs) + f" | {r['keys']} | {r['deadlines']} |")
verdict = True
# Memory: the peak of the second half of the run against the peak of the first half (both after the first minute's
# warm-up), by process name (a restarted process keeps its name). Peaks, not points: the broker's memory is a sawtooth
# (quorum queues hold their write-ahead log in memory until it rolls over).
steady = [r for t, r in rows if t >= 1] or [r for _, r in rows]
half = max(1, len(steady) // 2)
first, second = steady[:half], steady[half:] or steady[-1:]
grew = []
for p in procs:
    a = max((int(r[p]) for r in first if p in r), default=0)
    b = max((int(r[p]) for r in second if p in r), default=0)
    if a and b - a > max(0.2 * a, 50 * 1024):
        grew.append(f"{p} peak {a / 1024:.0f} → {b / 1024:.0f} MB")
bound = 1.5 * rate * ttl * 60 + 1000
peak_keys = max(int(r["keys"]) for _, r in rows)
print()
if grew:
    verdict = False
    print(f"- memory: NOT flat: {', '.join(grew)}")
else:
    print("- memory: flat (no process's peak in the second half of the run is above its first-half peak by more than max(20%, 50 MB))")
if peak_keys > bound:
    verdict = False
    print(f"- Redis keys: NOT bounded: peak {peak_keys} > 1.5 × rate × TTL + 1000 = {bound:.0f}")
else:
    print(f"- Redis keys: bounded by the TTL (peak {peak_keys} ≤ 1.5 × {rate:g}/s × {ttl} min + 1000 = {bound:.0f})")
if report["failed"]:
    verdict = False
    print(f"- jobs: {report['failed']} failed")
print(f"\nverdict: {'PASS' if verdict else 'FAIL'}")
sys.exit(0 if verdict else 1)
PY
