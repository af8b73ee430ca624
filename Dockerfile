# The server as a small image: it speaks MCP over stdio, so run it with `docker run -i --rm`.
#   docker build -t healthomics-ecr-mcp .
#   docker run -i --rm -e AWS_REGION=us-east-1 -v ~/.aws:/home/mcp/.aws:ro -e AWS_PROFILE=your-profile healthomics-ecr-mcp

# Build stage: the same release build the README documents, with the toolchain Cargo.toml asks for.
FROM rust:1.94.1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked

# Final stage: the binary, CA certificates for HTTPS to AWS and registries, and an unprivileged user.
FROM debian:bookworm-slim
LABEL io.modelcontextprotocol.server.name="io.github.healthomics-ecr-mcp/healthomics-ecr-mcp"
LABEL org.opencontainers.image.source="https://github.com/healthomics-ecr-mcp/healthomics-ecr-mcp"
LABEL org.opencontainers.image.licenses="Apache-2.0"
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin mcp
COPY --from=build /src/target/release/healthomics-ecr-mcp /usr/local/bin/healthomics-ecr-mcp
USER mcp
WORKDIR /home/mcp
# Logs go to stderr; stdout carries only MCP messages.
ENV FASTMCP_LOG_LEVEL=WARNING
ENTRYPOINT ["/usr/local/bin/healthomics-ecr-mcp"]
