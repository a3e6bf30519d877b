# Production image: one codebase, several roles (`rumourbot web`, `rumourbot worker`).
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 rumourbot
# share cards: Noto fonts and libraqm (Pillow shapes Devanagari and Arabic through it);
# the report PDF: Pango (WeasyPrint shapes them through it)
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    fonts-noto-core fonts-noto-ui-core libraqm0 libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bot bot
COPY domain domain
COPY matching matching
COPY nlu nlu
COPY factcheck_connectors factcheck_connectors
COPY admin admin
RUN pip install .
USER rumourbot
ENV RUMOURBOT_HOST=0.0.0.0 RUMOURBOT_LOG_FORMAT=json
EXPOSE 8080 9100
CMD ["rumourbot", "web"]
