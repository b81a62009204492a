"""Print the installed MLflow server's route table as JSON.

The gateway classifies, meters and (later) audits requests by MLflow operation. The
table it uses is read from the installed package rather than written by hand, so a
new MLflow release cannot add a route the gateway silently misclassifies: the test
suite regenerates this table and fails when the committed copy has drifted.

Sources, in the order MLflow's ASGI app resolves them (FastAPI routers first, then
the Flask app mounted at "/"):
  * proto RPCs (mlflow.server.handlers.get_endpoints): operation = RPC name;
  * other Flask rules: operation = view function name;
  * FastAPI routers: operation = endpoint function name.
"""

import json
import re
import sys

from mlflow.protos.service_pb2 import MlflowService
from mlflow.protos.model_registry_pb2 import ModelRegistryService
from mlflow.protos.mlflow_artifacts_pb2 import MlflowArtifactsService
from mlflow.protos.webhooks_pb2 import WebhookService
from mlflow.server import handlers
from mlflow.server.fastapi_app import app as fastapi_app
from mlflow.server import app as flask_app
from mlflow.version import VERSION

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def normalise(path: str) -> str:
    """Flask `<x>`, `<path:x>` and FastAPI `{x}`, `{x:path}` all become `{x}` / `{x:path}`."""
    path = re.sub(r"<path:(\w+)>", r"{\1:path}", path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
    return path


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.strip("_").split("_") if part)


routes: dict[tuple[str, str], dict] = {}


def add(method: str, path: str, operation: str, source: str) -> None:
    key = (method, normalise(path))
    # First registration wins, as in MLflow's own dispatch order.
    routes.setdefault(key, {"method": method, "path": key[1], "operation": operation, "source": source})


def walk_fastapi(routes, prefix: str = ""):
    """Yield (path, methods, endpoint) for every FastAPI route.

    FastAPI >= 0.16x keeps included routers as lazy `_IncludedRouter` entries (with
    `original_router` and `include_context.prefix`) instead of copying their routes, so
    both shapes are walked.
    """
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            context = getattr(route, "include_context", None)
            yield from walk_fastapi(original.routes, prefix + getattr(context, "prefix", ""))
            continue
        methods = getattr(route, "methods", None)
        endpoint = getattr(route, "endpoint", None)
        if methods and endpoint is not None:
            yield prefix + route.path, methods, endpoint


# FastAPI routes take precedence over the Flask mount, so they are registered first.
fastapi_count = 0
for path, methods, endpoint in walk_fastapi(fastapi_app.routes):
    fastapi_count += 1
    for method in sorted(methods - IGNORED_METHODS):
        add(method, path, pascal(endpoint.__name__), "fastapi")
if fastapi_count == 0:
    sys.exit("dump-mlflow-routes: found no FastAPI routes; has FastAPI changed how routers are stored?")

services = {
    "MlflowService": MlflowService,
    "ModelRegistryService": ModelRegistryService,
    "MlflowArtifactsService": MlflowArtifactsService,
    "WebhookService": WebhookService,
}
for service_name, service in services.items():

    def named_handler(request_class, _service=service_name):
        def handler():
            pass

        handler.operation = request_class.DESCRIPTOR.name
        return handler

    for path, handler, methods in handlers.get_service_endpoints(service, named_handler):
        for method in methods:
            add(method, path, handler.operation, f"proto:{service_name}")

for rule in flask_app.url_map.iter_rules():
    view = flask_app.view_functions[rule.endpoint]
    for method in sorted((rule.methods or set()) - IGNORED_METHODS):
        # Flask's own static route is a lambda; its endpoint name ("static") says more.
        name = getattr(view, "__name__", "<lambda>")
        add(method, rule.rule, pascal(rule.endpoint if name == "<lambda>" else name), "flask")

json.dump(
    {
        "mlflowVersion": VERSION,
        "routes": sorted(routes.values(), key=lambda r: (r["path"], r["method"])),
    },
    sys.stdout,
    indent=1,
)
sys.stdout.write("\n")
