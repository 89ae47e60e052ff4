#!/bin/sh
# Builds the portable Linux x64 roster: dist/roster-<version>-linux-x64.tar.gz, which unpacks to
# roster-linux-x64/bin/roster and roster-linux-x64/lib/*.so.*, and runs on any glibc >= 2.31
# (Debian 11, Ubuntu 20.04 and 22.04, the Node images).
#   scripts/package.sh           the tarball
#   scripts/package.sh --npm     the tarball, and the npm packages made from it with `npm pack`:
#                                dist/roster-runner-<version>.tgz (the launcher) and
#                                dist/roster-runner-linux-x64-<version>.tgz (binary and lib/)
#
# A binary runs on the glibc it was linked against or a newer one, so roster is built inside a
# Debian 11 (bullseye, glibc 2.31) root made with debootstrap from the Debian mirror; the root is
# kept in ROSTER_PACKAGE_CACHE (default /var/cache/roster-package) so later runs take a minute.
# Every library roster needs that is not glibc itself is shipped in lib/ (the binary's RUNPATH is
# $ORIGIN/../lib, each library's is $ORIGIN, so their own dependencies are found there too),
# including the ones roster loads itself with dlopen (libpq, libcurl, libmicrohttpd: dlopen
# searches the RUNPATH of the calling object, which is the executable). The build fails if the
# binary or any shipped library needs a GLIBC symbol version newer than 2.31.
#
# hiredis: Debian 11 ships 0.14, which has no TLS; the root builds hiredis 1.2.0 (with TLS) from
# the source Debian 13 ships, checked against its sha256, so the package speaks rediss://.
#
# Needs root (debootstrap, chroot, mount) and the network to deb.debian.org on the first run.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)

npm=0
for arg in "$@"; do
    case "$arg" in
    --npm) npm=1 ;;
    *) echo "package.sh: unknown option '$arg' (expected --npm)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "package.sh: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
