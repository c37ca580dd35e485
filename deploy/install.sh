#!/usr/bin/env bash
# greetcue system install (and upgrade) on Raspberry Pi OS bookworm or Debian 12, as root,
# from the checkout this script sits in. See deploy/install.md.
#   deploy/install.sh [--camera NAME [--source SPEC]]... [--device NAME]... [--site NAME]
#                     [--broker HOST[:PORT]] [--no-start]
# A store box (the default) gets the broker, the dashboard and its cameras; with --broker, an
# edge-only box gets the edge alone (no dashboard extra, no broker), publishing to HOST.
# Re-running it upgrades in place; it never overwrites a configuration you have edited.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true  # bash 5.2: '&' stays literal in ${x//a/b}

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/opt/greetcue
VENV=$PREFIX/venv
DEFAULTS=$PREFIX/defaults       # the defaults install.sh last wrote: tells edited files apart
ETC=/etc/greetcue
STATE=/var/lib/greetcue
ENV_FILE=$ETC/greetcue.env
UNIT_DIR=/etc/systemd/system
MOSQUITTO_CONF=/etc/mosquitto/conf.d/greetcue.conf
PASSWD_FILE=/etc/mosquitto/greetcue.passwd
ACL_FILE=/etc/mosquitto/greetcue.acl
USER_NAME=greetcue
EDGE_MQTT_USER=greetcue-edge
DASHBOARD_MQTT_USER=greetcue-dashboard
NAME_RE='^[A-Za-z0-9][A-Za-z0-9_.-]*$'

say() { printf '\033[1m[greetcue install]\033[0m %s\n' "$*"; }
warn() { printf '\033[33m[greetcue install] warning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[greetcue install] error:\033[0m %s\n' "$*" >&2; exit 2; }

usage() {
    cat <<EOF
usage: $0 [options]
  --camera NAME   add the camera NAME: $ETC/cameras/NAME.yaml and greetcue-edge@NAME.service
                  (repeatable; the service starts once the camera is calibrated)
  --source SPEC   the camera's source for the --camera before it (default /dev/video0)
  --device NAME   a Mosquitto user for the staff device NAME (a wearable, light or app that
                  reads its cues and sends its acks itself); its password is printed once
                  (repeatable; an existing device keeps its password)
  --site NAME     site name for new camera configs (default store-1)
  --broker HOST[:PORT]
                  an edge-only box: its cameras publish to the store's broker at HOST (port
                  1883); installs the edge alone, no Mosquitto, no dashboard. The edge's
                  broker password comes from GREETCUE_MQTT_PASSWORD in the environment (copy
                  it from the store box's $ETC/greetcue.env)
  --no-start      install and enable, but start nothing (a chroot, an image build)
  -h, --help      this text
EOF
}

