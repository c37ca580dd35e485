#!/usr/bin/env bash
# greetcue quickstart: set everything up on a fresh Debian / Raspberry Pi OS box, then run a job.
#   deploy/quickstart.sh demo   set up, then run the demo on real footage (output in out/demo)
#   deploy/quickstart.sh test   set up, then run lint, type checks and the test suite
#   deploy/quickstart.sh setup  set up only
# Set-up is idempotent: a second run only checks what is already there.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
job=${1:-setup}
venv=${GREETCUE_VENV:-$repo/.venv}

say() { printf '\033[1m[greetcue]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[greetcue] error:\033[0m %s\n' "$*" >&2; exit 2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $* (install sudo or run as root)"; fi
}

apt_install() {  # apt_install PKG...: install the Debian packages that are missing
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing system packages ${missing[*]} and no apt-get: install them by hand"
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "Python 3.11 or newer is needed ($python is $("$python" --version 2>&1)); set PYTHON=python3.11"
"$python" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
# The edge service's embedded broker and the tests' broker: Debian's Mosquitto.
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || apt_install mosquitto
# The dashboard store tests start a private cluster with Debian's PostgreSQL server programs.
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_install postgresql
# The dashboard browser tests drive Debian's headless Chromium through Playwright.
[ -x /usr/bin/chromium ] || apt_install chromium

# Shared assets next to the checkout (a team workspace) are used when the variables are unset.
for pair in GREETCUE_MODEL_MIRROR:models GREETCUE_FOOTAGE:footage; do
    var=${pair%%:*}; dir="$repo/../shared/${pair#*:}"
    if [ -z "${!var:-}" ] && [ -d "$dir" ]; then export "$var=$(cd "$dir" && pwd)"; fi
done

if [ ! -x "$venv/bin/python" ]; then
    say "creating virtual environment $venv"
    "$python" -m venv "$venv"
fi
stamp="$venv/.greetcue-installed"
want=$(cat pyproject.toml deploy/requirements-*.txt 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python packages into $venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e ".[dev]"
    for req in deploy/requirements-*.txt; do
        [ -f "$req" ] && "$venv/bin/python" -m pip install -q --no-deps -r "$req"
    done
    echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"

# ESPHome (checks the wearable's configuration) in an environment of its own.
esphome_venv="$repo/.venv-esphome"
esphome_want=$(sha256sum deploy/wearables/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$esphome_venv/.greetcue-installed" 2>/dev/null)" != "$esphome_want" ]; then
    say "installing ESPHome into $esphome_venv (for the wearable)"
    "$python" -m venv "$esphome_venv"
    "$esphome_venv/bin/python" -m pip install -q -r deploy/wearables/requirements.txt
    echo "$esphome_want" > "$esphome_venv/.greetcue-installed"
fi
export GREETCUE_ESPHOME="$esphome_venv/bin/esphome"

say "checking detector weights (mirror: ${GREETCUE_MODEL_MIRROR:-none, downloading})"
greetcue models pull
if [ -n "${GREETCUE_FOOTAGE:-}" ]; then
    say "footage: the local folder $GREETCUE_FOOTAGE"
else
    say "checking the footage cache (GREETCUE_FOOTAGE is unset: fetching the footage)"
    greetcue footage pull
fi

case "$job" in
    setup) say "set-up done; try: $venv/bin/greetcue --help" ;;
    demo)
        shift || true
        greetcue demo "$@" ;;
    test)
        say "lint and format (ruff)"; ruff check . && ruff format --check .
        say "types (mypy)"; mypy
        say "tests (pytest)"; shift || true
        pytest "$@" ;;
    *) die "unknown job '$job': use demo, test or setup" ;;
esac
