# Rollcall in a container: a release build, then a small non-root image
# whose database lives on the /data volume.
#
#   docker build -t rollcall .
#   docker run -p 8080:8080 -v rollcall-data:/data rollcall
#
# Secrets come from files (Docker/Kubernetes secrets), through the *_FILE
# variants: ROLLCALL_DATABASE_URL_FILE, ROLLCALL_METRICS_TOKEN_FILE, and the
# config's client_secret_file / password_file (docs/operations.md).

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin rollcall \
 && strip target/release/rollcall

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home rollcall \
 && mkdir /data && chown rollcall:rollcall /data
COPY --from=build /src/target/release/rollcall /usr/local/bin/rollcall
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
ENV ROLLCALL_DATABASE_URL=sqlite:///data/rollcall.db \
    ROLLCALL_LISTEN=0.0.0.0:8080 \
    ROLLCALL_LOG_FORMAT=json
EXPOSE 8080
# SIGTERM drains (readyz 503, grace, in-flight requests finish): give
# `docker stop` more than shutdown_grace_seconds + request_timeout_seconds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/rollcall"]
CMD ["serve"]
