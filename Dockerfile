# syntax=docker/dockerfile:1
# The image the Helm chart (helm/saas-crm) runs: the core and every plugin in plugins/, as a
# non-root user, `saas serve` by default. The chart gives each process its command (serve,
# worker, scheduler, migrate) and its settings through the environment.
#
#   docker build -t saas-crm:0.1.0 .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=... -e REDIS_URL=... -e SECRET_KEY=... \
#     -e SAAS_APP_ROLE_PASSWORD=... -e METRICS_TOKEN=... saas-crm:0.1.0

ARG PYTHON_VERSION=3.12

# --- build: a virtual environment with the project and the plugins, built from the sources ---
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/saas
WORKDIR /src
COPY pyproject.toml README.md ./
COPY saas ./saas
COPY plugins ./plugins
# Every distribution under plugins/ (each folder with a pyproject.toml), resolved together with
# the core so that one set of versions serves all of them.
RUN /opt/saas/bin/pip install . plugins/*/ \
    && /opt/saas/bin/python -m compileall -q /opt/saas/lib

# --- runtime: the environment alone, owned by root and run by an unprivileged user ---
FROM python:${PYTHON_VERSION}-slim AS runtime
RUN groupadd --system --gid 10001 saas \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin saas
COPY --from=build /opt/saas /opt/saas
# Nothing is written beside the code: the chart mounts the root filesystem read-only and /tmp
# as an emptyDir. SAAS_DATA_DIR only serves the embedded development servers.
ENV PATH=/opt/saas/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    SAAS_DATA_DIR=/tmp/saas \
    SAAS_ENV=production
WORKDIR /tmp
# Numeric, so that Kubernetes can check runAsNonRoot against the image.
USER 10001:10001
EXPOSE 8000
CMD ["saas", "serve", "--host", "0.0.0.0", "--port", "8000"]
