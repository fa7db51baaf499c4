#!/usr/bin/env bash
# Installs one pinned Python package into a venv of its own, idempotently and safe to run from several
# processes at once (the pattern of localstack/localstack.sh install): a lock, and a marker named after the
# hash of the constraints file, so a changed pin reinstalls and a half-finished install is redone.
#
#   test/support/pip-venv.sh DIR CONSTRAINTS PACKAGE==VERSION CHECK...
#
# DIR is the cache folder (the venv goes to DIR/venv); CONSTRAINTS pins every dependency (pip -c); CHECK is a
# command run with the venv's bin/ first on PATH after the install (e.g. `aws --version`); the marker is only
# written when it succeeds. Environment: PIP_VENV_PYTHON (the interpreter the venv is made from; default python3).
# Packages come from the package index pip is configured with; nothing else is downloaded.
set -euo pipefail

log() { printf 'pip-venv.sh: %s\n' "$*" >&2; }

if [[ $# -lt 4 ]]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
DIR="$1" CONSTRAINTS="$2" REQUIREMENT="$3"
shift 3
VENV="$DIR/venv"

mkdir -p "$DIR"
MARKER="$DIR/.installed-$(sha256sum "$CONSTRAINTS" | cut -c1-16)"
[[ -f "$MARKER" ]] && exit 0
# One installer at a time: a second caller waits here, then finds the marker.
exec 9>"$DIR/.install.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
else
  log "flock not found (util-linux); installing without a lock"
fi
[[ -f "$MARKER" ]] && exit 0
log "installing $REQUIREMENT into $VENV (first run only)"
rm -rf "$VENV" "$DIR"/.installed-*
"${PIP_VENV_PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS" "$REQUIREMENT" >&2
PATH="$VENV/bin:$PATH" "$@" >&2
touch "$MARKER"
log "installed"
