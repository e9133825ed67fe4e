#!/usr/bin/env bash
# Installs the system packages ponder uses: bubblewrap and libseccomp2 (the code sandbox and its
# seccomp filter, built through the pyseccomp binding), chromium (the trace
# viewer's browser test) and postgresql (the tests of the PostgreSQL run store start a throwaway
# server). Idempotent and quiet: does nothing when all are there.
# Runs apt-get as root, or through sudo when available; otherwise says what to install.
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -c 'libseccomp\.so\.2' >/dev/null || missing+=(libseccomp2)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ponder: please install ${missing[*]} with your package manager" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ponder: not root and no sudo: install ${missing[*]} by hand (apt-get install ${missing[*]})" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "ponder: installed ${missing[*]}"
