#!/usr/bin/env bash
# Install the Debian 12 packages needed to build, test and demo realign.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake g++
  libinsighttoolkit5-dev libeigen3-dev
  libopenmpi-dev openmpi-bin
  libcli11-dev libdeflate-dev zlib1g-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libgtest-dev
  # Intel ISA-L: inflates a streamed .nii.gz twice as fast as zlib (0.13 s instead of 0.27 s
  # for decnef's 36 MB run on a 2-core Intel machine). Outputs are compressed by libdeflate,
  # whose bytes, unlike ISA-L's, never depend on the threads' timing.
  libisal-dev
  # Google Benchmark: the kernel benchmarks (bench/), built only when it is installed.
  libbenchmark-dev
  python3
  # Headless browser for tests/cli/report_browser.sh, which renders the QC report (the test
  # skips without it). About 140 MB to download; installed in 19 s on a 2-core machine.
  chromium
  # tests/cli/run/nipype.sh: the python/ nipype interfaces in a Workflow, installed with pip.
  python3-nipype python3-pip
  # Debian's dcm2niix: the independent truth of the DICOM tests (the NIfTI it converts the
  # same mosaics and slices to; tests/io/test_dicom_*.cpp, tests/cli/run/dicom_run.sh,
  # tests/cli/follow/follow_dicom.sh). About 1 MB; the tests skip that comparison without it.
  dcm2niix
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != *"install ok installed"* ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: error: not root and sudo not found; please install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${PACKAGES[@]}"
