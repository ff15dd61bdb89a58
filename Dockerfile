# aiwatch as a container: `docker build -t aiwatch .` then
# `docker run -p 9531:9531 -v $PWD/config:/etc/aiwatch aiwatch run --config.file=/etc/aiwatch/aiwatch.yml`
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
