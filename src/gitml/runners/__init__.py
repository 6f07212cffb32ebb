"""Self-hosted GPU runner kit: discover GPUs, plan one runner per GPU, install
ephemeral just-in-time GitHub Actions runners as systemd units, guard jobs with
hooks, and share one DVC cache per machine.

Modules: gpus (discovery), plan (runners and labels), github_api (runner REST
calls), download (the actions runner release), units (systemd and env files),
install (install / status / remove), hooks (job started / completed), cache
(shared DVC and pip caches, garbage collection), cli (`gitml runner ...`).
"""
