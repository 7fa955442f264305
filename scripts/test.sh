#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh) and runs every test suite; ends with "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p artifacts
rm -rf artifacts/logs
log="artifacts/test-output.txt"

# Build once (in parallel), then the test assemblies. The two that start a whole system (RabbitMQ, Redis,
# services) run one after another: on 2 cores they should not compete. Every other test project of the
# solution starts no system; those run one after another beside them, in the background and niced, so they
# take only the time the system suites leave idle (a system's start leaves the cores idle much of the time:
# its servers booting, health checks, hosts waiting on each other).
# Soak and benchmark-style tests run from their own scripts, not in the suite.
system_suites=(tests/AppHost.Tests/AppHost.Tests.csproj tests/Integration.Tests/Integration.Tests.csproj)
test_args=(-c Debug --no-build --filter "Category!=Soak" --blame-hang-timeout 8m --results-directory artifacts/TestResults)
unit_log="artifacts/test-output-unit.txt"
set +e
dotnet build Aspire.Inference.sln -c Debug 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ $status -eq 0 ]]; then
  mapfile -t unit_suites < <(dotnet sln Aspire.Inference.sln list | grep '^tests/.*\.csproj$' | grep -vxF -f <(printf '%s\n' "${system_suites[@]}"))
  if [[ ${#unit_suites[@]} -eq 0 ]]; then
    echo "no test projects besides the system suites found in Aspire.Inference.sln" | tee -a "$log"
    status=1
  fi
  (
    unit_status=0
    for project in "${unit_suites[@]}"; do
      nice -n 10 dotnet test "$project" "${test_args[@]}" || unit_status=1
    done
    exit "$unit_status"
  ) >"$unit_log" 2>&1 &
  unit_pid=$!
  for project in "${system_suites[@]}"; do
    dotnet test "$project" "${test_args[@]}" 2>&1 | tee -a "$log"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
  done
  wait "$unit_pid" || status=1
  echo "--- test projects that start no system (${unit_suites[*]}), run beside the system suites ---" | tee -a "$log"
  tee -a "$log" <"$unit_log"
fi
set -e

passed=0; failed=0
while read -r f p; do
  passed=$((passed + p)); failed=$((failed + f))
done < <(sed -nE 's/.*Failed:[[:space:]]+([0-9]+), Passed:[[:space:]]+([0-9]+),.*/\1 \2/p' "$log")

if [[ $status -ne 0 && -d artifacts/logs ]]; then
  # The services' own account of a failure: warnings/errors from the consoles the test fixtures kept
  # (health checks reporting Unhealthy while a test stops a dependency are expected, so left out).
  echo "--- service log lines at warning or above (artifacts/logs; last 25 per replica) ---"
  for f in artifacts/logs/*/*.log; do
    lines=$(grep -E 'warn:|fail:|crit:|Exception|Unhandled' "$f" | grep -v 'HealthCheckService' | tail -n 25 || true)
    [[ -n "$lines" ]] && printf '== %s\n%s\n' "$f" "$lines"
  done
fi
if [[ $status -ne 0 ]]; then
  # Last, so that the end of the output (what a CI summary shows) names the failing tests and why.
  echo "--- failed tests ---"
  awk '/^[[:space:]]+Failed [A-Za-z_].* \[[0-9< ]/ { n = 14 } n > 0 { print; n-- }' "$log" | cut -c1-400
fi
if [[ $status -ne 0 && $failed -eq 0 ]]; then
  echo "dotnet test exited with $status (build error or crashed test host; see above)"
  failed=1
fi
echo "$passed passed, $failed failed"
exit "$status"
