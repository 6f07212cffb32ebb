#!/usr/bin/env bash
# ACTIONS_RUNNER_HOOK_JOB_STARTED: runs before every job on a gitml runner.
# Refuses a fork's pull request without the maintainer's approval label and a
# GPU that is unhealthy (ECC errors, held memory, heat); a refusal fails the job.
set -euo pipefail
exec "${GITML_BIN:-gitml}" runner hook started
