# syntax=docker/dockerfile:1
# Sharelock's container image: the web app built by Node, the binary built by Rust with the web app
# embedded, and a small runtime image that runs `sharelock serve` as an unprivileged user, its data (the
# SQLite database, local blobs and the pre-login key) on a volume. See docs/deploy.md, "Container image".
#
#   docker build -t sharelock .
#   docker run -d -p 127.0.0.1:8080:8080 -v sharelock-data:/data \
#       -e SHARELOCK_PUBLIC_URL=https://share.example.org sharelock

# --- 1. the web app (web/ → static files) -----------------------------------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npx --no-install tsc --noEmit \
    && npx --no-install vite build --logLevel warn --outDir /web-dist --emptyOutDir

# --- 2. the binary -----------------------------------------------------------------------------------
# The workspace's rust-version; `--locked` builds exactly the versions of Cargo.lock.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=web /web-dist /web-dist
# Embed the app built above instead of running npm again (crates/sharelock-web/build.rs).
ENV SHARELOCK_WEB_DIST=/web-dist
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sharelock \
    && install -m 0755 target/release/sharelock /usr/local/bin/sharelock

# --- 3. the runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# CA certificates for PostgreSQL and S3 over TLS; curl for the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin sharelock \
    && install -d -o sharelock -g sharelock -m 0700 /data
COPY --from=build /usr/local/bin/sharelock /usr/local/bin/sharelock
USER sharelock:sharelock
WORKDIR /data
# Inside the container the server listens on every interface; publish the port on the host's loopback
# (or a private network) behind the TLS proxy, never directly on the internet.
ENV SHARELOCK_LISTEN=0.0.0.0:8080 \
    SHARELOCK_DATA_DIR=/data \
    SHARELOCK_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
# Ready: the process runs and its database answers.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]
# SIGTERM: requests in flight get up to 30 s (give `docker stop` a longer timeout, e.g. `-t 45`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["sharelock"]
CMD ["serve"]
