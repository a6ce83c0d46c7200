#!/usr/bin/env bash
# The whole test set-up in one command, from a fresh clone:
#
#   bash tests/setup-and-run.sh [PYTEST ARGS...]
#
# 1. system programs the integration tests drive (tests/system-packages.txt):
#    installed with apt-get when missing, as root on Debian/Ubuntu; otherwise
#    the missing packages are printed and the script exits 1;
# 2. acorn into $ASSETPIPE_NODE_PREFIX (default ~/.cache/assetpipe/node);
# 3. the venv .venv/ with the project installed editable with its test extra
#    (pip runs again only when pyproject.toml changed);
# 4. the public corpus into $ASSETPIPE_CORPUS (default ~/.cache/assetpipe/corpus)
#    with tests/corpus/fetch.py;
# 5. ruff and mypy over assetpipe/ (configured in pyproject.toml): a finding
#    fails the run before any test;
# 6. pytest, then a check of its JUnit report: any skipped test, or no test at
#    all, fails the run (integration tests must really run).
# Each step is a no-op when its result is already there.  CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

export ASSETPIPE_CORPUS=${ASSETPIPE_CORPUS:-$HOME/.cache/assetpipe/corpus}
export ASSETPIPE_NODE_PREFIX=${ASSETPIPE_NODE_PREFIX:-$HOME/.cache/assetpipe/node}
ACORN=acorn@8   # the version range tests/conftest.py installs on first use too

say() { printf 'setup: %s\n' "$*" >&2; }

probe() {  # succeeds when the program/file/module a package provides is present
  case $1 in
    python:*) python3 -c "import ${1#python:}" 2>/dev/null ;;
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing_packages() {  # Debian package names whose probe fails, each once
  local probe_ package rest seen=" "
  while read -r probe_ package rest; do
    case $probe_ in ''|'#'*) continue ;; esac
    if ! probe "$probe_" && [[ $seen != *" $package "* ]]; then
      seen="$seen$package "
      printf '%s\n' "$package"
    fi
  done <tests/system-packages.txt
}

install_system_packages() {
  local need
  need=$(missing_packages | paste -sd' ')
  [ -n "$need" ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing system packages (Debian names): $need"
    say "install them (Debian/Ubuntu: sudo apt-get install $need), or run this script as root"
    exit 1
  fi
  say "apt-get install $need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086  # one word per package
  apt-get install -y -qq --no-install-recommends $need >/dev/null
  need=$(missing_packages | paste -sd' ')
  [ -z "$need" ] || { say "still missing after apt-get: $need"; exit 1; }
}

install_acorn() {
  [ -f "$ASSETPIPE_NODE_PREFIX/node_modules/acorn/package.json" ] && return 0
  say "npm install $ACORN into $ASSETPIPE_NODE_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$ASSETPIPE_NODE_PREFIX" "$ACORN" >/dev/null
}

make_venv() {
  local stamp=.venv/.setup-stamp want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  [ -x .venv/bin/python ] || python3 -m venv .venv
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  say "pip install -e '.[test]'"
  .venv/bin/pip install -q -e '.[test]'
  printf '%s' "$want" >"$stamp"
}

# Fails on a skipped test or on no test at all, reading pytest's JUnit report.
check_no_skips() {
  .venv/bin/python - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
if tests == 0:
    sys.exit("setup-and-run: no test ran")
if skipped:
    sys.exit(f"setup-and-run: {skipped} test(s) skipped; integration tests must run")
PY
}

install_system_packages
install_acorn
make_venv
.venv/bin/python tests/corpus/fetch.py "$ASSETPIPE_CORPUS"

say "ruff check assetpipe; mypy"
.venv/bin/ruff check --quiet assetpipe
.venv/bin/mypy

junit=.venv/junit.xml
rm -f "$junit"
status=0
.venv/bin/pytest -p no:cacheprovider -rs --junitxml="$junit" "$@" || status=$?
[ -f "$junit" ] || exit "${status/#0/1}"
check_no_skips "$junit"
exit "$status"
