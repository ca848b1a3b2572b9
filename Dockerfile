# syntax=docker/dockerfile:1
#
# The adapter image. Each deployment builds only the backends it uses:
#   docker build --build-arg FEATURES=rabbitmq,k8s -t hyperfleet-adapter:rabbitmq-k8s .
# FEATURES is any comma-separated set of: rabbitmq, pubsub, k8s, maestro, otlp-grpc (default: all).
# VERSION, COMMIT and BUILD_DATE feed `adapter version` and hyperfleet_adapter_build_info.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
ARG FEATURES=rabbitmq,pubsub,k8s,maestro,otlp-grpc
# Empty VERSION: the package version in Cargo.toml.
ARG VERSION=
ARG COMMIT=none
ARG BUILD_DATE=unknown
WORKDIR /src
COPY . .
# The exact command CI runs for each backend set (scripts/sizes): the release profile in
# Cargo.toml (LTO, one codegen unit, panic=abort, stripped).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    ADAPTER_VERSION="${VERSION}" ADAPTER_COMMIT="${COMMIT}" ADAPTER_BUILD_DATE="${BUILD_DATE}" \
    cargo build --release --locked --no-default-features --features "${FEATURES}" --bin adapter \
    && install -D -m 0755 target/release/adapter /out/adapter

# glibc, CA certificates and a non-root user (65532), nothing else.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=
LABEL org.opencontainers.image.title="hyperfleet-adapter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/adapter /app/adapter
# No transparent huge pages for the allocator's arenas: on a host with THP "always" every touched
# 2 MiB of heap would be resident (idle RSS 34 MiB instead of 23; docs/performance.md).
ENV MIMALLOC_ALLOW_THP=0
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/app/adapter"]
CMD ["serve"]
