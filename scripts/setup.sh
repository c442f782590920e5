#!/usr/bin/env bash
# Set up this checkout on a fresh Debian/Ubuntu machine (or any machine with Python >= 3.10):
# system packages the toolkit needs (installed only when missing), a virtual environment in
# .venv, and the toolkit itself in editable mode. Safe to run again; it only adds what is missing.
#
#   scripts/setup.sh          the toolkit
#   scripts/setup.sh --test   the toolkit and what the tests need
#   scripts/setup.sh --fuzz   that, and the coverage-guided fuzzer bench/fuzz_config.py uses (atheris)
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
for arg in "$@"; do
  case "$arg" in
    --test) extras="[test]" ;;
    --fuzz) extras="[test,fuzz]" ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (use --test or --fuzz)" >&2; exit 2 ;;
  esac
done

# Debian packages, one per line with the reason.
APT_PACKAGES=(
  libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libopengl0 libglvnd0   # headless rendering (EGL, Mesa llvmpipe)
  libgl1-mesa-glx libx11-6 libxrandr2 libxext6 libxcursor1             # the desktop preview window
  xvfb xdotool xauth                                                   # window tests on a virtual display
  gcc libc6-dev                                                        # builds the OpenXR test runtime's loader shim
  espeak-ng                                                            # the virtual humans' voices
  libportaudio2                                                        # the patient's microphone (sounddevice records through PortAudio)
)
if [ -n "$extras" ]; then
  APT_PACKAGES+=(chromium fonts-dejavu-core)                           # the console's tests in a real headless browser
  APT_PACKAGES+=(openxr-layer-corevalidation openxr-layer-apidump)     # the headset backend under the Khronos validation layer; API-dump traces
fi

need_apt=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
  done
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "setup.sh: Python 3.10 or newer is needed as '$python' (set PYTHON=/path/to/python3)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] && ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  need_apt+=("python3-venv")
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else
    echo "setup.sh: please install these system packages first:" >&2
    echo "  sudo apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
echo "setup.sh: ready ($(.venv/bin/vr --version))"
