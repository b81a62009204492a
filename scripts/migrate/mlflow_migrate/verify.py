"""Compares a copy with its source: for every source run, logged model and registered
model, its copy must exist once and hold the same values; with --hashes the files of
both sides are downloaded and compared by SHA-256. Prints counts side by side and every
difference; exit 1 when there is one."""

import hashlib
import json
import os
import tempfile

import mlflow
from mlflow import MlflowClient

from . import inventory, marks
from .logged_models import list_files as model_files
from .logged_models import search_all as logged_models_of
from .names import refuse_collisions
from .registry import search_all_models, source_aliases, versions_of
from .runs import list_files as run_files
from .runs import metric_history

_COUNTED = ("experiments", "runs", "params", "metric_points", "artifact_files", "artifact_bytes",
            "logged_models", "registered_models", "versions", "aliases")


def _sha256_tree(root: str) -> dict[str, str]:
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            full = os.path.join(folder, name)
            digest = hashlib.sha256()
            with open(full, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            found[os.path.relpath(full, root).replace(os.sep, "/")] = digest.hexdigest()
    return found


class Verifier:
    def __init__(self, args, mapper):
        self.args = args
        self.mapper = mapper
        self.source = MlflowClient(tracking_uri=args.source, registry_uri=args.from_registry or args.source)
        self.target = MlflowClient(tracking_uri=args.target, registry_uri=args.target)
        self.counts = {side: dict.fromkeys(_COUNTED, 0) for side in ("source", "target")}
        self.differences: list[str] = []
        self.run_map: dict[str, str] = {}
        self.model_map: dict[str, str] = {}

    def differ(self, what: str, source_value, target_value) -> None:
        if source_value != target_value:
            self.differences.append(f"{what}: source {source_value!r}, copy {target_value!r}")

    def count(self, key: str, source_value: int, target_value: int) -> None:
        self.counts["source"][key] += source_value
        self.counts["target"][key] += target_value

    def run(self) -> int:
        experiments = inventory.experiments(self.source, self.args.experiment)
        targets = {e.name: self.mapper.experiment(e.name) for e in experiments}
        refuse_collisions("experiments", targets, "--experiment-map")
        for experiment in experiments:
            self.experiment(experiment, targets[experiment.name])
        for model in search_all_models(self.source):
            if not self.args.model or model.name in self.args.model:
                self.registered_model(model, self.mapper.model(model.name))
        return self.report()

    def experiment(self, experiment, target_name: str) -> None:
        copy = self.target.get_experiment_by_name(target_name)
        self.count("experiments", 1, 1 if copy else 0)
        if copy is None:
            self.differences.append(f"experiment {experiment.name!r}: no copy at {target_name!r}")
            return
        copies = inventory.copies_by_source(self.target, copy.experiment_id)
        for run in inventory.runs(self.source, experiment.experiment_id):
            found = copies.get(run.info.run_id, [])
            label = f"run {run.info.run_id} of {experiment.name!r}"
            if len(found) != 1:
                self.differences.append(f"{label}: {len(found)} copies (expected 1)")
            if not found:
                continue
            self.compare_run(label, run, found[0])
        self.compare_logged_models(experiment, copy)

    def compare_run(self, label: str, run, copy) -> None:
        self.run_map[run.info.run_id] = copy.info.run_id
        self.count("runs", 1, 1)
        s, t = run.info, copy.info
        self.differ(f"{label} state of the copy", marks.COMPLETE, copy.data.tags.get(marks.STATE))
        for field in ("run_name", "status", "start_time", "end_time"):
            self.differ(f"{label} {field}", getattr(s, field), getattr(t, field))
        self.differ(f"{label} author", s.user_id or run.data.tags.get(marks.USER_TAG, ""), copy.data.tags.get(marks.SOURCE_USER))
        self.differ(f"{label} params", run.data.params, copy.data.params)
        self.count("params", len(run.data.params), len(copy.data.params))
        self.differ(f"{label} tags", marks.copied_tags(run.data.tags), marks.copied_tags(copy.data.tags))
        points = sorted((m.key, m.step, m.timestamp, m.value) for m in metric_history(self.source, s.run_id, run.data.metrics))
        copied = sorted((m.key, m.step, m.timestamp, m.value) for m in metric_history(self.target, t.run_id, copy.data.metrics))
        self.count("metric_points", len(points), len(copied))
        if points != copied:
            self.differences.append(f"{label} metric history: {len(points)} point(s) at the source, {len(copied)} in the copy, not the same")
        files, copied_files = run_files(self.source, s.run_id), run_files(self.target, t.run_id)
        self.count("artifact_files", len(files), len(copied_files))
        self.count("artifact_bytes", sum(files.values()), sum(copied_files.values()))
        self.differ(f"{label} files (path: size)", files, copied_files)
        if self.args.hashes and files:
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                self.differ(f"{label} file hashes",
                            _sha256_tree(self.source.download_artifacts(s.run_id, "", a)),
                            _sha256_tree(self.target.download_artifacts(t.run_id, "", b)))

    def compare_logged_models(self, experiment, copy) -> None:
        copies: dict[str, list] = {}
        for model in logged_models_of(self.target, copy.experiment_id):
            if model.tags.get(marks.SOURCE_MODEL_ID):
                copies.setdefault(model.tags[marks.SOURCE_MODEL_ID], []).append(model)
        for model in logged_models_of(self.source, experiment.experiment_id):
            found = copies.get(model.model_id, [])
            label = f"logged model {model.model_id} ({model.name!r})"
            self.count("logged_models", 1, min(len(found), 1))
            if len(found) != 1:
                self.differences.append(f"{label}: {len(found)} copies (expected 1)")
                if not found:
                    continue
            other = found[0]
            self.model_map[model.model_id] = other.model_id
            self.differ(f"{label} name", model.name, other.name)
            self.differ(f"{label} params", model.params, other.params)
            self.differ(f"{label} status", str(model.status), str(other.status))
            self.differ(f"{label} run", self.run_map.get(model.source_run_id), other.source_run_id)
            self.differ(f"{label} files", model_files(self.source, model.model_id), model_files(self.target, other.model_id))
            if self.args.hashes:
                with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                    self.differ(f"{label} file hashes",
                                _sha256_tree(mlflow.artifacts.download_artifacts(
                                    artifact_uri=model.artifact_location, dst_path=a, tracking_uri=self.args.source)),
                                _sha256_tree(mlflow.artifacts.download_artifacts(
                                    artifact_uri=other.artifact_location, dst_path=b, tracking_uri=self.args.target)))

    def registered_model(self, model, target_name: str) -> None:
        label = f"registered model {model.name!r} -> {target_name!r}"
        versions = versions_of(self.source, model.name)
        try:
            copy = self.target.get_registered_model(target_name)
        except Exception:  # noqa: BLE001 - a missing model is a difference, whatever the error
            self.count("registered_models", 1, 0)
            self.differences.append(f"{label}: no copy")
            return
        self.count("registered_models", 1, 1)
        copies: dict[str, list] = {}
        for version in versions_of(self.target, target_name):
            marked = (version.tags or {}).get(marks.SOURCE_VERSION)
            if marked:
                copies.setdefault(marked, []).append(version)
        version_map = {}
        for version in versions:
            found = copies.get(f"{model.name}/{version.version}", [])
            self.count("versions", 1, min(len(found), 1))
            if len(found) != 1:
                self.differences.append(f"{label} version {version.version}: {len(found)} copies (expected 1)")
                if not found:
                    continue
            other = found[0]
            version_map[version.version] = other.version
            self.differ(f"{label} version {version.version} status", "READY", other.status)
            self.differ(f"{label} version {version.version} run", self.run_map.get(version.run_id), other.run_id or None)
            self.differ(f"{label} version {version.version} tags", marks.copied_tags(version.tags or {}),
                        marks.copied_tags(other.tags or {}))
            self.differ(f"{label} version {version.version} description", version.description or "", other.description or "")
        expected = {alias: version_map.get(v) for alias, v in source_aliases(model, versions, self.args.stages_as_aliases).items()}
        actual = {alias: str(v) for alias, v in (copy.aliases or {}).items() if alias in expected}
        self.count("aliases", len(expected), len(actual))
        self.differ(f"{label} aliases", {a: str(v) for a, v in expected.items()}, actual)

    def report(self) -> int:
        width = max(len(k) for k in _COUNTED)
        print(f"{'':{width}}  {'source':>12}  {'copy':>12}")
        for key in _COUNTED:
            print(f"{key:{width}}  {self.counts['source'][key]:>12}  {self.counts['target'][key]:>12}")
        if self.args.summary_json:
            with open(self.args.summary_json, "w") as f:
                json.dump({"counts": self.counts, "differences": self.differences}, f, indent=2)
        if self.differences:
            print(f"FAILED: {len(self.differences)} difference(s):")
            for difference in self.differences:
                print(f"  {difference}")
            return 1
        hashed = " and file hashes" if self.args.hashes else ""
        print(f"OK: every object has exactly one copy with the same values{hashed}.")
        return 0


def verify(args, mapper) -> int:
    return Verifier(args, mapper).run()
