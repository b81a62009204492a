"""Usage: python search_experiments.py <tracking uri>. Prints the experiment names as JSON."""

import json
import sys

from mlflow import MlflowClient

client = MlflowClient(sys.argv[1])
print(json.dumps({"names": sorted(e.name for e in client.search_experiments())}))
