#!/bin/sh
# Prints the Debian packages that hold the shared libraries a binary loads, one per line, sorted.
#   scripts/runtime-deps.sh [BINARY]        BINARY defaults to build/roster
#
# The Dockerfile's build stage runs it on the roster it just built and the runtime stage installs
# what it prints, so the runtime package list is read from the binary instead of written by hand:
# Debian 12 and 13 name these packages differently (libhiredis0.14 vs libhiredis1.1.0, the
# 64-bit time_t renames such as libuv1 vs libuv1t64, libcurl4 vs libcurl4t64), and a list written
# for one release does not install on the other.
#
# ldd lists every library the dynamic loader maps (direct and indirect); dpkg -S names the package
# that ships each file. Merged /usr means the loader may report /lib/... for a file that dpkg
# recorded as /usr/lib/... (or the other way round), and a soname link may be recorded only under
# its target, so each library is looked up under those spellings too. A library that no package
# ships (a copy in /usr/local, say) is an error: the runtime stage could not install it.
set -eu

bin=${1:-build/roster}
if [ ! -f "$bin" ]; then
    echo "runtime-deps.sh: no such file: $bin (build it first: sh scripts/build.sh)" >&2
    exit 2
fi
command -v ldd >/dev/null 2>&1 || { echo "runtime-deps.sh: ldd not found" >&2; exit 2; }
command -v dpkg >/dev/null 2>&1 || { echo "runtime-deps.sh: dpkg not found (Debian only)" >&2; exit 2; }

# ldd lines: "libuv.so.1 => /lib/x86_64-linux-gnu/libuv.so.1 (0x...)", "/lib64/ld-linux-x86-64.so.2
# (0x...)", "linux-vdso.so.1 (0x...)" (in the kernel, no file), "libfoo.so.1 => not found".
out=$(ldd "$bin") || { echo "runtime-deps.sh: ldd $bin failed" >&2; exit 1; }
missing=$(printf '%s\n' "$out" | awk '/=> not found/ {print $1}')
if [ -n "$missing" ]; then
    echo "runtime-deps.sh: libraries not found by the loader:" $missing >&2
    exit 1
fi
libs=$(printf '%s\n' "$out" | awk '
    $2 == "=>" && $3 ~ /^\// {print $3; next}
    $1 ~ /^\// {print $1}')

# roster loads libpq, libcurl and libmicrohttpd itself when its config needs them
# (src/os/lazylib.c), so ldd does not see them: their sonames are strings in the binary. Resolve
# every soname the binary names with the loader's cache, and take each one's own dependencies too.
command -v strings >/dev/null 2>&1 || { echo "runtime-deps.sh: strings not found (binutils)" >&2; exit 2; }
for so in $(strings -a "$bin" | grep -xE 'lib[A-Za-z0-9_+.-]+\.so\.[0-9]+' | sort -u); do
    path=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
    if [ -z "$path" ]; then
        echo "runtime-deps.sh: $bin names $so, which is not installed" >&2
        exit 1
    fi
    more=$(ldd "$path" | awk '
        $2 == "=>" && $3 ~ /^\// {print $3; next}
        $1 ~ /^\// {print $1}')
    libs="$libs
$path
$more"
done
if [ -z "$libs" ]; then
    echo "runtime-deps.sh: $bin loads no shared libraries (static?)" >&2
    exit 1
fi

# The package(s) shipping any of the paths given, or nothing. dpkg -S prints
# "pkg[:arch][, pkg2]: path" for each path it knows (and "diversion by ..." lines, which name no
# owner); it complains on stderr about the others.
owners() {
    dpkg -S "$@" 2>/dev/null | awk '
        /^diversion / {next}
        {
            i = index($0, ": /")
            if (i == 0) next
            n = split(substr($0, 1, i - 1), pk, ", ")
            for (j = 1; j <= n; j++) { sub(/:.*/, "", pk[j]); print pk[j] }
        }' | sort -u
}

# Spellings of a path under merged /usr: as given, and with /usr added or removed.
spellings() {
    printf '%s\n' "$1"
    case "$1" in
    /usr/*) printf '%s\n' "${1#/usr}" ;;
    *) printf '/usr%s\n' "$1" ;;
    esac
}

pkgs=""
for lib in $libs; do
    real=$(readlink -f "$lib" 2>/dev/null || printf '%s' "$lib")
    # shellcheck disable=SC2046
    found=$(owners $(spellings "$lib") $(spellings "$real"))
    if [ -z "$found" ]; then
        echo "runtime-deps.sh: no Debian package ships $lib ($real)" >&2
        exit 1
    fi
    pkgs="$pkgs $found"
done
printf '%s\n' $pkgs | sort -u
