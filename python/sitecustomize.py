"""Fixes the gateway applies inside its `mlflow server` child, and only there.

The gateway puts this folder on the child's PYTHONPATH, so Python imports this module
at start-up in the server and in each uvicorn worker. Each fix is applied when (and
only if) the module it repairs is imported, so nothing else is loaded early.

1. Creating a Unity Catalog model version through an open-source server always fails:
   mlflow/server/handlers.py passes proto fields the client did not send as "" (run_link,
   and model_id after _resolve_registered_model_source_lineage), and
   UcModelRegistryStore.create_model_version refuses any run_link that is not None
   ("Argument 'run_link' is unsupported for models in the Unity Catalog.") and any
   model_id that is empty. Empty values are passed on as None, which is what they mean.
2. The UI's model lists always send an ordering (and an empty filter), which
   UcModelRegistryStore.search_registered_models / search_model_versions refuse
   ("Argument 'order_by' is unsupported for models in the Unity Catalog."). The
   ordering is dropped (Unity Catalog returns its own order) and an empty filter is
   passed as None; a real name filter still fails, as Unity Catalog cannot run it.
   Model search results carry no aliases in UC, so the first models of a page (at most
   _MAX_ENRICHED, a bounded number of workspace calls per page) are read in full and the
   UI's list shows their aliases. A read that fails (the workspace throttling with 429,
   say) ends the enrichment for that page: the list is still answered, the rest without
   aliases, rather than failing or hammering a throttled workspace.
   Version search results are also turned into plain versions: the UC ones raise when
   the server's handler reads their (unavailable) aliases and tags.
3. Every registry write logs an ERROR with a traceback: webhook delivery asks the UC
   store for webhooks, which it does not support. The UC store answers "no webhooks"
   (Unity Catalog has none of MLflow's webhooks), so real errors stay visible.
4. The UI's model-version file view (/model-versions/get-artifact) fails for every Unity
   Catalog model: mlflow/server/handlers.py get_model_version_artifact_handler reads the
   version's raw storage location (s3://..., abfss://...) with no credentials. For a UC
   registry the handler reads the files the way MLflow's own clients do, through
   UnityCatalogModelsArtifactRepository: temporary credentials for the version, then
   presigned URLs (Databricks default storage), the cloud's client (customer-hosted
   storage) or the Files API (when the workspace enables the SDK models-artifact path).
5. Clients outside Databricks load Unity Catalog models through the app: the gateway
   answers a version's download URI as mlflow-artifacts:/unity-catalog/models/<name>/<v>
   and forwards reads of those paths to this server's proxied-artifact routes, whose
   destination is a read-only repository registered here (see _patch_artifact_registry).
"""

import importlib.abc
import importlib.util
import sys

_UC_STORE_MODULE = "mlflow.store._unity_catalog.registry.rest_store"
_SERVER_MODULE = "mlflow.server"
# At most this many models of a model-list page are read one by one to show their aliases:
# one search call plus this many reads per page (the UI asks for 25 per page by default).
_MAX_ENRICHED = 25
# Such a read is not retried for longer than this: the page is useful without aliases, and a
# throttled workspace should not be hammered (MLflow's own calls retry for up to 20 s here).
_ENRICH_RETRY_SECONDS = 1


def _read_model_once(store, name):
    """UcModelRegistryStore.get_registered_model, with at most one retry inside one second."""
    from mlflow.protos.databricks_uc_registry_messages_pb2 import GetRegisteredModelRequest
    from mlflow.utils._unity_catalog_utils import registered_model_from_uc_proto
    from mlflow.utils.proto_json_utils import parse_dict
    from mlflow.utils.rest_utils import http_request, verify_rest_response

    endpoint, method = store._get_endpoint_from_method(GetRegisteredModelRequest)
    response = http_request(
        store.get_host_creds(), endpoint, method, params={"name": name}, max_retries=0, retry_timeout_seconds=_ENRICH_RETRY_SECONDS
    )
    response = verify_rest_response(response, endpoint)
    message = store._get_response_from_method(GetRegisteredModelRequest)
    parse_dict(js_dict=response.json(), message=message)
    return registered_model_from_uc_proto(message.registered_model)


def _patch_uc_store(module):
    store = getattr(module, "UcModelRegistryStore", None)
    if store is None or getattr(store, "_gateway_patched", False):
        return
    original_create = store.create_model_version

    def create_model_version(self, name, source, run_id=None, tags=None, run_link=None, description=None, local_model_path=None, model_id=None, **kwargs):
        return original_create(
            self, name, source, run_id or None, tags, run_link or None, description, local_model_path, model_id or None, **kwargs
        )

    def list_webhooks_by_event(self, event, max_results=None, page_token=None):
        from mlflow.store.entities.paged_list import PagedList

        return PagedList([], None)

    original_search_models = store.search_registered_models
    original_search_versions = store.search_model_versions

    def search_registered_models(self, filter_string=None, max_results=None, order_by=None, page_token=None):
        from mlflow.store.entities.paged_list import PagedList

        found = original_search_models(self, filter_string or None, max_results, None, page_token)
        # UC search results carry no aliases, yet the UI's model list shows them: read the
        # first models of the page in full, and stop at the first read that fails.
        enriched = []
        for index, model in enumerate(found):
            if index >= _MAX_ENRICHED:
                break
            try:
                enriched.append(_read_model_once(self, model.name))
            except Exception as error:  # noqa: BLE001 - any failure: answer the page as searched
                import logging

                logging.getLogger("mlflow_gateway").warning(
                    "model list shown without aliases from %s on: reading it failed (%s)", model.name, type(error).__name__
                )
                break
        return PagedList(enriched + list(found)[len(enriched) :], found.token)

    def search_model_versions(self, filter_string=None, max_results=None, order_by=None, page_token=None):
        from mlflow.entities.model_registry import ModelVersion
        from mlflow.store.entities.paged_list import PagedList

        found = original_search_versions(self, filter_string, max_results, None, page_token)
        # UC search results (ModelVersionSearch) raise on .aliases/.tags, which the
        # server's handler reads to build its answer: hand it plain versions instead.
        plain = [
            ModelVersion(
                name=v.name,
                version=v.version,
                creation_timestamp=v.creation_timestamp,
                last_updated_timestamp=v.last_updated_timestamp,
                description=v.description,
                user_id=v.user_id,
                source=v.source,
                run_id=v.run_id,
                status=v.status,
                status_message=v.status_message,
                deployment_job_state=v.deployment_job_state,
            )
            for v in found
        ]
        return PagedList(plain, found.token)

    store.create_model_version = create_model_version
    store.search_registered_models = search_registered_models
    store.search_model_versions = search_model_versions
    store.list_webhooks_by_event = list_webhooks_by_event
    store._gateway_patched = True


