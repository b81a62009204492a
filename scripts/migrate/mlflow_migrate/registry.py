"""Copies registered models: the model (description, tags), each version (pointing at the
copied logged model or run files, with its tags and description, in the source's order so
numbers line up on a new model) and the aliases. Unity Catalog has no stages: with
--stages-as-aliases a version's stage becomes an alias (Production -> production)."""

import re

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from . import marks


class VersionSourceError(Exception):
    pass


def search_all_models(client: MlflowClient) -> list:
    models, token = [], None
    while True:
        page = client.search_registered_models(page_token=token)
        models.extend(page)
        token = page.token
        if not token:
            return models


def versions_of(client: MlflowClient, name: str) -> list:
    """Every version of a model with its tags. Unity Catalog's search answers versions
    without tags or aliases (mlflow/utils/_unity_catalog_utils.py,
    model_version_search_from_uc_proto), so a version found without tags is read again."""
    return [v if v.tags else client.get_model_version(name, v.version) for v in _search_versions(client, name)]


def _search_versions(client: MlflowClient, name: str) -> list:
    escaped = name.replace("'", "\\'")
    found, token = [], None
    while True:
        page = client.search_model_versions(f"name='{escaped}'", page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return sorted(found, key=lambda v: int(v.version))


_LOGGED_MODEL_URI = re.compile(r"^models:/(m-[0-9a-f]+)/?$")


def _run_relative_path(source: str, run_id: str) -> str | None:
    """The path inside the run's artifacts that a pre-MLflow-3 version was registered from
    (runs:/<id>/<path>, or a store location .../<id>/artifacts/<path>)."""
    if source.startswith(f"runs:/{run_id}/"):
        return source[len(f"runs:/{run_id}/") :]
    match = re.search(rf"/{re.escape(run_id)}/artifacts/(.+)$", source)
    return match.group(1) if match else None


def target_source(version, run_map: dict[str, str], model_map: dict[str, str]) -> tuple[str, str | None, str | None]:
    """(source URI, run id, logged model id) of the copy of `version`."""
    run_id = run_map.get(version.run_id) if version.run_id else None
    # MLflow 3 registers a logged model by its URI; the server does not always fill model_id.
    model_id = getattr(version, "model_id", None)
    if not model_id and (match := _LOGGED_MODEL_URI.match(version.source or "")):
        model_id = match.group(1)
    if model_id and model_id in model_map:
        return f"models:/{model_map[model_id]}", run_id, model_map[model_id]
    if run_id:
        relative = _run_relative_path(version.source, version.run_id)
        if relative:
            return f"runs:/{run_id}/{relative}", run_id, None
    raise VersionSourceError(
        f"version {version.version} of {version.name!r} comes from {version.source!r}, which is neither a logged "
        "model nor a run's files that this migration copied (is its experiment excluded, or its run deleted?)"
    )


def ensure_model(target: MlflowClient, source_model, target_name: str) -> bool:
    """Creates the registered model unless it exists. Returns True when created."""
    try:
        target.get_registered_model(target_name)
        return False
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    tags = {**marks.copied_tags(source_model.tags or {}), marks.SOURCE_MODEL_NAME: source_model.name}
    target.create_registered_model(target_name, tags=tags, description=source_model.description or None)
    return True


def copy_version(target: MlflowClient, version, target_name: str, run_map, model_map, existing) -> tuple[str, bool]:
    """existing: the target version an earlier attempt registered for this one, or None.
    Returns (target version, copied now)."""
    if existing is not None:
        if existing.status == "READY":
            return existing.version, False
        # Registration was cut off (PENDING_REGISTRATION) or failed: a version that is not
        # READY cannot be loaded or aliased, so it is replaced.
        target.delete_model_version(target_name, existing.version)
    source, run_id, model_id = target_source(version, run_map, model_map)
    tags = {
        **marks.copied_tags(version.tags or {}),
        marks.SOURCE_VERSION: f"{version.name}/{version.version}",
        marks.SOURCE_USER: version.user_id or "",
    }
    created = target.create_model_version(
        target_name, source, run_id=run_id, tags=tags, description=version.description or None, model_id=model_id
    )
    return created.version, True


def source_aliases(source_model, versions, stages_as_aliases: bool) -> dict[str, str]:
    aliases = dict(source_model.aliases or {})
    if stages_as_aliases:
        for version in versions:
            stage = (version.current_stage or "None").lower()
            if stage in ("staging", "production"):
                aliases.setdefault(stage, version.version)
    return aliases
