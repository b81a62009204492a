"""Credentials per server, so the source never sees the app's token and the app never
sees the source's.

MLflow's client reads one set of credentials from the environment
(MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME/PASSWORD) for every server it talks
to. A migration talks to two, so that would hand the app's token to the old server.
Every REST call MLflow makes builds its credentials with
`mlflow.utils.credentials.get_default_host_creds(uri)`, imported by name into the
modules listed below; each gets a wrapper that picks the credentials by the URI's
origin and gives none to any other origin.
"""

import importlib
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from mlflow.utils import credentials as mlflow_credentials

# The modules that bind get_default_host_creds at import (MLflow 3.17). A module that
# no longer has it means MLflow changed how it finds credentials: stop rather than
# send the wrong ones.
_MODULES = [
    "mlflow.utils.credentials",
    "mlflow.tracking._tracking_service.utils",
    "mlflow.tracking._model_registry.utils",
    "mlflow.store.artifact.http_artifact_repo",
    "mlflow.store.artifact.mlflow_artifacts_repo",
]

_ENV_CREDENTIALS = ["MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"]


@dataclass(frozen=True)
class ServerCredentials:
    token: str | None = None
    username: str | None = None
    password: str | None = None


class CredentialsError(Exception):
    pass


def origin_of(uri: str) -> str | None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def from_environment(prefix: str) -> ServerCredentials:
    """<prefix>_TOKEN, or <prefix>_USERNAME and <prefix>_PASSWORD."""
    return ServerCredentials(
        token=os.environ.get(f"{prefix}_TOKEN") or None,
        username=os.environ.get(f"{prefix}_USERNAME") or None,
        password=os.environ.get(f"{prefix}_PASSWORD") or None,
    )


def install(per_origin: dict[str, ServerCredentials]) -> None:
    """Routes credentials by origin for every REST call MLflow makes from now on."""
    for name in _ENV_CREDENTIALS:
        # Read by get_default_host_creds for every server: never let them through.
        os.environ.pop(name, None)
    original = mlflow_credentials.get_default_host_creds

    def creds_for(store_uri):
        found = per_origin.get(origin_of(str(store_uri)) or "", ServerCredentials())
        base = original(store_uri)
        base.token = found.token
        base.username = found.username
        base.password = found.password
        return base

    for module_name in _MODULES:
        module = importlib.import_module(module_name)
        if not hasattr(module, "get_default_host_creds"):
            raise CredentialsError(
                f"{module_name} no longer has get_default_host_creds: this MLflow finds credentials "
                "differently, so the migration cannot keep the two servers' credentials apart."
            )
        module.get_default_host_creds = creds_for
