# aiwatch as a container, with the mock endpoint in a second one (as docker-compose.yml does;
# targets must name hosts the container can reach, never 127.0.0.1, and the rule files the
# config names must be mounted where its relative paths lead):
#   docker build -t aiwatch .
#   docker network create aiwatch
#   docker run -d --network aiwatch --name mock-ai aiwatch mock-ai --listen-address=0.0.0.0:9532
#   docker run --network aiwatch -p 9531:9531 -v "$PWD/config/docker.yml:/etc/aiwatch/aiwatch.yml:ro" -v "$PWD/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" -v "$PWD/prometheus/recording.yml:/etc/prometheus/recording.yml:ro" aiwatch
# (config/docker.yml's notification route points at the stack's `notifications` service:
# edit it, or run the whole stack with `docker compose up --build`.)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/aiwatch aiwatch \
    && mkdir -p /etc/aiwatch /var/lib/aiwatch \
    && chown aiwatch /var/lib/aiwatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER aiwatch
WORKDIR /var/lib/aiwatch
EXPOSE 9531
VOLUME ["/var/lib/aiwatch"]
ENTRYPOINT ["aiwatch"]
CMD ["run", "--config.file=/etc/aiwatch/aiwatch.yml", "--storage.path=/var/lib/aiwatch"]
