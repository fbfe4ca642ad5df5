# Plein's container image: non-root, runs with a read-only root file system; data (SQLite file and media)
# in the /data volume, configuration in /etc/plein/plein.toml (mounted read-only) and PLEIN_* variables.
#   docker build -t plein .
#   docker run --read-only --tmpfs /tmp -v plein-data:/data -v ./plein.toml:/etc/plein/plein.toml:ro \
#       -p 127.0.0.1:8000:8000 plein
# `BASE` may name a local copy of Debian 12 where no registry is reachable. Behind a TLS-inspecting proxy (common
# on government networks) pass its CA bundle for the build's downloads: `--secret id=build_ca,src=BUNDLE.pem`.
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN --mount=type=secret,id=build_ca \
    if [ -s /run/secrets/build_ca ]; then export PIP_CERT=/run/secrets/build_ca; fi \
 && python3 -m venv /opt/plein \
 && /opt/plein/bin/pip install --no-cache-dir /src \
 && find /opt/plein -name '__pycache__' -prune -exec rm -rf {} +

FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin plein \
 && install -d -o plein -g plein -m 0750 /data \
 && install -d -m 0755 /etc/plein
COPY --from=build /opt/plein /opt/plein
ENV PATH=/opt/plein/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PLEIN_CONFIG=/etc/plein/plein.toml \
    PLEIN_SERVER__DATA_DIR=/data \
    PLEIN_SERVER__LISTEN_HOST=0.0.0.0 \
    PLEIN_SERVER__LISTEN_PORT=8000
USER plein:plein
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
ENTRYPOINT ["plein"]
CMD ["serve"]
