# syntax=docker/dockerfile:1
# Multi-stage build of the adapter. FEATURES selects the backends compiled in (see features.md);
# VERSION, COMMIT and BUILD_DATE feed `adapter version`.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
ARG FEATURES=""
ARG VERSION=0.0.0-dev
ARG COMMIT=none
ARG BUILD_DATE=unknown
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY proto ./proto
ENV ADAPTER_VERSION=${VERSION} ADAPTER_COMMIT=${COMMIT} ADAPTER_BUILD_DATE=${BUILD_DATE}
RUN cargo build --release --locked --no-default-features --features "${FEATURES}" --bin adapter \
 && cp target/release/adapter /adapter

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /adapter /app/adapter
USER 65532:65532
ENTRYPOINT ["/app/adapter"]
CMD ["serve"]
