# roster's image: the roster binary, the shared libraries it loads and config/, on Debian.
#
#   docker build -t roster .
#   docker run --rm -e DATABASE_URL=... -e REDIS_URL=... -p 8080:8080 -p 9090:9090 roster
#   docker run --rm -e ... roster --role worker      # one role per container: arguments go to
#   docker run --rm -e ... roster check              # the ENTRYPOINT, which is roster
#
# Your app's own code and runtime go on top of this image (FROM roster, install your runtime, COPY
# your app next to config/): see deploy/README.md.
#
# Why Debian 13 (trixie): roster talks to Redis with hiredis, and only hiredis 1.x built with TLS
# (libhiredis_ssl) can open rediss:// connections. DigitalOcean's managed Redis/Valkey accepts TLS
# connections only. Debian 13 ships hiredis 1.x with TLS; Debian 12 (bookworm) ships hiredis 0.14
# without TLS, so a bookworm image runs fine against a plain redis:// server but refuses rediss://
# with a clear error at startup. `--build-arg DEBIAN_RELEASE=bookworm` still builds, for that case.
ARG DEBIAN_RELEASE=trixie

# ---- build: the same two scripts CI runs (scripts/test.sh), on a clean Debian -----------------
FROM debian:${DEBIAN_RELEASE}-slim AS build
WORKDIR /src
# .dockerignore keeps the host's build directories and .git out of the context.
COPY . .
# install-deps.sh (no options) installs the build dependencies only: no python3, so the end-to-end
# tests are not registered (tests/CMakeLists.txt skips them) and only the unit tests get built.
RUN sh scripts/install-deps.sh \
 && sh scripts/build.sh \
 && build/roster version \
 && sh scripts/runtime-deps.sh build/roster > /runtime-packages.txt \
 && echo "runtime packages:" && cat /runtime-packages.txt

# ---- runtime: the binary, its libraries (found from the binary itself) and config/ ------------
FROM debian:${DEBIAN_RELEASE}-slim
COPY --from=build /runtime-packages.txt /tmp/runtime-packages.txt
# The package names come from scripts/runtime-deps.sh, so they are right on Debian 12 and 13 alike
# (libhiredis0.14 vs libhiredis1.1.0, libuv1 vs libuv1t64, ...). ca-certificates: rediss:// and
# sslmode=require/verify-full Postgres, and https:// probes. tzdata: a schedule's tz: (America/
# Toronto...) is read from /usr/share/zoneinfo, which -slim images lack. The user is non-root,
# with a fixed id so that volumes and Kubernetes securityContext can name it.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates tzdata $(cat /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --system --gid 10001 roster \
 && useradd --system --uid 10001 --gid roster --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin roster
COPY --from=build /src/build/roster /usr/local/bin/roster
# The default config lookup (-c, $ROSTER_CONFIG, ./roster.yaml, ./config/roster.yaml) finds
# /app/config/roster.yaml from this working directory.
WORKDIR /app
COPY --from=build /src/config/ /app/config/
USER roster
# 8080: the api role's PORT (config/roster.yaml's default); 9090: roster's health server.
EXPOSE 8080 9090
# roster is PID 1 itself (no tini needed): it reaps every orphan, and on SIGTERM stops the roles in
# reverse dependency order, each in its own process group, within shutdown_timeout (25s by default).
STOPSIGNAL SIGTERM
# /livez on the config's health.listen (or $ROSTER_HEALTH_PORT, else 9090): 200 while the loop turns.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["roster","health"]
ENTRYPOINT ["roster"]
