#!/usr/bin/env bash
# Install the Debian packages a fresh machine may lack for headless rendering, only those missing.
# Used by `make demo`, `make test` and .ci/run. Needs root (or password-less sudo) only when something is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# Debian packages: make, and headless OpenGL through EGL with Mesa's software rasterizer (libEGL, the Mesa EGL
# vendor library, the DRI drivers, libOpenGL), and chromium for the review site's browser tests (Playwright drives it).
SYSTEM_PACKAGES=(make libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libopengl0 chromium)

missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    missing+=(python3-venv)
fi

if ((${#missing[@]})); then
    echo "system packages: installing system packages: ${missing[*]}"
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then
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
else
    echo "system packages: system packages present: ${SYSTEM_PACKAGES[*]}"
fi

