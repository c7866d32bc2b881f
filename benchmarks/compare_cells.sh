#!/usr/bin/env bash
# The notebook cells of reports at another commit and at this tree, side by side, alternating.
#   benchmarks/compare_cells.sh <commit> <db> <report>...      e.g.
#   benchmarks/compare_cells.sh 54c192e benchmarks/out/province.duckdb coverage monitoring cost
# For each report, ROUNDS (3) times: profile_notebook.py (NOPROF=1: the code cells exec'd in one
# plain process, imports included) at <commit> (a temporary git worktree) then here; prints
# "<report> <base|here> <wall s> <user s> <sys s>". cost runs with project_type=道路保洁; a report
# that needs another parameter (fiscal: street) is not supported.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
commit="$1"; db="$(realpath "$2")"; shift 2
py="$here/.venv/bin/python"
base="$(mktemp -d)/base"
git -C "$here" worktree add -q --detach "$base" "$commit"
trap 'git -C "$here" worktree remove --force "$base"' EXIT
for nb in "$@"; do
  params='{}'
  [ "$nb" = cost ] && params='{"project_type":"道路保洁"}'
  for _ in $(seq "${ROUNDS:-3}"); do
    for tree in "$base" "$here"; do
      label=$([ "$tree" = "$here" ] && echo here || echo base)
      TIMEFORMAT="%R %U %S"  # bash's own time: wall, user and system seconds of the command
      t=$( { time (cd "$tree" && NOPROF=1 PYTHONPATH="$tree" \
          "$py" "$tree/benchmarks/profile_notebook.py" "$nb" "$db" "$params" >/dev/null 2>&1); } 2>&1 )
      echo "$nb $label $t"
    done
  done
done
