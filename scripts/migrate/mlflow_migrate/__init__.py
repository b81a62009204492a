"""Copies experiments, runs, logged models and registered models from one MLflow
deployment into another (typically into the gateway's app), idempotently and resumably.
Usage and guide: docs/migration.md."""
