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
6. The UI's dataset lists fail with a Databricks tracking store. The runs page asks which
   datasets the experiment's runs used (/experiments/search-datasets); the Databricks store
   has no _search_datasets, so the handler answers an empty 404 (seen as a failed request):
   it is derived here from the runs' dataset inputs, as the file and SQL stores do, over at
   most _MAX_DATASET_RUNS runs. The evaluation-dataset search always carries an ordering
   (and a name filter when the user types), which the Databricks store refuses
   (INVALID_PARAMETER_VALUE): the ordering is dropped and a name filter runs here. The UI's
   view of a trace in an experiment fails (the handler's batch_get_traces(ids, None) reaches
   /api/4.0/mlflow/traces/None/batchGet): without a location it answers "not implemented",
   which sends the handler to the trace's data file.
7. The Unity Catalog registry as the UI uses it:
   - the model list's name search (name = / != / LIKE / ILIKE) runs here over Unity Catalog's
     pages (at most _MAX_FILTER_PAGES of _FILTER_PAGE_SIZE models; more answers a clear error),
     paged with the child's own tokens; other filters are refused naming the filter;
   - models of a list page also get their highest version as latest_versions (the list's
     "Latest version"), and searched versions get their aliases (the model page's table), each
     with one bounded read per model that fails soft like fix 2's;
   - stage transitions and latest-versions-by-stage answer 501 NOT_IMPLEMENTED with "use
     aliases" (UC raises them as INTERNAL_ERROR, a 500);
   - prompts: the UI's prompt search (a registered-model search for the prompt tag) and a
     client's register_prompt (a registered model with that tag) answer 501 NOT_IMPLEMENTED
     saying that Unity Catalog keeps prompts in its own registry, which MLflow's server does not
     route to, and how to use it, instead of a 500 or a model that is not a prompt.
8. Registering a model without a signature in Unity Catalog answers 500 INTERNAL_ERROR:
   UcModelRegistryStore._validate_model_signature raises MlflowException with its default
   code. Clients take a 500 as the server's fault and retry it (MLflow's client for up to a
   couple of minutes) before showing a generic error. The request is what is wrong, so the
   same message is answered as 400 INVALID_PARAMETER_VALUE, at once. It is raised before
   anything is written to Unity Catalog.
