"""Copies one run: its info, params, tags, every point of every metric's history, its
dataset inputs and its artifacts. A copy that an earlier attempt left unfinished is
completed (only what it lacks is sent), never started again."""

import os
import tempfile
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from . import marks
from .files import file_sizes

# MLflow's log-batch limits (mlflow/utils/validation.py): 1000 entries per call, of
# which at most 100 params and 100 tags.
_BATCH_ENTRIES = 1000
_BATCH_PARAMS = 100
_BATCH_TAGS = 100


@dataclass
class RunCopy:
    target_run_id: str
    resumed: bool
    metric_points: int
    artifact_files: int
    #: Whether anything was written (a complete copy brought up to date by --sync may need nothing).
    changed: bool


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def list_files(client: MlflowClient, run_id: str) -> dict[str, int]:
    """Every artifact file of a run: relative path -> size in bytes."""
    return file_sizes(lambda path: client.list_artifacts(run_id, path))


def metric_history(client: MlflowClient, run_id: str, keys) -> list[Metric]:
    points = []
    for key in sorted(keys):
        points.extend(client.get_metric_history(run_id, key))
    return points


def _point(metric: Metric) -> tuple:
    return (metric.key, metric.step, metric.timestamp, metric.value)


def copy_run(source: MlflowClient, target: MlflowClient, source_run, target_experiment_id: str,
             existing, source_server: str) -> RunCopy:
    """existing: the target run an earlier attempt created for this source run, or None."""
    info, data = source_run.info, source_run.data
    run_tags = marks.copied_tags(data.tags)
    if existing is None:
        opening = {
            **run_tags,
            marks.SOURCE_RUN_ID: info.run_id,
            marks.SOURCE_EXPERIMENT_ID: info.experiment_id,
            marks.SOURCE_USER: info.user_id or data.tags.get(marks.USER_TAG, ""),
            marks.SOURCE_SERVER: source_server,
            marks.STATE: marks.PARTIAL,
        }
        created = target.create_run(target_experiment_id, start_time=info.start_time, tags=opening,
                                     run_name=info.run_name)
        target_run_id = created.info.run_id
        have_params, have_points, have_files = {}, set(), {}
    else:
        target_run_id = existing.info.run_id
        have_params = existing.data.params
        have_points = {_point(m) for m in metric_history(target, target_run_id, existing.data.metrics.keys())}
        have_files = list_files(target, target_run_id)

    params = [Param(k, v) for k, v in sorted(data.params.items()) if k not in have_params]
    # Tags given at creation are there; a resumed or synced copy gets those that differ.
    have_tags = existing.data.tags if existing is not None else {**run_tags}
    tags = [RunTag(k, v) for k, v in sorted(run_tags.items()) if have_tags.get(k) != v]
    points = [m for m in metric_history(source, info.run_id, data.metrics.keys()) if _point(m) not in have_points]
    for batch in _chunks(params, _BATCH_PARAMS):
        target.log_batch(target_run_id, params=batch)
    for batch in _chunks(tags, _BATCH_TAGS):
        target.log_batch(target_run_id, tags=batch)
    for batch in _chunks(points, _BATCH_ENTRIES):
        target.log_batch(target_run_id,
                         metrics=[Metric(m.key, m.value, m.timestamp, m.step) for m in batch])

    if existing is None and source_run.inputs and source_run.inputs.dataset_inputs:
        target.log_inputs(target_run_id, datasets=source_run.inputs.dataset_inputs)

    files = list_files(source, info.run_id)
    missing = sorted(p for p, size in files.items() if have_files.get(p) != size)
    with tempfile.TemporaryDirectory(prefix="mlflow-migrate-") as work:
        for path in missing:
            local = source.download_artifacts(info.run_id, path, work)
            folder = os.path.dirname(path)
            target.log_artifact(target_run_id, local, artifact_path=folder or None)
            os.remove(local)

    # The status last but one, the mark last: a copy is complete only when all is there.
    status_changed = existing is None or (existing.info.status, existing.info.end_time) != (info.status, info.end_time)
    if info.status != "RUNNING" and status_changed:
        target.set_terminated(target_run_id, status=info.status, end_time=info.end_time)
    was_complete = existing is not None and marks.is_complete(existing.data.tags)
    if not was_complete:
        target.set_tag(target_run_id, marks.STATE, marks.COMPLETE)
    changed = bool(params or tags or points or missing) or (status_changed and info.status != "RUNNING") or not was_complete
    return RunCopy(target_run_id, existing is not None, len(points), len(missing), changed)
