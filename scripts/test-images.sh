#!/usr/bin/env bash
# Builds and tests both image recipes with podman, without any container registry:
#   - the repository's Dockerfile (roster alone, FROM debian:trixie-slim), and
#   - deploy/node/Dockerfile with examples/node-app (a TypeScript app's image,
#     FROM node:20-trixie-slim).
# The FROM images are made here: a Debian 13 root from debootstrap (minbase, trimmed the way
# Debian's -slim images are), plus Debian's nodejs and npm and a `node` user (uid 1000) for the
# Node base, each `podman import`ed under the exact name its FROM line uses. The roots are cached
# in /var/cache/roster-images (ROSTER_IMAGES_CACHE); delete that folder to make them again.
#
# Then, in the containers: roster is PID 1 and not root, `roster health` is the HEALTHCHECK and
# passes, an orphan is reaped, SIGTERM stops worker then api and exits 0 within the bound,
# `roster --role worker` works as a run command that replaces the ENTRYPOINT, and rediss:// reaches
# a TLS redis-server (certificates made with openssl). Prints the image sizes.
#
#   scripts/test-images.sh               as root; installs podman, runc, debootstrap if missing
#   scripts/test-images.sh --if-enabled  the same if ROSTER_IMAGES_TEST=1, else SKIP (exit 77:
#                                        ctest's `images` test, which takes minutes)
#
# Needs the Debian mirror (debootstrap, apt-get in the build stages) and the npm registry (npm ci
# in the app's build stage); the containers use the host's network, the tests only loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --if-enabled ] && [ "${ROSTER_IMAGES_TEST:-}" != 1 ]; then
    echo "SKIP: the image test takes minutes: ROSTER_IMAGES_TEST=1 runs it (as root)"
    exit 77
fi
root_dir=$PWD

cache=${ROSTER_IMAGES_CACHE:-/var/cache/roster-images}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
release=trixie
debian_image=docker.io/library/debian:trixie-slim
node_image=docker.io/library/node:20-trixie-slim
roster_tag=localhost/roster:images-test
app_tag=localhost/roster-node-app:images-test
# Containers named with this prefix belong to this script, which removes them on exit.
ctr=roster-images-$$

if [ "$(id -u)" != 0 ]; then
    echo "test-images.sh: run as root (podman, debootstrap)" >&2
    exit 2
fi
sh scripts/install-deps.sh --images

# runc and cgroupfs: this machine has no systemd to manage cgroups; the ulimits stay within the
# machine's own hard limits, which podman's defaults exceed.
# podman schedules a HEALTHCHECK with systemd timers, and this machine runs no systemd: podman
# says so at every run and stop. The checks below run the HEALTHCHECK themselves instead
# (podman healthcheck run).
pod() {
    podman --runtime runc --cgroup-manager cgroupfs "$@" \
        2> >(grep -v 'unable to get systemd connection' >&2)
}
ulimits=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)

