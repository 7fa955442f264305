#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh) and runs every test suite; ends with "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p artifacts
rm -rf artifacts/logs artifacts/TestResults
log="artifacts/test-output.txt"

# Build once (in parallel), then run the test assemblies in two streams:
# - the two that start whole systems (RabbitMQ, Redis, PostgreSQL, services), nearly one after the other: on 2 cores
#   they should not compete, and Integration.Tests' timing-sensitive scenarios (overload, rates, restarts) are measured
#   alone. Integration.Tests starts when AppHost.Tests begins its last graph test (the Azure run: a light load, a kill -9,
#   DCP's cleanup), which writes the file named in SUITE_STAGE_FILE; its graph starts overlap that last minute;
# - beside AppHost.Tests, the unit-test assemblies, while AppHost.Tests starts its shared graph and runs its tests
#   (its three overlapped AppHost starts come last; one of them is the graph on the Azure bucket, once ModelSync.Tests'
#   own run 45 s after everything else). Their output, and AppHost.Tests', is shown after Integration.Tests'.
# Soak and benchmark-style tests run from their own scripts, not in the suite.
# Release, as the services are deployed: the suite's systems then run our code JIT-optimized (a Debug build's services
# spend more CPU on the same jobs, and on 2 cores the suite's time is mostly CPU).
configuration=Release
set +e
# With the compiler server (VBCSCompiler), whatever the environment says (UseSharedCompilation=false on these machines):
# one warm Roslyn for the ~20 projects instead of a csc process each, 51 s instead of 90 s here. It is shut down after.
dotnet build Aspire.Inference.sln -c "$configuration" -p:UseSharedCompilation=true 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
dotnet build-server shutdown > /dev/null 2>&1 || true
if [[ $status -eq 0 ]]; then
  run_tests() { # project, results folder
    dotnet test "tests/$1" -c "$configuration" --no-build --filter "Category!=Soak" --blame-hang-timeout 8m \
      --logger trx --results-directory "artifacts/TestResults/$2"
  }
  side_log="artifacts/test-output-side.txt"
  apphost_log="artifacts/test-output-apphost.txt"
  stage_file="$root/artifacts/apphost-tests-last-stage"
  rm -f "$stage_file"
  side_projects=$(cd tests && ls -d *.Tests | grep -vx -e AppHost.Tests -e Integration.Tests | tr '\n' ' ')
  (
    side=0
    for project in $side_projects; do
      run_tests "$project" "$project" || side=1
    done
    exit "$side"
  ) > "$side_log" 2>&1 &
  side_pid=$!
  SUITE_STAGE_FILE="$stage_file" run_tests AppHost.Tests AppHost.Tests > "$apphost_log" 2>&1 &
  apphost_pid=$!
  echo "AppHost.Tests runs, and ${side_projects}beside it; Integration.Tests starts when AppHost.Tests reaches its last graph test."
  # Integration.Tests' graph starts overlap AppHost.Tests' last minute (its Azure run under light load, then kill -9
  # and DCP's cleanup), or begin when AppHost.Tests ends, whichever comes first.
  while [[ ! -e $stage_file ]] && kill -0 "$apphost_pid" 2> /dev/null; do sleep 1; done
  echo "Integration.Tests starts ($( [[ -e $stage_file ]] && echo "AppHost.Tests reached its last graph test" || echo "AppHost.Tests ended"))."
  run_tests Integration.Tests Integration.Tests 2>&1 | tee -a "$log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
  wait "$apphost_pid" || status=1
  wait "$side_pid" || status=1
  tee -a "$log" < "$apphost_log"
  tee -a "$log" < "$side_log"
  # Where the suite's time goes (issue 11 keeps it under 15 minutes): the slowest tests, from the TRX files.
  echo "--- slowest tests ---"
  find artifacts/TestResults -name '*.trx' -exec cat {} + 2>/dev/null | grep -o '<UnitTestResult [^>]*>' \
    | sed -nE 's/.*testName="([^"]*)".*duration="([0-9:.]+)".*/\2 \1/p' | sort -r | head -n 12 | cut -c1-160 || true
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