"""

import importlib.abc
import importlib.util
import sys

# Not a fix but the child's lifetime: each of its processes dies with its parent, so a
# gateway killed with SIGKILL leaves no server behind (see die_with_parent.py).
import die_with_parent  # noqa: F401

_UC_STORE_MODULE = "mlflow.store._unity_catalog.registry.rest_store"
_SERVER_MODULE = "mlflow.server"
# At most this many models of a model-list page are read one by one to show their aliases:
# one search call plus this many reads per page (the UI asks for 25 per page by default).
_MAX_ENRICHED = 25
# Such a read is not retried for longer than this: the page is useful without aliases, and a
# throttled workspace should not be hammered (MLflow's own calls retry for up to 20 s here).
_ENRICH_RETRY_SECONDS = 1
# A name filter Unity Catalog cannot run is run here, over at most this many pages of this
# many models; a registry with more models answers a clear error instead of a partial list.
_FILTER_PAGE_SIZE = 1000
_MAX_FILTER_PAGES = 10
# The runs read to list the datasets an experiment's runs used (the runs table's filter).
_MAX_DATASET_RUNS = 1000
_MAX_DATASET_SUMMARIES = 1000
# Page tokens of the child's own filtered pages, told apart from Unity Catalog's.
_OFFSET_TOKEN = "gateway-offset:"

_PROMPTS_IN_UC = (
    "Prompts are not served through this app with a Unity Catalog registry: Unity Catalog keeps prompts "
    "in its own prompt registry, which MLflow's server does not route to. Register and load prompts with "
    "mlflow.genai.register_prompt / mlflow.genai.load_prompt and registry URI 'databricks-uc' (in a "
    "Databricks notebook, or with Databricks credentials)."
)
_USE_ALIASES = (
    "Model stages have no meaning in Unity Catalog: use aliases instead. Set one with "
    "MlflowClient().set_registered_model_alias(name, alias, version) (or on the model page) and load "
    "the version with 'models:/<catalog.schema.model>@<alias>'."
)


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


def _name_filter(filter_string):
    """The clauses of a registered-model filter Unity Catalog cannot run, if the child can.

    Name comparisons (=, !=, LIKE, ILIKE) are run here. The prompt tag: a search for prompts
    is refused with the reason; a search that excludes prompts matches every UC model. Any
    other filter is refused naming it.
    """
    from mlflow.entities.model_registry.prompt_version import IS_PROMPT_TAG_KEY
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, NOT_IMPLEMENTED
    from mlflow.utils.search_utils import SearchModelUtils

    clauses = []
    for clause in SearchModelUtils.parse_search_filter(filter_string):
        key, comparator, value = clause.get("key"), clause.get("comparator", "").upper(), clause.get("value")
        if clause.get("type") == "tag" and key == IS_PROMPT_TAG_KEY:
            if (comparator == "=" and value == "true") or (comparator == "!=" and value == "false"):
                raise MlflowException(_PROMPTS_IN_UC, error_code=NOT_IMPLEMENTED)
            continue
        if clause.get("type") == "attribute" and key == "name" and comparator in ("=", "!=", "LIKE", "ILIKE"):
            clauses.append(clause)
            continue
        raise MlflowException(
            f"Unity Catalog cannot filter registered models by {clause.get('type')} '{key}' ({comparator}); "
            "through this app, models can be filtered by name only (name = / LIKE / ILIKE).",
            error_code=INVALID_PARAMETER_VALUE,
        )
    return clauses


def _offset_of(page_token):
    if not page_token:
        return 0
    if not page_token.startswith(_OFFSET_TOKEN) or not page_token[len(_OFFSET_TOKEN) :].isdigit():
        from mlflow.exceptions import MlflowException

        raise MlflowException.invalid_parameter_value("Invalid page_token for a filtered model search: use the token the previous page answered.")
    return int(page_token[len(_OFFSET_TOKEN) :])


def _plain_version(v, aliases):
    """A UC version search result (which raises on .aliases/.tags) as a plain ModelVersion with the model's aliases for it."""
    from mlflow.entities.model_registry import ModelVersion

    return ModelVersion(
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
        aliases=[alias for alias, version in aliases.items() if str(version) == str(v.version)],
    )


