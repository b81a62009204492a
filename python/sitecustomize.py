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
   Model search results carry no aliases in UC, so each model of a (small) page is read
   in full, and the UI's list shows its aliases.
   Version search results are also turned into plain versions: the UC ones raise when
   the server's handler reads their (unavailable) aliases and tags.
3. Every registry write logs an ERROR with a traceback: webhook delivery asks the UC
   store for webhooks, which it does not support. The UC store answers "no webhooks"
   (Unity Catalog has none of MLflow's webhooks), so real errors stay visible.
"""

import importlib.abc
import importlib.util
import sys

_UC_STORE_MODULE = "mlflow.store._unity_catalog.registry.rest_store"
# Model list pages up to this size are read model by model to show their aliases.
_MAX_ENRICHED = 100


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
        # UC search results carry no aliases, yet the UI's model list shows them: read each
        # model of the page (a page is small, at most MAX_ENRICHED of them) in full.
        if len(found) > _MAX_ENRICHED:
            return found
        return PagedList([self.get_registered_model(m.name) for m in found], found.token)

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


class _PatchAfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the UC store module with the normal machinery, then patches it once loaded."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _UC_STORE_MODULE:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _patch_uc_store(module)


if _UC_STORE_MODULE in sys.modules:
    _patch_uc_store(sys.modules[_UC_STORE_MODULE])
else:
    sys.meta_path.insert(0, _PatchAfterImport())
