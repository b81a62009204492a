"""Reads what each side holds: the source's experiments and runs, and which of them the
target already has (found by the marks the migration leaves on its copies)."""

from mlflow import MlflowClient
from mlflow.entities import ViewType

from . import marks


def experiments(client: MlflowClient, only: list[str]) -> list:
    found, token = [], None
    while True:
        page = client.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            break
    if only:
        wanted = set(only)
        return [e for e in found if e.name in wanted]
    # Every open-source server has an experiment "Default" (id 0); Databricks has none, and
    # an empty one is not worth a folder in the workspace.
    return [e for e in found if e.experiment_id != "0" or client.search_runs(["0"], max_results=1)]


def runs(client: MlflowClient, experiment_id: str) -> list:
    found, token = [], None
    while True:
        page = client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY, max_results=1000,
                                  order_by=["attributes.start_time ASC"], page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def copies_by_source(client: MlflowClient, experiment_id: str | None, tag: str = marks.SOURCE_RUN_ID) -> dict[str, list]:
    """Target runs of one experiment grouped by the source run they copy."""
    grouped: dict[str, list] = {}
    if experiment_id is None:
        return grouped
    for run in runs(client, experiment_id):
        source_id = run.data.tags.get(tag)
        if source_id:
            grouped.setdefault(source_id, []).append(run)
    return grouped


def best_copy(copies: list | None):
    """A complete copy if there is one, else the partial one to finish."""
    if not copies:
        return None
    complete = [c for c in copies if marks.is_complete(c.data.tags)]
    return (complete or copies)[0]
