#!/usr/bin/env bash
# Creates (once) a private Python environment holding the reference thin client from PyPI,
# pinned by requirements.txt, and prints the interpreter to use on its last line.
#
#   test/interop/python/setup.sh            # idempotent; ~10 ms when already installed
#   KP_PYTHON=python3.12 test/interop/python/setup.sh
#   KP_INTEROP_VENV=/some/dir test/interop/python/setup.sh
#
# Layout: test/interop/python/.venv (git-ignored). A stamp file records the hash of
# requirements.txt and the interpreter version; when both match nothing is done.
# Works on machines without the venv module (Debian's python3 without python3-venv):
# it then installs the packages with `pip --target` and the caller gets a wrapper script
# that sets PYTHONPATH (KP_INTEROP_NO_VENV=1 forces that path, for testing it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${KP_INTEROP_VENV:-$here/.venv}"
req="$here/requirements.txt"
stamp="$venv/.kp-interop-stamp"

log() { echo "[interop-python] $*" >&2; }

base_python="${KP_PYTHON:-}"
if [ -z "$base_python" ]; then
  for candidate in python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then base_python="$candidate"; break; fi
  done
fi
if [ -z "$base_python" ] || ! command -v "$base_python" >/dev/null 2>&1; then
  log "no Python 3 interpreter found (set KP_PYTHON); the reference client needs Python >= 3.10"
  exit 3
fi
if ! "$base_python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  log "$base_python is $("$base_python" -V 2>&1); katzenpost-thinclient needs Python >= 3.10"
  exit 3
fi

req_hash="$( (cat "$req"; "$base_python" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$req_hash" ]; then
  py="$(sed -n 2p "$stamp")"
  if [ -x "$py" ]; then
    echo "$py"
    exit 0
  fi
fi

log "creating $venv for $("$base_python" -V 2>&1)"
rm -rf "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

if [ -z "${KP_INTEROP_NO_VENV:-}" ] && "$base_python" -m venv "$venv" >/dev/null 2>&1 && [ -x "$venv/bin/python" ]; then
  py="$venv/bin/python"
  "$py" -m pip install --quiet --no-cache-dir -r "$req"
else
  # No venv/ensurepip on this interpreter: install into a private target directory instead.
  log "the venv module is unavailable; installing into $venv/site with pip --target"
  rm -rf "$venv"
  mkdir -p "$venv/site" "$venv/bin"
  "$base_python" -m pip install --quiet --no-cache-dir --target "$venv/site" -r "$req"
  # PYTHONPATH comes before the standard library, so the obsolete PyPI "asyncio" backport the
  # client declares would shadow the real one (in a venv, site-packages comes last and it is inert).
  rm -rf "$venv/site/asyncio"
  py="$venv/bin/python"
  cat >"$py" <<EOF
#!/usr/bin/env bash
PYTHONPATH="$venv/site\${PYTHONPATH:+:\$PYTHONPATH}" exec "$(command -v "$base_python")" "\$@"
EOF
  chmod +x "$py"
fi

# Prove the installed client imports before recording success.
"$py" -c 'import katzenpost_thinclient, cbor2; from importlib.metadata import version; print("katzenpost-thinclient", version("katzenpost-thinclient"))' >&2
printf '%s\n%s\n' "$req_hash" "$py" >"$stamp"
echo "$py"
