# Lectern: one image, every service (`lectern serve auth|courses|grading`).
# Build stage: compiles with SQLite and libpq bundled, so the runtime needs only libc.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin lectern && strip target/release/lectern

# Runtime stage: small, non-root.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 lectern && install -d -o lectern -m 700 /var/lib/lectern
COPY --from=build /src/target/release/lectern /usr/local/bin/lectern
USER lectern
ENV LECTERN_ADDR=0.0.0.0:8080 LECTERN_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/lectern"]
CMD ["serve", "all"]
