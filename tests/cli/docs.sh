#!/usr/bin/env bash
# What README.md and docs/*.md tell a user about options cannot drift from the code:
#  (a) the option reference of docs/usage.md is what scripts/make-docs.sh writes from this
#      realign's --help, byte for byte (regenerated into a copy and compared);
#  (b) every long option they name (--name, in backticks or not) is an option of realign,
#      realign apply, realign follow or realign bids, or of another tool named in the same
#      paragraph (mpirun, sbatch, cmake, the project's scripts; realign-phantom's from its
#      own --help): the short list is in tests/cli/lib/docs_check.py;
#  (c) a default they state in a recognisable form ("`--fwhm` (default 5)", "`--ref mean`
#      (the default)", a table with a "default" column) is the =VALUE --help prints, and
#      choices written `--intensity coil|global|linear` are the ones --help lists.
# tests/cli/lib/docs_check.py says exactly which forms are read. Needs python3.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh" "$@"
need_python

page="$ROOT/docs/usage.md"
[[ -s $page ]] || fail "$page is missing"

# (a) The generated block, regenerated from this binary into a copy.
cp "$page" "$WORK/usage.md"
bash "$ROOT/scripts/make-docs.sh" "$REALIGN" "$WORK/usage.md" >/dev/null \
  || fail "scripts/make-docs.sh failed on a copy of docs/usage.md"
if ! cmp -s "$page" "$WORK/usage.md"; then
  diff -u "$page" "$WORK/usage.md" | head -n 40 >&2
  fail "the option reference in docs/usage.md is not what '$REALIGN --help' prints: run scripts/make-docs.sh"
fi
log "docs/usage.md's option reference is this realign's --help"

# (b) and (c): every option named, every default and choice stated.
help_dir="$WORK/help"
mkdir -p "$help_dir"
"$REALIGN" --help >"$help_dir/main.txt" || fail "realign --help exited with $?"
for sub in apply follow bids; do
  "$REALIGN" "$sub" --help >"$help_dir/$sub.txt" || fail "realign $sub --help exited with $?"
done
{ "$PHANTOM" --help && "$PHANTOM" compare --help; } >"$help_dir/phantom.txt" \
  || fail "realign-phantom --help exited with $?"

docs=("$ROOT/README.md" "$ROOT"/docs/*.md)
((${#docs[@]} >= 8)) || fail "only ${#docs[@]} documentation files found under $ROOT"
if ! python3 "$ROOT/tests/cli/lib/docs_check.py" "$help_dir" "${docs[@]}" >"$WORK/problems.txt"; then
  sed -e "s|^$ROOT/||" "$WORK/problems.txt" >&2
  fail "$(wc -l <"$WORK/problems.txt") statements about options differ from --help (above)"
fi
log "$(cat "$WORK/problems.txt"): every one as --help says"
log "PASS"
