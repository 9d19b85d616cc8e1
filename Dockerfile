# Patrons in a container: `patrons serve` on a SQLite file in the /data volume by default.
#   docker build -t patrons . && docker run -p 8000:8000 -v patrons-data:/data patrons
# PostgreSQL instead: -e PATRONS_DATABASE_URL=postgresql://user:password@host:5432/patrons
# (compose.yaml runs PostgreSQL, the API and a separate worker). The first start prints the
# default project's keys in the log; or set PATRONS_APP_ID and PATRONS_APP_TOKEN.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --no-create-home patrons \
    && mkdir /data && chown patrons:patrons /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV PATRONS_DATABASE_URL=sqlite:////data/patrons.db \
    PYTHONUNBUFFERED=1
WORKDIR /data
VOLUME /data
USER patrons
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
ENTRYPOINT ["patrons"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
