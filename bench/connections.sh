#!/usr/bin/env bash
# Connection capacity (issue 7): one gateway holding many concurrent idle SignalR WebSocket connections.
# Starts the whole system through the AppHost (1 gateway, $WORKERS workers), opens $CONNECTIONS hub connections
# from `bench connections`, keeps them idle, samples the gateway's resident memory from /proc/{pid}/status
# (before, idle, while pushing), measures push latency (a few connections submit jobs; submit → pushed result)
# and, with EVERY=1, has every connection submit one job to prove each still gets its push.
# Saves bench/results/connections-<stamp>.{json,txt} and prints the summary.
#
# Usage: bash bench/connections.sh     (env: CONNECTIONS=10000 SENDERS=4 DURATION=20 SETTLE=10 WORKERS=2 MODEL=ocr-cls
#                                            INPUT=tests/Engine.Tests/Fixtures/Ocr/line-001.png EVERY=1 SKIP_BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-10000}
SENDERS=${SENDERS:-4}
DURATION=${DURATION:-20}
SETTLE=${SETTLE:-10}
WORKERS=${WORKERS:-2}
MODEL=${MODEL:-ocr-cls}
INPUT=${INPUT:-tests/Engine.Tests/Fixtures/Ocr/line-001.png}
EVERY=${EVERY:-1}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=bench/results
RUN=$(mktemp -d)
REL=bin/Release/net10.0

log() { printf '[connections %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Every socket is a file descriptor, in the client and in the gateway. The .NET runtime lifts each process's soft
# limit to the hard limit at start, and the AppHost's children inherit this shell's limits: the hard limit is what counts.
NEED=$((CONNECTIONS + 1024))
if (( $(ulimit -Hn) < NEED )); then
  log "the hard limit of open files is $(ulimit -Hn); $CONNECTIONS connections need about $NEED (raise it: ulimit -Hn as root, or LimitNOFILE=)"
  exit 2
fi
ulimit -n "$(ulimit -Hn)"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building (Release): AppHost (and every service), Client"
  for p in AppHost/AppHost.csproj Client/Client.csproj; do
    dotnet build "$p" -c Release --nologo -v quiet >"$RUN/build.log" 2>&1 || { cat "$RUN/build.log"; exit 1; }
  done
fi

. scripts/lib.sh
cleanup() {
  apphost_stop
  rm -rf "$RUN"
}
trap cleanup EXIT

log "starting the AppHost: 1 gateway, $WORKERS workers"
apphost_start "$REL" "$RUN/apphost.log" 180 --gateway-port 0 --gateways 1 --workers "$WORKERS"
# The AppHost's resource table: "  gateway-xyz   Project   Running  pid 1234   http://…". Aspire runs a project as
# `dotnet run …`: that pid is the wrapper, and the gateway holding the connections is its child.
PID=$(grep -m1 -E '^  gateway[^ :]*[[:space:]]+[A-Za-z]+[[:space:]]+[A-Za-z]+[[:space:]]+pid [0-9]+' "$RUN/apphost.log" | sed -E 's/.* pid ([0-9]+).*/\1/')
CHILD=$(pgrep -P "$PID" -x Gateway || true)
[[ -n "$CHILD" ]] && PID=$CHILD
[[ -r /proc/$PID/status ]] || { log "gateway pid not found in the AppHost's output"; exit 1; }
log "gateway at $GATEWAY, pid $PID, open-files limit $(awk '/Max open files/ {print $4}' /proc/$PID/limits)"
wait_for 120 models_ready "$MODEL" || log "warning: $MODEL not reported ready; measuring anyway"

ARGS=(bench connections --gateway "$GATEWAY" --gateway-pid "$PID" --connections "$CONNECTIONS" --senders "$SENDERS"
      --duration "$DURATION" --settle "$SETTLE" --model "$MODEL" --input "$INPUT" --json "$OUT/connections-$STAMP.json")
[[ "$EVERY" == 1 ]] && ARGS+=(--every-connection-submits)
RC=0
dotnet Client/$REL/Client.dll "${ARGS[@]}" | tee "$OUT/connections-$STAMP.txt" || RC=$?
{
  echo
  echo "Command: bash bench/connections.sh (CONNECTIONS=$CONNECTIONS SENDERS=$SENDERS DURATION=$DURATION SETTLE=$SETTLE WORKERS=$WORKERS MODEL=$MODEL EVERY=$EVERY)"
  echo "Date: $(date -u '+%Y-%m-%d %H:%M') UTC; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$OUT/connections-$STAMP.txt"
log "saved $OUT/connections-$STAMP.txt and .json"
exit $RC
