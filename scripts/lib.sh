# Shell helpers shared by the benchmark and soak scripts: `. scripts/lib.sh` from the repository root.

# wait_for SECONDS COMMAND…: runs COMMAND (quietly) every half second until it succeeds; fails after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.5
  done
}

# build_release LOG PROJECT…: builds each PROJECT in Release, quietly into LOG; on a failure prints LOG and exits.
build_release() {
  local log_file=$1 project; shift
  for project in "$@"; do
    dotnet build "$project" -c Release --nologo -v quiet >"$log_file" 2>&1 || { cat "$log_file"; exit 1; }
  done
}

# apphost_start BIN LOG SECONDS [AppHost options…]: starts the built AppHost (AppHost/BIN/AppHost.dll) in the background,
# its output in LOG; once it has printed its resource table (all replicas up) sets APPHOST (its pid) and GATEWAY (the first gateway's URL).
# Exits the script, with the log's tail, if that takes longer than SECONDS.
APPHOST=
GATEWAY=
# The built AppHost runs without the launch profile, so it gets what the profile sets, on free ports (Aspire's
# dashboard, its OTLP and resource-service endpoints): a benchmark may share the machine with a dev run.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The development account's API key for this run: the AppHost makes it exist, and every `Client` command the scripts run
# (bench, infer) and models_ready send it (the CLI reads ASPIRE_INFERENCE_API_KEY).
ASPIRE_INFERENCE_API_KEY="${ASPIRE_INFERENCE_API_KEY:-aik_$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')}"
export ASPIRE_INFERENCE_API_KEY
apphost_start() {
  local bin=$1 log_file=$2 timeout=$3; shift 3
  AppHost__ApiKey="$ASPIRE_INFERENCE_API_KEY" \
  ASPNETCORE_URLS="http://localhost:$(free_port)" \
  ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://localhost:$(free_port)" \
  ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL="http://localhost:$(free_port)" \
  ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://localhost:$(free_port)" \
  ASPIRE_ALLOW_UNSECURED_TRANSPORT=true DOTNET_ENVIRONMENT=Development \
    dotnet "AppHost/$bin/AppHost.dll" "$@" >"$log_file" 2>&1 &
  APPHOST=$!
  _apphost_gateway() { # no pipeline: its status must be grep's, with or without pipefail
    local line
    line=$(grep -m1 -oE '^  gateway: http://[^ ]+' "$log_file") || return 1
    echo "${line#  gateway: }"
  }
  if ! wait_for "$timeout" _apphost_gateway; then
    echo "the AppHost did not start within ${timeout}s; see $log_file" >&2
    tail -20 "$log_file" >&2
    exit 1
  fi
  GATEWAY=$(_apphost_gateway)
}

# apphost_stop: SIGTERM (a clean shutdown, like Ctrl+C), then waits for it. Safe to call twice (e.g. again from a trap).
apphost_stop() {
  if [[ -n "$APPHOST" ]]; then
    kill -TERM "$APPHOST" 2>/dev/null || true
    wait "$APPHOST" 2>/dev/null || true
    APPHOST=
  fi
}

# models_ready MODEL…: whether the gateway lists every MODEL as ready.
models_ready() {
  local body m
  body=$(curl -sf -H "Authorization: Bearer $ASPIRE_INFERENCE_API_KEY" "${GATEWAY%/}/v1/models") || return 1
  for m in "$@"; do
    [[ $(jq -r --arg m "$m" '.[] | select(.name == $m) | .ready' <<<"$body") == true ]] || return 1
  done
}
