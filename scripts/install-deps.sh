#!/bin/sh
# Installs what roster needs from Debian's packages, and nothing that is already there.
#   scripts/install-deps.sh           build dependencies only (what the Dockerfile's build stage uses)
#   scripts/install-deps.sh --test    plus what the test suite drives: Postgres, Redis, promtool, python3,
#                                     tmux (a real terminal for tests/e2e/test_terminal.py)
#                                     (and python3-yaml, which reads deploy/ in tests/e2e/test_deploy.py)
#                                     (and clang, whose libFuzzer builds the fuzz/ harnesses)
#                                     (and tzdata, the zones test_cron and roster cron read)
#                                     (and debootstrap and openssl: scripts/test-package.sh's
#                                     Debian roots and its rediss:// certificates)
#                                     (and libseccomp-dev: tests/helpers/seccomp_fail.c, system calls
#                                     failing as under gVisor)
#   scripts/install-deps.sh --demo    plus what the demo stack runs: Postgres, Redis, python3 clients
#   scripts/install-deps.sh --images  plus what scripts/test-images.sh uses: podman, runc, debootstrap,
#                                     openssl and redis-server (a TLS Redis), curl
# Works on Debian 12 (bookworm) and Debian 13 (trixie). Needs root (or sudo) when something is missing.
set -eu

build_pkgs="build-essential cmake pkg-config libuv1-dev libpq-dev libhiredis-dev libmicrohttpd-dev
libyaml-dev libcurl4-openssl-dev libcjson-dev"
test_pkgs="postgresql postgresql-client redis-server redis-tools prometheus python3 python3-yaml
util-linux procps curl ca-certificates tmux clang tzdata debootstrap openssl libseccomp-dev"
demo_pkgs="postgresql postgresql-client redis-server redis-tools python3 python3-psycopg2 python3-redis"
images_pkgs="podman runc debootstrap openssl redis-server curl ca-certificates"

want="$build_pkgs"
for arg in "$@"; do
    case "$arg" in
    --test) want="$want $test_pkgs $demo_pkgs" ;;
    --demo) want="$want $demo_pkgs" ;;
    --images) want="$want $images_pkgs" ;;
    *) echo "install-deps.sh: unknown option '$arg' (expected --test, --demo or --images)" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    case " $missing " in *" $p "*) continue ;; esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -n "$missing" ] || exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-deps.sh: missing packages:$missing; run as root to install them" >&2; exit 1
    fi
fi
echo "install-deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps Debian's postinst scripts from starting system-wide postgres/redis services:
# roster's tests and demo start their own servers on free loopback ports.
if [ ! -e /usr/sbin/policy-rc.d ] && [ -z "$SUDO" ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
