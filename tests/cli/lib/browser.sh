# shellcheck shell=bash
# Headless Chromium for the tests that look at reports as a user does. Sourced after
# common.sh; skips the test (77) when Chromium is not installed.
CHROMIUM=/usr/bin/chromium
[[ -x $CHROMIUM ]] || skip "no $CHROMIUM (apt-get install chromium)"

# render PROFILE SIZE PAGE [CHROMIUM ARGS...]: PAGE (a path) in a fresh profile of its
# own under $WORK and a window of SIZE (W,H), with no background traffic (it would be
# refused here, and retried).
render() {
  local profile=$1 size=$2 page=$3
  shift 3
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --force-device-scale-factor=1 --user-data-dir="$WORK/profile-$profile" \
    --window-size="$size" "$@" "file://$page"
}
