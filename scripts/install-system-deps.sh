#!/usr/bin/env bash
# Installs the system packages ponder uses (bubblewrap, for the code sandbox).
# Runs apt-get as root, or through sudo when available; otherwise says what to install.
set -euo pipefail
command -v bwrap >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ponder: please install bubblewrap (bwrap) with your package manager" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ponder: not root and no sudo: install bubblewrap by hand (apt-get install bubblewrap)" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq bubblewrap >/dev/null
echo "ponder: installed bubblewrap"