[ "$(uname -m)" = x86_64 ] || { echo "package.sh: builds linux-x64 on an x86_64 host only" >&2; exit 2; }

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${ROSTER_PACKAGE_CACHE:-/var/cache/roster-package}
root=$cache/bullseye-build
max_glibc=2.31
version=$(sed -n 's/^project(roster VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "package.sh: no version in CMakeLists.txt" >&2; exit 1; }
hiredis_tar=hiredis_1.2.0.orig.tar.gz
hiredis_sha=82ad632d31ee05da13b537c124f819eb88e18851d9cb0c30ae0552084811588c
# A root made by an older version of this list is rebuilt: the marker names the list.
build_pkgs="build-essential cmake pkg-config libuv1-dev libpq-dev libmicrohttpd-dev libyaml-dev
libcurl4-openssl-dev libcjson-dev libssl-dev patchelf binutils curl ca-certificates"
marker=".roster-package-$(printf '%s %s' "$build_pkgs" "$hiredis_sha" | md5sum | cut -c1-12)"

command -v debootstrap >/dev/null 2>&1 || {
    echo "package.sh: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# Mounts made by this run, unmounted on any exit; a root is never deleted while one is in it
# (rm --one-file-system), so a failed unmount cannot take the host's /dev with it.
mounts=""
cleanup() {
    for m in $mounts; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mount_proc() {
    mkdir -p "$1/proc" "$1/dev"
    mount -t proc proc "$1/proc" && mounts="$1/proc $mounts"
    mount --bind /dev "$1/dev" && mounts="$1/dev $mounts"
}
in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

if [ ! -e "$root/$marker" ]; then
    echo "package.sh: making the Debian 11 build root in $root (minutes, once)" >&2
    mkdir -p "$cache/debs"
    if [ -d "$root" ]; then rm -rf --one-file-system "$root"; fi
    rm -rf --one-file-system "$root.tmp"
    debootstrap --variant=minbase --cache-dir="$cache/debs" \
        --include="$(echo $build_pkgs | tr ' ' ',')" bullseye "$root.tmp" "$mirror" >&2
    mv "$root.tmp" "$root"
    mount_proc "$root"
    if [ ! -f "$cache/$hiredis_tar" ]; then
        curl -fsS -o "$cache/$hiredis_tar.part" "$mirror/pool/main/h/hiredis/$hiredis_tar"
        mv "$cache/$hiredis_tar.part" "$cache/$hiredis_tar"
    fi
    echo "$hiredis_sha  $cache/$hiredis_tar" | sha256sum -c --quiet - ||
        { echo "package.sh: $hiredis_tar does not match its sha256" >&2; exit 1; }
    rm -rf "$root/opt/hiredis-src" && mkdir -p "$root/opt/hiredis-src"
    tar -xzf "$cache/$hiredis_tar" -C "$root/opt/hiredis-src" --strip-components=1
    in_root sh -c 'cd /opt/hiredis-src && make -s USE_SSL=1 PREFIX=/usr/local -j2 >/dev/null &&
        make -s USE_SSL=1 PREFIX=/usr/local install >/dev/null && rm -f /usr/local/lib/libhiredis*.a &&
        ldconfig'
    touch "$root/$marker"
else
    mount_proc "$root"
fi

# The tree as it is in the working directory (committed or not), without build output.
rm -rf --one-file-system "$root/build/roster"
mkdir -p "$root/build/roster"
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./dist --exclude=./.demo \
    --exclude=./npm/node_modules -cf - . | tar -C "$root/build/roster" -xf -
in_root sh -c 'cd /build/roster &&
    cmake -S . -B out -DCMAKE_BUILD_TYPE=Release -DROSTER_TESTS=OFF >/dev/null &&
    cmake --build out -j2 >/dev/null' >&2

# The shipped tree: the binary, and every library it or the libraries it dlopens load, named by
# soname (no symlinks: npm pack drops them), except glibc's own, which the target system has.
stage=/build/stage/roster-linux-x64
rm -rf --one-file-system "$root/build/stage"
in_root sh -s "$stage" <<'EOF'
set -eu
stage=$1
mkdir -p "$stage/bin" "$stage/lib"
cp /build/roster/out/roster "$stage/bin/roster"
strip --strip-unneeded "$stage/bin/roster"
deps() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'; }
{
    deps "$stage/bin/roster"
    for so in $(strings -a "$stage/bin/roster" | grep -xE 'lib[A-Za-z0-9_+.-]+\.so\.[0-9]+' | sort -u); do
        path=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
        [ -n "$path" ] || { echo "package.sh: roster names $so, which the build root lacks" >&2; exit 1; }
        echo "$so $path"
        deps "$path"
    done
} | sort -u | while read -r so path; do
    case "$so" in
    ld-linux*|libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|\
    libutil.so.*|libanl.so.*|libnsl.so.1|libnss_*|libmvec.so.*|libBrokenLocale.so.*) continue ;;
    esac
    cp -L "$path" "$stage/lib/$so"
    chmod 0644 "$stage/lib/$so"
    patchelf --set-rpath '$ORIGIN' "$stage/lib/$so"
done
patchelf --set-rpath '$ORIGIN/../lib' "$stage/bin/roster"

# The newest glibc symbol version anything shipped needs; more than 2.31 would not load on Debian 11.
worst=0
for f in "$stage/bin/roster" "$stage"/lib/*; do
    v=$(objdump -T "$f" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
    printf '%-28s GLIBC_%s\n' "${f#$stage/}" "$v" >&2
    worst=$(printf '%s\n%s\n' "$worst" "$v" | sort -V | tail -n 1)
done
echo "$worst" > /build/stage/glibc
EOF
worst=$(cat "$root/build/stage/glibc")
if [ "$(printf '%s\n%s\n' "$worst" "$max_glibc" | sort -V | tail -n 1)" != "$max_glibc" ]; then
    echo "package.sh: needs GLIBC_$worst, more than $max_glibc" >&2
    exit 1
fi
echo "package.sh: highest glibc symbol version needed: GLIBC_$worst (limit $max_glibc)" >&2

mkdir -p dist
out=dist/roster-$version-linux-x64.tar.gz
tar -C "$root/build/stage" --owner=0 --group=0 --numeric-owner -czf "$out.part" roster-linux-x64
mv "$out.part" "$out"
echo "$out"

[ "$npm" = 1 ] || exit 0
command -v npm >/dev/null 2>&1 || { echo "package.sh: --npm needs npm" >&2; exit 2; }
# The npm packages: npm/ holds their sources; the version is roster's, the binary the tarball's.
npmstage=$(mktemp -d)
trap 'cleanup; rm -rf "$npmstage"' EXIT
cp -R npm/roster-runner npm/roster-runner-linux-x64 "$npmstage/"
cp -R "$root/build/stage/roster-linux-x64/bin" "$root/build/stage/roster-linux-x64/lib" \
    "$npmstage/roster-runner-linux-x64/"
for p in roster-runner roster-runner-linux-x64; do
    sed -i "s/@VERSION@/$version/g" "$npmstage/$p/package.json"
    (cd "$npmstage/$p" && npm pack --silent --pack-destination "$src/dist" >/dev/null)
    echo "dist/$p-$version.tgz"
done