def _latest_version(store, name, aliases):
    """The highest version of a model, from one page of its versions (UC keeps no latest_versions)."""
    found = list(store._gateway_search_versions(f"name='{name}'", _FILTER_PAGE_SIZE, None, None))
    return _plain_version(max(found, key=lambda v: int(v.version)), aliases) if found else None


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
        from mlflow.exceptions import MlflowException
        from mlflow.store.entities.paged_list import PagedList
        from mlflow.utils.search_utils import SearchModelUtils

        clauses = _name_filter(filter_string) if filter_string else []
        if filter_string and clauses:
            # Unity Catalog cannot run the filter: read its pages and filter by name here.
            matched, token, pages = [], None, 0
            while True:
                page = original_search_models(self, None, _FILTER_PAGE_SIZE, None, token)
                matched.extend(m for m in page if all(SearchModelUtils._does_registered_model_match_clauses(m, c) for c in clauses))
                token, pages = page.token, pages + 1
                if not token:
                    break
                if pages >= _MAX_FILTER_PAGES:
                    raise MlflowException.invalid_parameter_value(
                        f"The registry has more than {_MAX_FILTER_PAGES * _FILTER_PAGE_SIZE} models, more than this app filters "
                        "by name; list them without a filter, page by page."
                    )
            start = _offset_of(page_token)
            size = max_results or 100
            rest = start + size
            found = PagedList(matched[start:rest], f"{_OFFSET_TOKEN}{rest}" if rest < len(matched) else None)
        else:
            found = original_search_models(self, None, max_results, None, page_token)
        # UC search results carry no aliases, yet the UI's model list shows them: read the
        # first models of the page in full, and stop at the first read that fails.
        enriched = []
        for index, model in enumerate(found):
            if index >= _MAX_ENRICHED:
                break
            try:
                full = _read_model_once(self, model.name)
                # UC keeps no latest_versions; the UI's list shows the highest version as "Latest version".
                latest = _latest_version(self, model.name, dict(full.aliases or {}))
                if latest is not None:
                    full._latest_version = [latest]
                enriched.append(full)
            except Exception as error:  # noqa: BLE001 - any failure: answer the page as searched
                import logging

                logging.getLogger("mlflow_gateway").warning(
                    "model list shown without aliases from %s on: reading it failed (%s)", model.name, type(error).__name__
                )
                break
        return PagedList(enriched + list(found)[len(enriched) :], found.token)

    def search_model_versions(self, filter_string=None, max_results=None, order_by=None, page_token=None):
        from mlflow.store.entities.paged_list import PagedList

        found = original_search_versions(self, filter_string, max_results, None, page_token)
        # UC search results carry no aliases: the model page's versions table shows them, so
        # each model of the page is read once (bounded, and the first failure ends it).
        aliases = {}
        for name in list(dict.fromkeys(v.name for v in found))[:_MAX_ENRICHED]:
            try:
                aliases[name] = dict(_read_model_once(self, name).aliases or {})
            except Exception:  # noqa: BLE001 - the versions are answered without aliases
                break
        # UC search results (ModelVersionSearch) raise on .aliases/.tags, which the
        # server's handler reads to build its answer: hand it plain versions instead.
        plain = [_plain_version(v, aliases.get(v.name, {})) for v in found]
        return PagedList(plain, found.token)

    original_create_model = store.create_registered_model
    original_transition = store.transition_model_version_stage
    original_latest = store.get_latest_versions

    def create_registered_model(self, name, tags=None, description=None, deployment_job_id=None):
        from mlflow.entities.model_registry.prompt_version import IS_PROMPT_TAG_KEY
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import NOT_IMPLEMENTED

        if any(getattr(t, "key", None) == IS_PROMPT_TAG_KEY and str(getattr(t, "value", "")).lower() == "true" for t in tags or []):
            raise MlflowException(_PROMPTS_IN_UC, error_code=NOT_IMPLEMENTED)
        return original_create_model(self, name, tags, description, deployment_job_id)

    def unsupported_stages(original):
        def call(self, *args, **kwargs):
            from mlflow.exceptions import MlflowException
            from mlflow.protos.databricks_pb2 import NOT_IMPLEMENTED

            try:
                return original(self, *args, **kwargs)
            except MlflowException as error:
                # UC raises with INTERNAL_ERROR (a 500); the request is fine, the operation has no meaning there.
                raise MlflowException(_USE_ALIASES, error_code=NOT_IMPLEMENTED) from error

        return call

    original_validate_signature = store._validate_model_signature

    def _validate_model_signature(self, local_model_path):
        from mlflow.exceptions import MlflowException

        try:
            return original_validate_signature(self, local_model_path)
        except MlflowException as error:
            # Only the refusal itself (raised with MLflow's default code); a failure to read
            # the model's files stays what it is.
            if error.error_code != "INTERNAL_ERROR":
                raise
            raise MlflowException.invalid_parameter_value(error.message) from error

    store._gateway_search_versions = original_search_versions
    store._validate_model_signature = _validate_model_signature
    store.create_model_version = create_model_version
    store.create_registered_model = create_registered_model
    store.transition_model_version_stage = unsupported_stages(original_transition)
    store.get_latest_versions = unsupported_stages(original_latest)
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


