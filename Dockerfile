# Build: docker build -t keel .
# Run:   docker run -v keel-data:/var/lib/keel -e KEEL_... keel run
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs slack-app-manifest.yml ./
COPY src ./src
COPY migrations ./migrations
COPY assets ./assets
COPY benches ./benches
COPY vendor ./vendor
RUN cargo build --release --locked --bin keel

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/keel --create-home keel
COPY --from=build /src/target/release/keel /usr/local/bin/keel
COPY config.example.toml /etc/keel/config.example.toml
USER keel
WORKDIR /var/lib/keel
# The database (one SQLite file with its -wal and -shm) lives on this volume.
VOLUME ["/var/lib/keel"]
ENV KEEL_DATABASE__URL=sqlite:///var/lib/keel/keel.db
ENTRYPOINT ["keel"]
CMD ["run"]
