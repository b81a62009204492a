"""Copies an experiment's logged models (MLflow 3): name, type, params, tags, the run
that produced each (mapped to its copy), the files, the final status, and the link from
the run's outputs. Registered versions point at these copies."""

import os
import tempfile

import mlflow
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput

from . import marks
from .files import file_sizes


def search_all(client: MlflowClient, experiment_id: str) -> list:
    models, token = [], None
    while True:
        page = client.search_logged_models(experiment_ids=[experiment_id], page_token=token)
        models.extend(page)
        token = page.token
        if not token:
            return models


def list_files(client: MlflowClient, model_id: str) -> dict[str, int]:
    """Every file of a logged model: relative path -> size in bytes."""
    return file_sizes(lambda path: client.list_logged_model_artifacts(model_id, path))


def copy_logged_model(source: MlflowClient, target: MlflowClient, source_uri: str, model,
                      target_experiment_id: str, run_map: dict[str, str], existing) -> str:
    """existing: the copy an earlier attempt created, or None. Returns the copy's id."""
    if existing is None:
        tags = {
            **marks.copied_tags(model.tags),
            marks.SOURCE_MODEL_ID: model.model_id,
            marks.STATE: marks.PARTIAL,
        }
        created = target.create_logged_model(
            target_experiment_id,
            name=model.name,
            source_run_id=run_map.get(model.source_run_id) if model.source_run_id else None,
            tags=tags,
            params=model.params or None,
            model_type=model.model_type,
        )
        target_id = created.model_id
    else:
        target_id = existing.model_id
    # Files are sent whole again on a resume: a logged model is a few files, and writing
    # the same path again replaces it.
    with tempfile.TemporaryDirectory(prefix="mlflow-migrate-") as work:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=model.artifact_location, dst_path=work, tracking_uri=source_uri
        )
        if any(os.scandir(local)):
            target.log_model_artifacts(target_id, local)
    status = str(model.status)
    if status.endswith("READY") or status.endswith("FAILED"):
        target.finalize_logged_model(target_id, "READY" if status.endswith("READY") else "FAILED")
    target.set_logged_model_tags(target_id, {marks.STATE: marks.COMPLETE})
    return target_id


def link_outputs(target: MlflowClient, source_run, target_run_id: str, model_map: dict[str, str]) -> int:
    """Records the copied models among the copied run's outputs, as log_model did at the source."""
    outputs = getattr(source_run, "outputs", None)
    wanted = [o for o in (outputs.model_outputs if outputs else []) if o.model_id in model_map]
    if not wanted:
        return 0
    have_outputs = target.get_run(target_run_id).outputs
    have = {o.model_id for o in (have_outputs.model_outputs if have_outputs else [])}
    links = [LoggedModelOutput(model_map[o.model_id], o.step) for o in wanted if model_map[o.model_id] not in have]
    if links:
        target.log_outputs(target_run_id, links)
    return len(links)
