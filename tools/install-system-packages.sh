#!/usr/bin/env bash
# Install the Debian packages a fresh machine may lack, only those missing, in one of two groups:
#
#   bash tools/install-system-packages.sh render   # what `make demo` needs: headless OpenGL (EGL + Mesa) and venv
#   bash tools/install-system-packages.sh test     # render, plus chromium for the review site's browser tests
#                                                  # and make (`make test`, .ci/run)
#
# Nothing missing: nothing is installed and no root is needed. Something missing: apt-get runs as root, or
# through password-less sudo. On a system without dpkg (not Debian/Ubuntu) it only says what to install.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

group="${1:-render}"

# Headless OpenGL through EGL with Mesa's software rasterizer: libEGL, the Mesa EGL vendor library, the DRI drivers,
# libOpenGL and libGL. MuJoCo's renderer needs these for every video and image.
RENDER_PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libopengl0)
# The review site's tests drive Debian's chromium with Playwright; make runs the test command itself.
TEST_PACKAGES=("${RENDER_PACKAGES[@]}" chromium make)

case "$group" in
    render) wanted=("${RENDER_PACKAGES[@]}") ;;
    test) wanted=("${TEST_PACKAGES[@]}") ;;
    *)
        echo "usage: $0 [render|test]" >&2
        exit 2
        ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "system packages: no dpkg here; make sure these (or your system's equivalents) are installed: ${wanted[*]}"
    exit 0
fi

missing=()
for package in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    missing+=(python3-venv)
fi

if ((${#missing[@]} == 0)); then
    echo "system packages ($group): present: ${wanted[*]}"
    exit 0
fi

echo "system packages ($group): installing: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    if ! sudo -n true 2>/dev/null; then
        echo "system packages: need root to install ${missing[*]}; run: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    sudo="sudo -n"
fi
for attempt in 1 2 3; do
    if $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null; then
        break
    fi
    if ((attempt == 3)); then
        echo "system packages: apt-get failed to install: ${missing[*]}" >&2
        exit 1
    fi
    echo "system packages: apt-get failed (attempt $attempt), retrying" >&2
    sleep $((attempt * 10))
done
