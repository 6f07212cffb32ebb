#!/usr/bin/env bash
# ACTIONS_RUNNER_HOOK_JOB_COMPLETED: runs after every job on a gitml runner.
# Empties the job's workspace and keeps the machine's shared DVC and pip caches.
set -euo pipefail
exec "${GITML_BIN:-gitml}" runner hook completed
