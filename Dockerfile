# convscope in a container: the same install steps as `make serve`, listening on 0.0.0.0:8000.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml Makefile README.md ./
COPY scripts ./scripts
COPY app ./app
COPY templates ./templates
COPY static ./static
COPY models ./models
RUN make install
ENV CONVSCOPE_HOST=0.0.0.0 CONVSCOPE_PORT=8000
EXPOSE 8000
CMD [".venv/bin/convscope", "serve"]
