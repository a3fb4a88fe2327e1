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

# helm (Helm 3), which the controller runs as `helm template` to find the values key behind a
# chart's container resources: built from its Go module as tests/tools/helm.sh builds the one
# the tests use (same version, same stamping of `helm version`), static (CGO off).
FROM docker.io/library/golang:1.26-bookworm AS helm
ARG HELM_VERSION=v3.21.4
RUN --mount=type=cache,target=/root/go/pkg/mod \
    CGO_ENABLED=0 GOBIN=/out go install -trimpath -buildvcs=false \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
      helm.sh/helm/v3/cmd/helm@${HELM_VERSION} \
 && /out/helm version --short | grep -qx "${HELM_VERSION}"

# Runtime: the shared libraries the binary links (libssl3, zlib), CA certificates for the
# forges and Prometheus, and helm; nothing else: no shell tools beyond Debian's base, no
# package cache.
# The controller runs git through libgit2, so no git binary is needed.
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nonroot
COPY --from=build /out/attune /usr/local/bin/attune
COPY --from=helm /out/helm /usr/local/bin/helm
# The chart mounts writable emptyDirs here and at /tmp; the root filesystem stays read-only.
ENV ATTUNE_CACHE_DIR=/var/cache/attune
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/attune"]
CMD ["controller"]