def _patch_server(module):
    """Fix 4: the /model-versions/get-artifact route of a Unity Catalog registry."""
    original = getattr(module, "get_model_version_artifact_handler", None)
    if original is None or getattr(original, "_gateway_patched", False):
        return
    from flask import request

    from mlflow.server import handlers

    def uc_model_version_artifact():
        from mlflow.store._unity_catalog.registry.rest_store import UcModelRegistryStore

        store = handlers._get_model_registry_store()
        if not isinstance(store, UcModelRegistryStore):
            return original()
        from mlflow.store.artifact.unity_catalog_models_artifact_repo import (
            UnityCatalogModelsArtifactRepository,
        )

        name = request.args.get("name", "")
        version = request.args.get("version", "")
        path = handlers.validate_path_is_safe(request.args["path"])
        repository = UnityCatalogModelsArtifactRepository(f"models:/{name}/{version}", registry_uri=store.store_uri)
        return handlers._send_artifact(repository, path)

    patched = handlers.catch_mlflow_exception(uc_model_version_artifact)
    patched._gateway_patched = True
    # serve_model_version_artifact in mlflow/server/__init__.py looks this name up per request.
    module.get_model_version_artifact_handler = patched


# The --artifacts-destination of the child in Databricks mode (src/supervisor/child-command.ts).
MODEL_VERSION_FILES_SCHEME = "gateway-uc-model-versions"


def _patch_artifact_registry(module):
    """Fix 5: Unity Catalog model versions' files through the app's own URL.

    A client that loads `models:/catalog.schema.model@alias` through the app asks the
    registry for the version's download URI; the gateway answers
    mlflow-artifacts:/unity-catalog/models/<name>/<version>, and forwards only reads of such
    paths to this server's proxied-artifact routes. This repository (the child's
    --artifacts-destination) reads them the way MLflow's own clients do, through
    UnityCatalogModelsArtifactRepository as the service principal, on any storage mode.
    Everything else (run and logged-model artifacts, all writes) the gateway serves itself.
    """
    registry = getattr(module, "_artifact_repository_registry", None)
    if registry is None or getattr(registry, "_gateway_patched", False):
        return
    import posixpath

    from mlflow.entities import FileInfo
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repo import ArtifactRepository

    def split(path):
        parts = (path or "").strip("/").split("/")
        if len(parts) < 4 or parts[0] != "unity-catalog" or parts[1] != "models":
            raise MlflowException.invalid_parameter_value("Only Unity Catalog model versions' files are served here.")
        return parts[2], parts[3], "/".join(parts[4:])

    def versions_repository(name, version):
        from mlflow.store.artifact.unity_catalog_models_artifact_repo import UnityCatalogModelsArtifactRepository

        return UnityCatalogModelsArtifactRepository(f"models:/{name}/{version}", registry_uri="databricks-uc")

    class ModelVersionFiles(ArtifactRepository):
        def list_artifacts(self, path=None):
            name, version, rest = split(path)
            prefix = f"unity-catalog/models/{name}/{version}"
            found = versions_repository(name, version).list_artifacts(rest)
            return [FileInfo(posixpath.join(prefix, info.path), info.is_dir, info.file_size) for info in found]

        def download_artifacts(self, artifact_path, dst_path=None):
            name, version, rest = split(artifact_path)
            return versions_repository(name, version).download_artifacts(rest, dst_path)

        def _download_file(self, remote_file_path, local_path):
            raise MlflowException("Model version files are read through download_artifacts.")

        def log_artifact(self, local_file, artifact_path=None):
            raise MlflowException("A model version's files are written by registering a model.", error_code="PERMISSION_DENIED")

        def log_artifacts(self, local_dir, artifact_path=None):
            self.log_artifact(local_dir, artifact_path)

    registry.register(MODEL_VERSION_FILES_SCHEME, ModelVersionFiles)
    registry._gateway_patched = True


_PATCHES = {
    _UC_STORE_MODULE: _patch_uc_store,
    _SERVER_MODULE: _patch_server,
    "mlflow.store.artifact.artifact_repository_registry": _patch_artifact_registry,
}


class _PatchingLoader(importlib.abc.Loader):
    """Loads a module with its own loader, then applies its patch."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _PATCHES[module.__name__](module)


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds the patched modules with the normal machinery and wraps their loader."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _PATCHES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader)
        return spec


for _name, _patch in _PATCHES.items():
    if _name in sys.modules:
        _patch(sys.modules[_name])
sys.meta_path.insert(0, _PatchAfterImport())
