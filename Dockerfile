# The controller image: `docker build -t attune .` (or the release workflow,
# .github/workflows/release.yaml). tests/tools/image.sh builds the same runtime offline.
# Build stage: the release binary. Debian bookworm in both stages, so the binary's glibc and
# OpenSSL (git2's https transport links libssl) are the runtime's.
FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY templates templates
COPY benches benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin attune \
 && install -D -m 0755 target/release/attune /out/attune

# Runtime: the shared libraries the binary links (libssl3, zlib), CA certificates for the
# forges and Prometheus, nothing else: no shell tools beyond Debian's base, no package cache.
# The controller runs git through libgit2, so no git binary is needed.
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nonroot
COPY --from=build /out/attune /usr/local/bin/attune
# The chart mounts writable emptyDirs here and at /tmp; the root filesystem stays read-only.
ENV ATTUNE_CACHE_DIR=/var/cache/attune
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/attune"]
CMD ["controller"]
