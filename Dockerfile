# syntax=docker/dockerfile:1
#
# floodlight's container image. Needs BuildKit (docker buildx, podman/buildah):
#
#   docker buildx build -t ghcr.io/floodlight-sec/floodlight:0.1.0 .
#   docker buildx build --target debug-symbols --output type=local,dest=debug .
#                      # -> debug/floodlight.debug, the split debug info
#
# Stages: `builder` compiles the `dist` profile (thin LTO) and splits the debug
# info off; `debug-symbols` holds only that file, to export or push beside the
# image; `runtime` (the default, last stage) is Debian bookworm-slim with the
# stripped binary, OpenSSL (rdkafka links the system's libssl), the CA bundle,
# the rule pack and an example config. It runs as 65532:65532 and works with a
# read-only root filesystem: the only writable paths it needs are
# /var/lib/floodlight and /tmp, mounted as volumes.
#
# Why bookworm-slim and not a distroless image: overlays/single seeds the
# overlay onto its volume with /bin/sh and cp from this same image, and the
# preStop hook runs /bin/sleep; bookworm-slim also matches the builder's
# glibc and OpenSSL 3.0 exactly.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
# What rdkafka needs to build librdkafka from source (features libz, ssl,
# zstd; no cmake: the cmake-build feature is off) and binutils for objcopy.
# The rust image (buildpack-deps) has most of them already; naming them keeps
# the build working if that changes.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        binutils g++ libssl-dev make pkg-config zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Debug info in the binary before it is split off: the dist profile inherits
# release's line tables (file and line in backtraces after symbolization).
# `--build-arg DEBUG_INFO=full` for variables and types as well (a much
# larger debug file, a longer link).
ARG DEBUG_INFO=line-tables-only
ENV CARGO_PROFILE_DIST_DEBUG=${DEBUG_INFO}
# The registry and target directories are BuildKit caches: a rebuild after a
# source change recompiles floodlight's crates, not every dependency. The
# binary is copied out of the cache within the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --profile dist --bin floodlight \
    && mkdir -p /out \
    && cp target/dist/floodlight /out/floodlight
# Split the debug info off: floodlight.debug keeps it; the binary keeps its
# symbol table (function names in panics and backtraces, a few MB) but no
# DWARF, and a .gnu_debuglink naming floodlight.debug (with its CRC) so gdb,
# perf and addr2line find the file when it is placed beside the binary or
# under /usr/lib/debug. The GNU build ID is in both.
WORKDIR /out
RUN objcopy --only-keep-debug floodlight floodlight.debug \
    && objcopy --strip-debug floodlight \
    && objcopy --add-gnu-debuglink=floodlight.debug floodlight \
    && chmod 0644 floodlight.debug

FROM scratch AS debug-symbols
COPY --from=builder /out/floodlight.debug /floodlight.debug

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="floodlight" \
      org.opencontainers.image.description="Streaming pipeline that turns firewall, DNS, OAuth and email logs into shadow-IT findings" \
      org.opencontainers.image.source="https://github.com/floodlight-sec/floodlight" \
      org.opencontainers.image.url="https://github.com/floodlight-sec/floodlight" \
      org.opencontainers.image.documentation="https://github.com/floodlight-sec/floodlight/blob/main/deploy/kubernetes/README.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="floodlight" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
# libssl3: rdkafka links the system's OpenSSL; ca-certificates: TLS to Kafka,
# PostgreSQL, the object store, webhooks. Not pinned to exact versions:
# Debian's security updates replace them in the archive (a pin would stop the
# build working); rebuild the image to take them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 floodlight \
    && useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/floodlight \
        --no-create-home --shell /usr/sbin/nologin floodlight \
    && mkdir -p /var/lib/floodlight \
    && chown 65532:65532 /var/lib/floodlight
COPY --from=builder /out/floodlight /usr/local/bin/floodlight
# The rule pack (also compiled into the binary): [rules] dirs can name it
# beside the organisation's own rules, and `floodlight rules test
# /usr/share/floodlight/queries` runs its fixtures in the container.
COPY queries /usr/share/floodlight/queries
COPY deploy/image/floodlight.toml /etc/floodlight/floodlight.toml
# JSON logs for log collectors; `docker run -e FLOODLIGHT_LOG_FORMAT=...` to change.
ENV FLOODLIGHT_LOG_FORMAT=json \
    FLOODLIGHT_LOG=info
USER 65532:65532
WORKDIR /var/lib/floodlight
VOLUME ["/var/lib/floodlight"]
# 8080: analyst API and console ([server] listen). 9598: admin listener
# (/healthz, /readyz, /metrics; no authentication: never publish it).
EXPOSE 8080 9598
# SIGTERM (the default stop signal) drains and exits 0 within
# [runtime] drain_timeout: give `docker stop` a longer --time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/floodlight"]
CMD ["run", "--config", "/etc/floodlight/floodlight.toml", "--no-table", "--serve"]