t0=$(date +%s)
step() { echo "== [$(($(date +%s) - t0))s] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- the base images --------------------------------------------------------------------------

# Trims a root the way Debian's -slim images are trimmed, and keeps later installs trimmed too.
slim_root() {
    local r=$1
    cat > "$r/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
    cat > "$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/lintian/*
    find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb
    rm -f "$r"/var/log/*.log "$r"/var/log/apt/* "$r/etc/resolv.conf"
}

# $cache/debian.tar: debootstrap minbase with the release's updates and security suites.
make_debian_tar() {
    [ -f "$cache/debian.tar" ] && return 0
    step "debootstrap $release (minbase) into $cache"
    local r=$cache/debian.root
    # A root that debootstrap finished is kept until its tarball is made (a failure after it).
    if [ ! -e "$r/.debootstrap-done" ]; then
        rm -rf "$r"
        debootstrap --variant=minbase "$release" "$r" "$mirror" > "$cache/debootstrap.log" 2>&1 \
            || { tail -20 "$cache/debootstrap.log" >&2; fail "debootstrap"; }
        touch "$r/.debootstrap-done"
    fi
    rm -f "$r/.debootstrap-done"
    rm -f "$r/etc/apt/sources.list"
    cat > "$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $release $release-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $release-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    slim_root "$r"
    tar --numeric-owner -C "$r" -cf "$cache/debian.tar.tmp" .
    mv "$cache/debian.tar.tmp" "$cache/debian.tar"
    rm -rf "$r"
}

# $cache/node.tar: the Debian root plus Debian's nodejs and npm (Node 20 in trixie) and the
# `node` user (uid 1000) that the official node images have.
make_node_tar() {
    [ -f "$cache/node.tar" ] && return 0
    step "node root: Debian's nodejs and npm on the $release root"
    local r=$cache/node.root
    rm -rf "$r" && mkdir -p "$r"
    tar -C "$r" -xf "$cache/debian.tar"
    cp /etc/resolv.conf "$r/etc/resolv.conf"
    mount -t proc proc "$r/proc"
    local rc=0
    chroot "$r" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null \
        && groupadd --gid 1000 node \
        && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
        && node --version && npm --version' || rc=$?
    umount "$r/proc"
    [ "$rc" = 0 ] || fail "installing nodejs and npm in the node root"
    slim_root "$r"
    tar --numeric-owner -C "$r" -cf "$cache/node.tar.tmp" .
    mv "$cache/node.tar.tmp" "$cache/node.tar"
    rm -rf "$r"
}

# Imports a root tarball under the name a FROM line uses, unless an image of that name exists.
import_base() {
    local tar=$1 name=$2 cmd=$3
    pod image exists "$name" && return 0
    step "podman import $tar as $name"
    pod import --quiet --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "CMD [\"$cmd\"]" "$tar" "$name" >/dev/null
}

mkdir -p "$cache"
make_debian_tar
make_node_tar
import_base "$cache/debian.tar" "$debian_image" bash
import_base "$cache/node.tar" "$node_image" node

# ---- build both recipes --------------------------------------------------------------------------

tmp=$(mktemp -d /tmp/roster-images.XXXXXX)
redis_pid=""
cleanup() {
    local c
    for c in $(podman ps -a --format '{{.Names}}' | grep "^$ctr-" || true); do
        pod rm -f "$c" >/dev/null 2>&1 || true
    done
    [ -z "$redis_pid" ] || kill "$redis_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# --format docker keeps HEALTHCHECK (the OCI image format has no field for it); --pull=never makes
# the FROM lines use the imported bases; the build's apt-get and npm ci use the host's network.
build_image() {
    local tag=$1 log=$2; shift 2
    local s
    s=$(date +%s)
    pod build --format docker --pull=never --network host "${ulimits[@]}" -t "$tag" "$@" \
        > "$log" 2>&1 || { tail -40 "$log" >&2; fail "podman build -t $tag $*"; }
    echo "   built $tag in $(($(date +%s) - s))s"
}
step "build the repository's Dockerfile (FROM debian:trixie-slim)"
build_image "$roster_tag" "$cache/build-roster.log" -f Dockerfile .
step "build deploy/node/Dockerfile with examples/node-app (FROM node:20-trixie-slim)"
# A host that reaches the npm registry through a TLS-inspecting proxy trusts that proxy's CA (in
# NODE_EXTRA_CA_CERTS or npm's cafile), and the build's npm ci must trust it too. It is mounted for
# the build's RUN steps only (podman build -v), so no layer of the image holds it.
ca_opts=()
host_ca=${NODE_EXTRA_CA_CERTS:-}
[ -n "$host_ca" ] || host_ca=$(npm config get cafile 2>/dev/null || true)
if [ -f "$host_ca" ]; then
    printf 'cafile=/run/host-ca.pem\n' > "$tmp/npmrc"
    chmod 644 "$tmp/npmrc"
    ca_opts=(-v "$host_ca:/run/host-ca.pem:ro" -v "$tmp/npmrc:/etc/npmrc:ro")
fi
build_image "$app_tag" "$cache/build-node-app.log" "${ca_opts[@]}" \
    --build-context roster="$root_dir" -f deploy/node/Dockerfile examples/node-app

size_mb() { echo $(( $(pod image inspect --format '{{.Size}}' "$1") / 1000000 )); }
sizes="$debian_image $(size_mb "$debian_image"), $node_image $(size_mb "$node_image")"
sizes="$sizes, roster $(size_mb "$roster_tag"), node app $(size_mb "$app_tag")"
step "image sizes (MB): $sizes"

# ---- helpers -------------------------------------------------------------------------------------

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND until it succeeds, or fails the test.
wait_until() {
    local limit=$1 what=$2; shift 2
    local end=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || fail "not within ${limit}s: $what"
        sleep 0.3
    done
}

logs_have() { pod logs "$1" 2>&1 | grep -q -- "$2"; }

# The run options every container gets: the host's network (loopback ports chosen here), limits.
run_opts=(--network host "${ulimits[@]}")

# pid1_is_roster CONTAINER UID: PID 1 is roster and runs as UID.
pid1_is_roster() {
    local comm uid
    comm=$(pod exec "$1" cat /proc/1/comm)
    uid=$(pod exec "$1" sh -c 'grep ^Uid: /proc/1/status' | awk '{print $2}')
    [ "$comm" = roster ] || fail "$1: PID 1 is '$comm', not roster"
    [ "$uid" = "$2" ] || fail "$1: PID 1 runs as uid $uid, not $2"
    echo "   PID 1 is roster, uid $uid"
}

# stop_in_order CONTAINER BOUND: SIGTERM (podman stop), exit status 0 within BOUND seconds.
stop_within() {
    local s e code
    s=$(date +%s%N)
    pod stop -t 60 "$1" >/dev/null
    e=$(( ($(date +%s%N) - s) / 1000000 ))
    code=$(pod inspect --format '{{.State.ExitCode}}' "$1")
    [ "$code" = 0 ] || { pod logs "$1" | tail -20 >&2; fail "$1: exit status $code after SIGTERM"; }
    [ "$e" -lt $(($2 * 1000)) ] || fail "$1: stopped in ${e}ms, over the ${2}s bound"
    echo "   SIGTERM: exit 0 in ${e}ms (bound ${2}s)"
}

# ---- the repository's image ----------------------------------------------------------------------

step "roster image: version, non-root user, HEALTHCHECK, tzdata"
pod run --rm "${run_opts[@]}" "$roster_tag" version
# a schedule's tz: needs the zone files (tzdata): Toronto's next 03:00 after noon UTC is 07:00Z
[ "$(pod run --rm "${run_opts[@]}" "$roster_tag" cron "0 3 * * *" --tz America/Toronto \
    --from 2026-07-01T12:00:00Z --count 1)" = 2026-07-02T03:00:00-04:00 ] \
    || fail "roster image: no tzdata (roster cron --tz America/Toronto)"
[ "$(pod run --rm "${run_opts[@]}" --entrypoint id "$roster_tag" -u)" = 10001 ] \
    || fail "roster image: the user is not 10001"
pod image inspect --format '{{json .Config.Healthcheck}}' "$roster_tag" | grep -q '"roster","health"' \
    || fail "roster image: no roster health HEALTHCHECK"

# ---- the Node app's image: every role ------------------------------------------------------------

step "node app: roster runs api and worker"
port=$(free_port); hport=$(free_port)
app=$ctr-app
pod run -d --name "$app" "${run_opts[@]}" -e PORT="$port" -e ROSTER_HEALTH_PORT="$hport" \
    -e WORKER_EVERY_MS=300 "$app_tag" >/dev/null
wait_until 120 "/readyz answers 200" curl -fsS "http://127.0.0.1:$hport/readyz"
curl -fsS "http://127.0.0.1:$port/health" | grep -qx ok || fail "the api's /health"
wait_until 60 "worker ticks" logs_have "$app" "worker tick 2"
pid1_is_roster "$app" 1000
pod image inspect --format '{{json .Config.Healthcheck}}' "$app_tag" | grep -q '"roster","health"' \
    || fail "node app image: no roster health HEALTHCHECK"
pod healthcheck run "$app" || fail "node app: the HEALTHCHECK (roster health) fails"
echo "   HEALTHCHECK roster health: healthy"
[ "$(pod exec "$app" roster cron "0 3 * * *" --tz America/Toronto --from 2026-07-01T12:00:00Z \
    --count 1)" = 2026-07-02T03:00:00-04:00 ] || fail "node app image: no tzdata (roster cron --tz)"

step "node app: an orphan is reaped by PID 1"
# sh starts a child and exits at once: the child's parent is gone, so the kernel gives it to the
# namespace's init, roster. If roster did not reap it, it would stay a zombie after it exits.
opid=$(pod exec "$app" sh -c 'sleep 2 >/dev/null 2>&1 & echo $!')
ppid=$(pod exec "$app" sh -c "grep ^PPid: /proc/$opid/status" | awk '{print $2}')
[ "$ppid" = 1 ] || fail "the orphan's parent is $ppid, not 1"
wait_until 30 "orphan $opid reaped" pod exec "$app" sh -c "test ! -e /proc/$opid"
echo "   orphan $opid reparented to PID 1 and reaped"

step "node app: SIGTERM stops worker, then api, exit 0"
stop_within "$app" 25
pod logs "$app" > "$tmp/app.log" 2>&1
# The roles' own lines: each handled SIGTERM itself, the worker while the api still ran.
w=$(grep -n '^worker *| worker stopping after' "$tmp/app.log" | head -1 | cut -d: -f1)
a=$(grep -n '^api *| api stopping' "$tmp/app.log" | head -1 | cut -d: -f1)
[ -n "$w" ] && [ -n "$a" ] || { tail -20 "$tmp/app.log" >&2; fail "no stop lines from both roles"; }
[ "$w" -lt "$a" ] || { tail -20 "$tmp/app.log" >&2; fail "the api stopped before the worker"; }
echo "   worker stopped (log line $w) before the api (line $a)"

# ---- roster --role worker as the run command -----------------------------------------------------

step "node app: roster --role worker as a run command replacing the ENTRYPOINT"
wk=$ctr-worker
pod run -d --name "$wk" "${run_opts[@]}" -e ROSTER_HEALTH_PORT="$(free_port)" -e WORKER_EVERY_MS=300 \
    --entrypoint '["roster","--role","worker"]' "$app_tag" >/dev/null
wait_until 60 "worker ticks alone" logs_have "$wk" "worker tick 2"
pid1_is_roster "$wk" 1000
! logs_have "$wk" "api listening" || fail "--role worker started the api too"
stop_within "$wk" 25

# ---- rediss:// against a TLS redis-server --------------------------------------------------------

step "rediss:// from the node app image to a TLS redis-server"
tls=$tmp/tls && mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/ca.key" -out "$tls/ca.crt" -days 2 \
    -subj /CN=roster-images-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$tls/server.key" -out "$tls/server.csr" \
    -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$tls/san.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -out "$tls/server.crt" -days 2 -extfile "$tls/san.ext" 2>/dev/null
chmod 644 "$tls"/*
rport=$(free_port)
redis-server --port 0 --bind 127.0.0.1 --tls-port "$rport" --tls-cert-file "$tls/server.crt" \
    --tls-key-file "$tls/server.key" --tls-ca-cert-file "$tls/ca.crt" --tls-auth-clients no \
    --requirepass images-test --save '' --appendonly no > "$tmp/redis.log" 2>&1 &
redis_pid=$!
wait_until 30 "TLS redis-server answers" sh -c \
    "redis-cli --tls --cacert $tls/ca.crt -p $rport -a images-test --no-auth-warning ping | grep -q PONG"
cat > "$tmp/tls.yaml" <<YAML
app: node-app
health: {listen: "127.0.0.1:$(free_port)"}
redis: {url: "rediss://:images-test@127.0.0.1:$rport"}
roles:
  worker: {command: node dist/worker.js, wait_for: [redis]}
YAML
chmod 644 "$tmp/tls.yaml"
# The CA goes where OpenSSL looks it up by subject hash, as c_rehash would link it.
hash=$(openssl x509 -hash -noout -in "$tls/ca.crt")
tlsc=$ctr-tls
pod run -d --name "$tlsc" "${run_opts[@]}" -v "$tmp/tls.yaml:/app/tls.yaml:ro" \
    -v "$tls/ca.crt:/etc/ssl/certs/$hash.0:ro" "$app_tag" -c /app/tls.yaml >/dev/null
wait_until 60 "the worker starts once Redis answers over TLS" logs_have "$tlsc" "^worker *| worker started"
stop_within "$tlsc" 25
# The same without the CA: the server's certificate is not trusted, so the worker never starts.
untrusted=$ctr-untrusted
pod run -d --name "$untrusted" "${run_opts[@]}" -v "$tmp/tls.yaml:/app/tls.yaml:ro" \
    "$app_tag" -c /app/tls.yaml >/dev/null
wait_until 60 "a TLS error without the CA" logs_have "$untrusted" "redis: .*TLS: .*certificate"
! logs_have "$untrusted" "worker started" || fail "rediss:// trusted an unknown CA"
echo "   with the CA: the worker started; without it: $(pod logs "$untrusted" 2>&1 | grep -m1 'TLS: ')"

step "all image checks passed"
