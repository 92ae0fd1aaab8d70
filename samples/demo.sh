#!/usr/bin/env bash
# make demo: for now, validate the sample rosters (the full run lands with reconcile).
set -euo pipefail
bin=${1:-bin/invitesync}
for f in samples/roster.csv samples/roster.xlsx samples/roster.yaml; do
  "$bin" validate --roster "$f"
done
