# syntax=docker/dockerfile:1
# 12345 hotline ACD. Build:  docker build -t hotline-acd .
# Run (SIP and RTP need the host's network; see docs/configuration.md, "Docker"):
#   docker run --network host -v /etc/acd/config.yaml:/etc/acd/config.yaml:ro \
#       -v acd-data:/var/lib/acd hotline-acd

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
# Wheels for the project and every dependency; the runtime stage installs only these.
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# tzdata: zoneinfo needs it for the `timezone` setting (Asia/Shanghai).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels hotline-acd

# PostgreSQL (the embedded pgserver) refuses to run as root; so does this service.
RUN groupadd --system --gid 10001 acd \
    && useradd --system --uid 10001 --gid acd --home-dir /var/lib/acd --shell /usr/sbin/nologin acd \
    && mkdir -p /var/lib/acd /etc/acd \
    && chown acd:acd /var/lib/acd
# The example configuration (loopback, demo agents): mount your own over it.
COPY --chown=root:root --chmod=0644 config/example.yaml /etc/acd/config.yaml

USER acd
# Relative paths in the configuration (database.data_dir ./var/pg, spool_dir ./var/spool)
# resolve here, in the data volume.
WORKDIR /var/lib/acd
VOLUME ["/var/lib/acd"]

EXPOSE 5060/udp 5060/tcp 8080/tcp
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["acd", "serve", "--config", "/etc/acd/config.yaml"]
