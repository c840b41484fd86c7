#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run them.
#   bash scripts/test.sh [pytest args...]
# Browser tests use Debian's Chromium (/usr/bin/chromium); Playwright cannot download its own.
# Then, as Streamlit Community Cloud runs Python 3.12, the engine and page tests (all but
# tests/e2e) run again under Python 3.12 in .venv-py312, when one is found: python3.12 on PATH,
# else the newest /root/.pyenv/versions/3.12.*; it says when it skips, as MNIST_CNN_PY312=none
# makes it. The pytest args go to both legs (a selection of browser tests only leaves the
# second leg nothing to run, and that is not a failure).
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium only recommends the Liberation fonts, and the sketchbook draws letters from them and
# DejaVu's (sketchbook/fonts.py): named here so that a machine without them gets them too.
debian_packages=(chromium fonts-dejavu-core fonts-dejavu-extra fonts-liberation)
if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf ] \
  || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSerifCondensed-Italic.ttf ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${debian_packages[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"

# The same tests but the browser ones, under Python 3.12.
find_python312() {
  local candidate
  for candidate in "$(command -v python3.12 || true)" \
    $(ls -d /root/.pyenv/versions/3.12.*/bin/python 2>/dev/null | sort -V -r); do
    # A pyenv shim is on PATH even when it cannot run 3.12, so try each one.
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' \
      2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
}
if [ "${MNIST_CNN_PY312:-}" = none ]; then
  echo "SKIPPED the Python 3.12 tests: MNIST_CNN_PY312=none"
  exit 0
fi
py312="$(find_python312)"
if [ -z "$py312" ]; then
  echo "SKIPPED the Python 3.12 tests: no Python 3.12 found (python3.12, /root/.pyenv/versions/3.12.*)"
  exit 0
fi
echo "Python 3.12 tests with $py312"
"$py312" -m venv .venv-py312
.venv-py312/bin/python -m pip install -q --upgrade pip
.venv-py312/bin/python -m pip install -q -r requirements-dev.txt
status=0
.venv-py312/bin/python -m pytest -q --ignore=tests/e2e "$@" || status=$?
# 5: the args selected browser tests only, none left to run here.
[ "$status" -eq 5 ] && echo "No Python 3.12 tests in this selection (browser tests only)"
[ "$status" -eq 5 ] || exit "$status"
