# The API image: Python 3.11 slim, installed once, run as a non-root user; `booking serve` is
# uvicorn with the app factory (booking.api.app:create_app). Build: `docker build -t booking .`
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 booking
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY booking ./booking
COPY seed ./seed
COPY migrations ./migrations
# Editable, so Alembic finds alembic.ini and migrations/ beside the package.
RUN pip install --no-cache-dir -e . && chown -R booking /app
USER booking
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"]
CMD ["booking", "serve", "--host", "0.0.0.0", "--port", "8000"]
