#!/usr/bin/env bash
# make demo: start the emulator with the sample seed, then plan, apply and plan
# again the sample roster against it. Builds nothing: pass the binary.
# Fails loudly when a step's exit code is not the expected one.
set -euo pipefail
bin=${1:-bin/invitesync}
out=demo
[[ -x $bin ]] || { echo "demo: $bin is not an executable (run 'make demo')" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"

"$bin" emulator --listen 127.0.0.1:0 --seed samples/emulator-seed.yaml >"$out/emulator.out" 2>"$out/emulator.log" &
emulator=$!
stop() {
  kill "$emulator" 2>/dev/null || true
  wait "$emulator" 2>/dev/null || true
}
trap stop EXIT

# The emulator's first stdout line is "listening on http://127.0.0.1:PORT".
url=""
for _ in $(seq 1 300); do
  line=$(head -n 1 "$out/emulator.out" 2>/dev/null || true)
  if [[ $line == "listening on "* ]]; then
    url=${line#listening on }
    break
  fi
  if ! kill -0 "$emulator" 2>/dev/null; then
    echo "demo: the emulator exited; its log:" >&2
    cat "$out/emulator.log" >&2
    exit 1
  fi
  sleep 0.1
done
[[ -n $url ]] || { echo "demo: the emulator did not say where it listens within 30 s" >&2; exit 1; }
echo "== emulator listening on $url"

# The emulator's default credentials; real ones come from the environment the same way.
export CONFLUENT_CLOUD_API_KEY=emulator-key
export CONFLUENT_CLOUD_API_SECRET=emulator-secret

# expect CODE STEP-NAME COMMAND...: run it and fail the demo on any other exit code.
expect() {
  local want=$1 name=$2 got=0
  shift 2
  echo
  echo "== $name: $*"
  "$@" || got=$?
  if [[ $got != "$want" ]]; then
    echo "demo: FAILED: $name exited $got, want $want" >&2
    exit 1
  fi
}

common=(--config samples/config.yaml --endpoint "$url" --ledger "$out/ledger.jsonl" --no-progress --log-format console)
expect 2 "plan (changes pending), saved for review" "$bin" plan "${common[@]}" --report "$out/plan" --out "$out/plan.json"
# Apply exactly the reviewed plan: it is refused (exit 4) if the upstream changed since.
expect 0 "apply the saved plan" "$bin" apply "${common[@]}" --plan "$out/plan.json" --report "$out/apply" --yes
expect 0 "plan again (nothing to change)" "$bin" plan "${common[@]}" --report "$out/replan"

echo
echo "== demo done. Reports:"
echo "   plan:        $out/plan/report.html (and .md .json .xlsx), saved plan $out/plan.json"
echo "   apply:       $out/apply/report.html (and .md .json .xlsx), audit log $out/apply/audit.jsonl"
echo "   plan again:  $out/replan/report.md"
echo "   ledger:      $out/ledger.jsonl"
