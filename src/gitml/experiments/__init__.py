"""Experiments from the issue tracker: `/experiment key=value ...` comments and the experiment issue form.

grammar  the command and the override parser (values are YAML 1.2 scalars; a comma list is a grid axis)
grid     grid expansion, with a cap
plan     validate every variant against the params schema before anything runs; the job matrix
run      `dvc exp run --name issue-N-K -S ...` then `dvc exp push origin NAME`
collect  each experiment's metrics against the base, compared with the PR report's code
results  the sticky results comment on the issue
promote  `dvc exp branch`, push, and a pull request linked to the issue
issue    what a job reads from the event: who asked, what, and the labels that follow the state
"""