cameras=() sources=() devices=() site=store-1 start=1 broker=
while [ $# -gt 0 ]; do
    case "$1" in
        --camera) [ $# -ge 2 ] || die "--camera needs a name"; cameras+=("$2"); sources+=(/dev/video0); shift 2 ;;
        --source) [ $# -ge 2 ] || die "--source needs a camera source"
                  [ ${#cameras[@]} -gt 0 ] || die "--source belongs after the --camera it is for"
                  sources[${#sources[@]}-1]=$2; shift 2 ;;
        --device) [ $# -ge 2 ] || die "--device needs a name"; devices+=("$2"); shift 2 ;;
        --site) [ $# -ge 2 ] || die "--site needs a name"; site=$2; shift 2 ;;
        --broker) [ $# -ge 2 ] || die "--broker needs a host"; broker=$2; shift 2 ;;
        --no-start) start=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done
broker_host=${broker%:*} broker_port=1883
[[ $broker == *:* ]] && broker_port=${broker##*:}
[ -z "$broker" ] || [[ $broker_host =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ && $broker_port =~ ^[0-9]+$ ]] \
    || die "--broker '$broker': give the store broker's host name or address, and :PORT if not 1883"
[ -z "$broker" ] || [ ${#devices[@]} -eq 0 ] || die "--device adds a user to the store's broker: run it on the store box"
edge_only() { [ -n "$broker" ]; }
[[ $site =~ $NAME_RE ]] || die "--site '$site': use letters, digits, - _ . (it is an MQTT topic level)"
for camera in "${cameras[@]}"; do
    [[ $camera =~ $NAME_RE ]] || die "--camera '$camera': use letters, digits, - _ . (it is an MQTT topic level)"
done
for device in "${devices[@]}"; do
    [[ $device =~ $NAME_RE ]] || die "--device '$device': use letters, digits, - _ . (it is an MQTT topic level)"
    case "$device" in "$EDGE_MQTT_USER"|"$DASHBOARD_MQTT_USER")
        die "--device '$device' is the name of greetcue's own MQTT user: pick another device name" ;;
    esac
done
for spec in "${sources[@]}"; do
    [[ $spec != *[\'\"\\]* ]] || die "--source '$spec': quotes and backslashes are not supported"
done

check_system() {
    [ "$(id -u)" = 0 ] || die "run as root: sudo $0"
    [ -r /etc/os-release ] || die "no /etc/os-release: greetcue installs on Debian 12 or Raspberry Pi OS bookworm"
    local id codename arch
    # shellcheck source=/dev/null
    id=$(. /etc/os-release && echo "${ID:-}") codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    case "$id:$codename" in
        debian:bookworm|raspbian:bookworm) ;;
        *) die "unsupported OS '$id $codename': greetcue installs on Debian 12 (bookworm) or Raspberry Pi OS bookworm" ;;
    esac
    arch=$(dpkg --print-architecture)
    case "$arch" in
        amd64|arm64) ;;
        *) die "unsupported architecture '$arch': use a 64-bit OS (arm64 on a Raspberry Pi, or amd64)" ;;
    esac
    say "system: $id $codename $arch"
}

is_raspberry_pi() { grep -qs 'Raspberry Pi' /proc/device-tree/model; }

apt_install() {  # apt_install PKG...: install the Debian packages that are missing
    local missing=() pkg
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq || die "apt-get update failed: check the network and /etc/apt/sources.list*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed (see above)"
}

ensure_user() {
    getent group gpio >/dev/null || { say "creating group gpio"; groupadd --system gpio; }
    getent group video >/dev/null || { say "creating group video"; groupadd --system video; }
    if ! id "$USER_NAME" >/dev/null 2>&1; then
        say "creating system user $USER_NAME"
        useradd --system --user-group --home-dir "$STATE" --no-create-home \
            --shell /usr/sbin/nologin --comment "greetcue service" "$USER_NAME"
    fi
    usermod -a -G gpio,video "$USER_NAME"
}

ensure_dirs() {
    install -d -m 0755 "$PREFIX" "$DEFAULTS"
    install -d -m 0750 -o root -g "$USER_NAME" "$ETC" "$ETC/cameras"
    install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$STATE" "$STATE/models"
}

index_url() {
    "$VENV/bin/python" -m pip config get global.index-url 2>/dev/null || echo "${PIP_INDEX_URL:-https://pypi.org/simple}"
}

pip_or_die() {  # pip_or_die WHAT ARGS...: pip install, or say whether the network is the cause
    local what=$1; shift
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" && return 0
    local url; url=$(index_url)
    if ! "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=15)' "$url" 2>/dev/null; then
        die "pip cannot reach the package index $url to install $what: no network, or a TLS certificate it does not trust? Connect the box (or set a mirror or cert in /etc/pip.conf) and run $0 again"
    fi
    die "pip could not install $what (see above)"
}

install_app() {
    [ -x "$VENV/bin/python" ] || { say "creating virtual environment $VENV"; python3 -m venv "$VENV"; }
    say "installing greetcue from $src into $VENV"
    # pip reinstalls a local folder even at an unchanged version: an upgrade in place.
    if edge_only; then
        pip_or_die greetcue "$src"  # the edge alone: no dashboard libraries on a camera box
    else
        pip_or_die "greetcue with the dashboard extra" "${src}[dashboard]"
    fi
    if is_raspberry_pi; then
        say "Raspberry Pi: installing the pi extra (lgpio)"
        pip_or_die "the pi extra (lgpio; to build it: apt-get install swig python3-dev liblgpio-dev)" "${src}[pi]"
    elif "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${src}[pi]" >/dev/null 2>&1; then
        say "installed the pi extra (lgpio)"
    else
        say "no Raspberry Pi and lgpio does not build here: GPIO outputs need gpio.pin_factory: mock"
    fi
    "$VENV/bin/greetcue" --help >/dev/null || die "$VENV/bin/greetcue does not run (see above)"
}

pull_models() {
    say "pulling the detector weights into $STATE/models${GREETCUE_MODEL_MIRROR:+ (mirror $GREETCUE_MODEL_MIRROR)}"
    GREETCUE_MODEL_CACHE=$STATE/models "$VENV/bin/greetcue" models pull >/dev/null \
        || die "greetcue models pull failed (see above): no network? Set GREETCUE_MODEL_MIRROR to a folder holding the weights"
    chown -R "$USER_NAME:$USER_NAME" "$STATE/models"
}

# install_config FILE MODE OWNER:GROUP < TEXT: write a configuration file as a package manager
# treats its conffiles: a missing file, or one still as install.sh last wrote it, gets the new
# default; an edited one is kept and the new default goes beside it as FILE.new.
install_config() {
    local file=$1 mode=$2 owner=$3 record="$DEFAULTS$1" new
    new=$(mktemp)
    cat > "$new"
    install -d -m 0755 "$(dirname "$record")"
    if [ ! -e "$file" ]; then
        say "writing $file"
        install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$new" "$file"
    elif cmp -s "$new" "$file"; then
        :
    elif [ -e "$record" ] && cmp -s "$record" "$file"; then
        say "updating $file (not edited since the last install)"
        install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$new" "$file"
    elif [ -e "$file.new" ] && cmp -s "$new" "$file.new"; then
        say "keeping your edited $file; the new default is still in $file.new"
    else
        say "keeping your edited $file; the new default is in $file.new (compare: diff $file $file.new)"
        install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$new" "$file.new"
    fi
    install -m 0644 "$new" "$record"
    rm -f "$new"
}

render() {  # render TEMPLATE KEY=VALUE...: the template with each @KEY@ replaced
    local text pair
    text=$(<"$1"); shift
    for pair in "$@"; do text=${text//@${pair%%=*}@/${pair#*=}}; done
    printf '%s\n' "$text"
}

env_value() { sed -n "s/^$1=//p" "$ENV_FILE" 2>/dev/null | tail -n1; }

secret() { "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))'; }

ensure_secrets() {  # generated once; a variable a newer version needs is added, none replaced
    [ -e "$ENV_FILE" ] || { say "writing $ENV_FILE (generated secrets)"; install -m 0640 -o root -g "$USER_NAME" /dev/null "$ENV_FILE"; }
    local var
    if edge_only; then  # the store box generated the edge's broker password
        if [ -z "$(env_value GREETCUE_MQTT_PASSWORD)" ]; then
            [ -n "${GREETCUE_MQTT_PASSWORD:-}" ] || die "--broker: set GREETCUE_MQTT_PASSWORD to the value in the store box's $ENV_FILE"
            echo "GREETCUE_MQTT_PASSWORD=$GREETCUE_MQTT_PASSWORD" >> "$ENV_FILE"
        fi
        chown root:"$USER_NAME" "$ENV_FILE"
        chmod 0640 "$ENV_FILE"
        return
    fi
    for var in GREETCUE_MQTT_PASSWORD GREETCUE_DASHBOARD_MQTT_PASSWORD GREETCUE_DASHBOARD_SECRET; do
        if [ -z "$(env_value "$var")" ]; then
            [ -s "$ENV_FILE" ] && say "adding $var to $ENV_FILE"
            echo "$var=$(secret)" >> "$ENV_FILE"
        fi
    done
    chown root:"$USER_NAME" "$ENV_FILE"
    chmod 0640 "$ENV_FILE"
}

timezone() {
    local zone
    zone=$(cat /etc/timezone 2>/dev/null || readlink /etc/localtime 2>/dev/null | sed 's#.*/zoneinfo/##')
    [ -n "$zone" ] && [ -e "/usr/share/zoneinfo/$zone" ] && echo "$zone" || echo UTC
}

yaml_scalar() {  # a camera source as YAML: an index as a number, anything else quoted
    if [[ $1 =~ ^[0-9]+$ ]]; then echo "$1"; else echo "'$1'"; fi
}

write_configs() {
    edge_only || render "$src/deploy/etc/dashboard.yaml" "TIMEZONE=$(timezone)" \
        | install_config "$ETC/dashboard.yaml" 0640 root:"$USER_NAME"
    local i camera
    for i in "${!cameras[@]}"; do
        camera=${cameras[$i]}
        render "$src/deploy/etc/camera.yaml" "CAMERA=$camera" "SITE=$site" \
            "SOURCE=$(yaml_scalar "${sources[$i]}")" \
            "BROKER_HOST=${broker_host:-localhost}" "BROKER_PORT=$broker_port" \
            | install_config "$ETC/cameras/$camera.yaml" 0640 root:"$USER_NAME"
        # exit code 1: valid, not calibrated yet (start_services says what to do)
        "$VENV/bin/greetcue" config check "$ETC/cameras/$camera.yaml" >/dev/null \
            || [ $? -eq 1 ] || die "$ETC/cameras/$camera.yaml is invalid (see above): fix it and run $0 again"
    done
}

configure_mosquitto() {
    install -d -m 0755 /etc/mosquitto/conf.d
    install_config "$MOSQUITTO_CONF" 0644 root:root < "$src/deploy/mosquitto/greetcue.conf"
    install_config "$ACL_FILE" 0644 root:root < "$src/deploy/mosquitto/greetcue.acl"
    [ -e "$PASSWD_FILE" ] || install -m 0640 -o root -g mosquitto /dev/null "$PASSWD_FILE"
    local user password
    for user in "$EDGE_MQTT_USER:GREETCUE_MQTT_PASSWORD" "$DASHBOARD_MQTT_USER:GREETCUE_DASHBOARD_MQTT_PASSWORD"; do
        password=$(env_value "${user#*:}")
        # The password on stdin (asked twice), never on a command line others can read.
        printf '%s\n%s\n' "$password" "$password" \
            | mosquitto_passwd "$PASSWD_FILE" "${user%%:*}" >/dev/null
    done
    local device
    for device in "${devices[@]}"; do
        if cut -d: -f1 "$PASSWD_FILE" | grep -qxF "$device"; then
            say "Mosquitto: device $device already has a user (its password is kept)"
            continue
        fi
        password=$(secret)
        printf '%s\n%s\n' "$password" "$password" | mosquitto_passwd "$PASSWD_FILE" "$device" >/dev/null
        say "Mosquitto: device $device: user '$device', password '$password' (shown once: set it in the device now)"
    done
    chown root:mosquitto "$PASSWD_FILE"
    chmod 0640 "$PASSWD_FILE"
    say "Mosquitto: users $EDGE_MQTT_USER and $DASHBOARD_MQTT_USER in $PASSWD_FILE, what each may do in $ACL_FILE"
}

as_service_user() {  # as_service_user CMD...: run a greetcue command as the service would
    runuser -u "$USER_NAME" -- env GREETCUE_STATE_DIR="$STATE" GREETCUE_MODEL_CACHE="$STATE/models" \
        "$VENV/bin/greetcue" "$@"
}

migrate_dashboard() {
    say "migrating the dashboard database"
    as_service_user dashboard migrate --config "$ETC/dashboard.yaml" \
        || warn "the dashboard database could not be migrated (see above); greetcue-dashboard.service migrates it when it starts"
}

install_units() {
    local unit
    local units=("$src"/deploy/systemd/*.service)
    edge_only && units=("$src/deploy/systemd/greetcue-edge@.service")
    for unit in "${units[@]}"; do
        install -m 0644 "$unit" "$UNIT_DIR/$(basename "$unit")"
    done
    say "systemd units in $UNIT_DIR: $(for unit in "${units[@]}"; do basename "$unit"; done | xargs)"
    edge_only || systemctl enable mosquitto.service greetcue-dashboard.service >/dev/null 2>&1 \
        || die "systemctl enable greetcue-dashboard.service failed"
    local camera
    for camera in "${cameras[@]}"; do
        systemctl enable "greetcue-edge@$camera.service" >/dev/null 2>&1 \
            || die "systemctl enable greetcue-edge@$camera.service failed"
        say "enabled greetcue-edge@$camera.service"
    done
}

calibrated() { "$VENV/bin/greetcue" config check "$1" >/dev/null; }  # what `run` checks

start_services() {
    if [ "$start" = 0 ]; then
        say "--no-start: nothing started; later: systemctl start greetcue-dashboard greetcue-edge@NAME"
        return
    fi
    [ -d /run/systemd/system ] || die "systemd is not running here: use --no-start (a chroot or an image build)"
    systemctl daemon-reload
    edge_only || systemctl restart mosquitto.service
    # An upgrade: whatever runs now runs the new version.
    systemctl try-restart 'greetcue-edge@*.service' 'greetcue-ingest@*.service'
    edge_only || systemctl restart greetcue-dashboard.service
    local camera file
    for camera in "${cameras[@]}"; do
        file=$ETC/cameras/$camera.yaml
        if calibrated "$file"; then
            systemctl start "greetcue-edge@$camera.service"
        else
            say "camera $camera is not calibrated: greetcue calibrate --config $file ..., then systemctl start greetcue-edge@$camera"
        fi
    done
}

check_system
if edge_only; then
    say "edge-only box: cameras publish to the broker at $broker_host:$broker_port"
    apt_install python3 python3-venv ca-certificates tzdata systemd
else
    apt_install python3 python3-venv ca-certificates tzdata mosquitto systemd
fi
ensure_user
ensure_dirs
install_app
pull_models
ensure_secrets
write_configs
edge_only || configure_mosquitto
edge_only || migrate_dashboard
install_units
start_services
say "done: $VENV/bin/greetcue $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("greetcue"))'); see deploy/install.md for the first manager login"
