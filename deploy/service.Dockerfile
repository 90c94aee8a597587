# syntax=docker/dockerfile:1
# One image recipe for every Python service; the build context is the repo root:
#   docker build -f deploy/service.Dockerfile \
#     --build-arg SERVICE_DIR=market-svc --build-arg APP=market_svc.main:create_app .
# docker-compose.yml passes the same two build args for each service.

FROM python:3.11-slim AS wheels
ARG SERVICE_DIR
RUN test -n "${SERVICE_DIR}" || { echo "build arg SERVICE_DIR is required" >&2; exit 1; }
WORKDIR /src
# Same layout as the repo, so relative references between the projects keep working.
COPY shared ./shared
COPY ${SERVICE_DIR} ./${SERVICE_DIR}
# One resolver run for both, so the service's dependency on dm-shared is satisfied locally.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ./shared "./${SERVICE_DIR}"

FROM python:3.11-slim
ARG APP
RUN test -n "${APP}" || { echo "build arg APP is required" >&2; exit 1; }
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP=${APP}
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels /wheels/*.whl
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin app
# Numeric, so runtimes can verify it is not root.
USER 10001:10001
WORKDIR /home/app
EXPOSE 8000
# exec makes uvicorn PID 1, so `docker compose stop` reaches it with SIGTERM. The suite logs requests
# itself, and per-message deflate would compress every fanned-out tick once per websocket client. The loop
# is the suite's uvloop with its connection fix (dm_shared/eventloop.py).
CMD ["sh", "-c", "exec python -m uvicorn \"$APP\" --factory --no-access-log --ws-per-message-deflate false --loop dm_shared.eventloop:new_event_loop --host 0.0.0.0 --port 8000"]
