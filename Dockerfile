FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 booking
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY booking ./booking
COPY seed ./seed
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
USER booking
EXPOSE 8000
CMD ["booking", "serve", "--host", "0.0.0.0", "--port", "8000"]
