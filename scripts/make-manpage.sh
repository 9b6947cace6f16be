#!/usr/bin/env bash
# Regenerates docs/realign.1 from `realign --help`, `realign apply --help`, `realign follow
# --help`, `realign bids --help` and the first line of `realign --version`, with help2man (apt-get install help2man). Run it after
# changing an option or the help text, and commit the page; tests/cli/manpage.sh fails
# while the committed page misses an option that --help prints.
#
#   scripts/make-manpage.sh [path/to/realign]      (default: build/realign)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/realign}
[[ -x $bin ]] || { echo "make-manpage: $bin is not an executable (build first)" >&2; exit 1; }
command -v help2man >/dev/null || { echo "make-manpage: help2man not found (apt-get install help2man)" >&2; exit 1; }

include=$(mktemp)
trap 'rm -f "$include"' EXIT

# help2man reads only the main --help; each subcommand's options go in a section of
# their own, verbatim (roff-escaped) up to the shared footer.
{
  for sub in apply follow bids; do
    echo "[${sub^^} SUBCOMMAND]"
    echo ".nf"
    "$bin" $sub --help | sed -e "s|^Usage: .*realign $sub|Usage: realign $sub|" \
      | awk '/^Examples:/ { stop = 1 } !stop { print }' \
      | sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    echo ".fi"
  done
  echo "[SEE ALSO]"
  echo "In the realign source tree: docs/usage.md (every command and option, and what it does),"
  echo "docs/outputs.md (every output file and column), docs/bids.md (realign bids),"
  echo "docs/realtime.md (realign follow), docs/failures.md (failures and exit statuses) and"
  echo "scripts/slurm/README.md (running under Slurm); README.md lists every page."
} >"$include"

# The version comes from the first line of --version only: the second line describes the
# build (compiler, flags), which differs between machines and does not belong in the page.
help2man --no-info --section 1 \
  --name "rigid-body motion correction of 4D fMRI (SPM12-style, MPI + OpenMP)" \
  --version-string "$("$bin" --version | head -n1)" \
  --include "$include" \
  --output "$root/docs/realign.1" "$bin"
echo "wrote $root/docs/realign.1"
