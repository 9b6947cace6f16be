#!/usr/bin/env bash
# Regenerates the option reference of docs/usage.md, the block between the lines
#   <!-- BEGIN GENERATED: realign --help -->   and   <!-- END GENERATED -->
# from `realign --help`, `realign apply --help`, `realign follow --help` and
# `realign bids --help`, verbatim. Run it after changing an option or the help text, and
# commit the page; tests/cli/docs.sh fails while the committed block differs from what
# this script writes. Nothing outside the markers is touched.
#
#   scripts/make-docs.sh [path/to/realign [page]]   (defaults: build/realign, docs/usage.md)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/realign}
page=${2:-$root/docs/usage.md}
[[ -x $bin ]] || { echo "make-docs: $bin is not an executable (build first)" >&2; exit 1; }
[[ -f $page ]] || { echo "make-docs: $page not found" >&2; exit 1; }

begin='<!-- BEGIN GENERATED: realign --help -->'
end='<!-- END GENERATED -->'
for marker in "$begin" "$end"; do
  n=$(grep -cxF -- "$marker" "$page" || true)
  [[ $n == 1 ]] || { echo "make-docs: $page must hold the line '$marker' once (found $n)" >&2; exit 1; }
done

block=$(mktemp)
out=$(mktemp "$(dirname "$page")/.make-docs.XXXXXX")
trap 'rm -f "$block" "$out"' EXIT

# One fenced block per command. The subcommands' "Exit status:" footer is the main one's
# word for word, so it is shown once, under `realign --help`. Trailing blanks are dropped
# (CLI11 pads some lines); the usage line names `realign`, not the path it was run from.
{
  echo "$begin"
  echo "<!-- Written by scripts/make-docs.sh from the help of the realign it was given. -->"
  for sub in "" apply follow bids; do
    echo
    echo "### \`realign${sub:+ $sub} --help\`"
    echo
    echo '```text'
    # shellcheck disable=SC2086  # $sub is empty for the main command, one word otherwise
    "$bin" $sub --help \
      | sed -e "s|^Usage: [^ ]*realign${sub:+ $sub} |Usage: realign${sub:+ $sub} |" -e 's/[[:space:]]*$//' \
      | awk -v sub_="$sub" 'sub_ != "" && /^Exit status:/ { stop = 1 } !stop { print }' \
      | awk 'NF { for (; blank > 0; blank--) print ""; print; next } { blank++ }'
    echo '```'
  done
  echo
  echo "$end"
} >"$block"

awk -v begin="$begin" -v end="$end" -v block="$block" '
  $0 == begin { while ((getline line < block) > 0) print line; skipping = 1; next }
  $0 == end { skipping = 0; next }
  !skipping { print }' "$page" >"$out"
chmod --reference="$page" "$out"
mv "$out" "$page"
echo "wrote the option reference of $page from $bin"