def _patch_databricks_tracking_store(module):
    """Fix 6: the two dataset lists the UI asks a Databricks tracking store for."""
    store = getattr(module, "DatabricksTracingRestStore", None)
    if store is None or getattr(store, "_gateway_patched", False):
        return
    original_search_datasets = store.search_datasets

    def _search_datasets(self, experiment_ids):
        """The datasets the experiments' runs used, as the file and SQL stores derive them (mlflow/store/tracking/file_store.py)."""
        from mlflow.entities import ViewType
        from mlflow.entities.dataset_summary import _DatasetSummary
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        summaries, seen, token, read = [], set(), None, 0
        while read < _MAX_DATASET_RUNS:
            page = self.search_runs(experiment_ids, "", ViewType.ACTIVE_ONLY, min(1000, _MAX_DATASET_RUNS - read), None, token)
            for run in page:
                for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
                    context = next((t.value for t in dataset_input.tags if t.key == MLFLOW_DATASET_CONTEXT), None)
                    key = (run.info.experiment_id, dataset_input.dataset.name, dataset_input.dataset.digest, context)
                    if key not in seen and len(summaries) < _MAX_DATASET_SUMMARIES:
                        seen.add(key)
                        summaries.append(_DatasetSummary(*key))
            read += len(page)
            token = page.token
            if not token:
                break
        return summaries

    def search_datasets(self, experiment_ids=None, filter_string=None, max_results=1000, order_by=None, page_token=None):
        """Evaluation datasets: the managed-evals API takes no ordering and no filter, so the UI's are run here.

        The UI always asks for an ordering (created_time DESC) and, when the user types, a name
        filter; the Databricks store refuses both (INVALID_PARAMETER_VALUE). The ordering is
        dropped (the workspace answers its own order) and a name filter is applied to what it answers.
        """
        from mlflow.store.entities.paged_list import PagedList

        found = original_search_datasets(self, experiment_ids, None, max_results, None, page_token)
        if not filter_string:
            return found
        from mlflow.utils.search_utils import SearchUtils

        clauses = SearchUtils.parse_search_filter(filter_string)
        for clause in clauses:
            if clause.get("key") != "name" or clause.get("comparator", "").upper() not in ("=", "!=", "LIKE", "ILIKE"):
                from mlflow.exceptions import MlflowException

                raise MlflowException.invalid_parameter_value("Evaluation datasets on Databricks can be filtered by name only.")
        matches = [d for d in found if all(SearchUtils.get_comparison_func(c["comparator"].upper())(d.name, c["value"]) for c in clauses)]
        return PagedList(matches, found.token)

    original_batch_get_traces = store.batch_get_traces

    def batch_get_traces(self, trace_ids, location=None, experiment_ids=None):
        """The UI's trace view of a trace in an experiment.

        The server's get-trace-artifact handler asks for spans with batch_get_traces(ids, None),
        which this store sends to /api/4.0/mlflow/traces/None/batchGet: a v4 batch-get
        addresses Unity Catalog locations only. Traces in an experiment keep their spans in the
        trace's data file; "not implemented" sends the handler there (its artifact repository,
        through the signed URLs of /traces/{id}/credentials-for-data-download). A v4 id
        (trace:/<location>/<id>) is still fetched from its location.
        """
        from mlflow.exceptions import MlflowNotImplementedException
        from mlflow.tracing.utils import parse_trace_id_v4

        if location is None and experiment_ids is None:
            locations = {parse_trace_id_v4(trace_id)[0] for trace_id in trace_ids}
            if None in locations or len(locations) != 1:
                raise MlflowNotImplementedException()
            location = locations.pop()
        return original_batch_get_traces(self, trace_ids, location, experiment_ids)

    store._search_datasets = _search_datasets
    store.search_datasets = search_datasets
    store.batch_get_traces = batch_get_traces
    store._gateway_patched = True


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
    "mlflow.store.tracking.databricks_rest_store": _patch_databricks_tracking_store,
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
