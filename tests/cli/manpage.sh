#!/usr/bin/env bash
# The committed man page (docs/realign.1) cannot silently go stale: it must carry every long
# option that `realign --help`, `realign apply --help` and `realign follow --help` and `realign bids --help` print, and the version that
# `realign --version` prints. Regenerate with scripts/make-manpage.sh. Needs only grep.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh" "$@"

page="$ROOT/docs/realign.1"
[[ -s $page ]] || fail "$page is missing"

# roff writes a literal hyphen as \- ; help2man escapes every one in options.
unescaped=$(sed -e 's/\\-/-/g' "$page")

"$REALIGN" --help >"$WORK/help.txt" || fail "realign --help exited with $?"
"$REALIGN" apply --help >"$WORK/apply.txt" || fail "realign apply --help exited with $?"
"$REALIGN" follow --help >"$WORK/follow.txt" || fail "realign follow --help exited with $?"
"$REALIGN" bids --help >"$WORK/bids.txt" || fail "realign bids --help exited with $?"
mapfile -t options < <(grep -ohE -- '(^|[ ,])--[a-z][a-z0-9-]*' "$WORK/help.txt" "$WORK/apply.txt" \
  "$WORK/follow.txt" "$WORK/bids.txt" \
  | sed -E 's/^[ ,]//' | sort -u)
((${#options[@]} >= 20)) || fail "only ${#options[@]} long options found in --help; the parsing is wrong"

missing=()
for opt in "${options[@]}"; do
  grep -qE -- "(^|[^a-z0-9-])${opt}([^a-z0-9-]|$)" <<<"$unescaped" || missing+=("$opt")
done
((${#missing[@]} == 0)) || fail "docs/realign.1 lacks ${missing[*]}: run scripts/make-manpage.sh"
log "all ${#options[@]} long options of --help are in the page"

version=$("$REALIGN" --version | head -n1)
grep -qF "\"$version\"" "$page" || fail "docs/realign.1 is not for '$version': run scripts/make-manpage.sh"
log "the page is for '$version'"
log "PASS"
