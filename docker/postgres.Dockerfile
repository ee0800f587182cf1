# PostgreSQL 15 with pg_sphere, for docker/compose.yaml.
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-pgsphere \
 && rm -rf /var/lib/apt/lists/*
