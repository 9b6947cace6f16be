#!/usr/bin/env bash
# Install dependencies, build (Release) and run the whole test suite.
# Usage: scripts/test.sh [extra ctest args...]   Exits with ctest's status.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# mpirun refuses to run as root and to oversubscribe the 2 cores without these.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

bash "$ROOT/scripts/install-deps.sh"
bash "$ROOT/scripts/build.sh"

BUILD_DIR=${BUILD_DIR:-$ROOT/build}
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@" || status=$?
exit "$status"
