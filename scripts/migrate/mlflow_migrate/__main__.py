"""python -m mlflow_migrate copy|verify --from <source> --to <app URL> [options]
(from the repo: npm run migrate -- ...). Guide: docs/migration.md."""

import argparse
import json
import logging
import os
import sys
import time

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from . import credentials, inventory, marks
from .logged_models import copy_logged_model, link_outputs
from .logged_models import search_all as logged_models_of
from .names import MappingError, NameMapper, parse_pairs, refuse_collisions
from .registry import VersionSourceError, copy_version, ensure_model, search_all_models, source_aliases, versions_of
from .runs import copy_run
from .verify import verify

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="npm run migrate --",
        description="Copy MLflow experiments, runs, logged models and registered models into the app, "
        "idempotently and resumably, or verify a copy.",
    )
    parser.add_argument("command", choices=["copy", "verify"])
    parser.add_argument("--from", dest="source", required=True,
                        help="source tracking URI: http(s)://old-server:5000, sqlite:///mlflow.db, databricks://<profile>")
    parser.add_argument("--from-registry", help="source registry URI (default: the --from URI)")
    parser.add_argument("--to", dest="target", required=True, help="the app's URL (or any MLflow server)")
    parser.add_argument("--experiment-root", help="put every experiment in this workspace folder, e.g. /Shared/migrated")
    parser.add_argument("--experiment-map", action="append", default=[], metavar="SOURCE=TARGET")
    parser.add_argument("--catalog", help="Unity Catalog catalog of the registered models")
    parser.add_argument("--schema", help="Unity Catalog schema of the registered models")
    parser.add_argument("--model-map", action="append", default=[], metavar="SOURCE=TARGET")
    parser.add_argument("--experiment", action="append", default=[], metavar="NAME",
                        help="only this source experiment (repeatable; default: all)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME",
                        help="only this source registered model (repeatable; default: all)")
    parser.add_argument("--dry-run", action="store_true", help="copy: print the plan, write nothing")
    parser.add_argument("--sync", action="store_true",
                        help="copy: also bring complete copies up to date (what was logged at the source since)")
    parser.add_argument("--stages-as-aliases", action="store_true",
                        help="give versions in Staging/Production the alias staging/production (Unity Catalog has no stages)")
    parser.add_argument("--hashes", action="store_true", help="verify: also download both sides' files and compare SHA-256")
    parser.add_argument("--summary-json", help="write the counts as JSON to this file")
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(message, flush=True)


class Migration:
    def __init__(self, args, mapper: NameMapper):
        self.args = args
        self.mapper = mapper
        self.source = MlflowClient(tracking_uri=args.source, registry_uri=args.from_registry or args.source)
        self.target = MlflowClient(tracking_uri=args.target, registry_uri=args.target)
        self.run_map: dict[str, str] = {}
        self.model_map: dict[str, str] = {}
        self.problems: list[str] = []
        self.counts = {k: 0 for k in ("experiments_created", "runs_copied", "runs_resumed", "runs_skipped",
                                      "runs_updated", "metric_points", "artifact_files", "logged_models_copied",
                                      "logged_models_skipped", "models_created", "versions_copied",
                                      "versions_skipped", "aliases_set")}

    def plan(self):
        experiments = inventory.experiments(self.source, self.args.experiment)
        experiment_targets = {e.name: self.mapper.experiment(e.name) for e in experiments}
        refuse_collisions("experiments", experiment_targets, "--experiment-map")
        models = [m for m in search_all_models(self.source) if not self.args.model or m.name in self.args.model]
        model_targets = {m.name: self.mapper.model(m.name) for m in models}
        refuse_collisions("registered models", model_targets, "--model-map")
        return experiments, experiment_targets, models, model_targets

    def run(self) -> int:
        experiments, experiment_targets, models, model_targets = self.plan()
        verb = "Would copy" if self.args.dry_run else "Copying"
        say(f"{verb} {len(experiments)} experiment(s) and {len(models)} registered model(s) "
            f"from {self.args.source} to {self.args.target}.")
        for experiment in experiments:
            self.copy_experiment(experiment, experiment_targets[experiment.name])
        for model in models:
            self.copy_model(model, model_targets[model.name])
        return self.finish()

    def copy_experiment(self, experiment, target_name: str) -> None:
        existing = self.target.get_experiment_by_name(target_name)
        source_runs = inventory.runs(self.source, experiment.experiment_id)
        copies = inventory.copies_by_source(self.target, existing.experiment_id if existing else None)
        done = sum(1 for r in source_runs if (c := inventory.best_copy(copies.get(r.info.run_id)))
                   and marks.is_complete(c.data.tags))
        state = "exists" if existing else "new"
        if not target_name.startswith("/"):
            state += ", in the app's experiment folder"
        say(f"experiment {experiment.name!r} -> {target_name!r} ({state}): {len(source_runs)} run(s), "
            f"{done} already copied")
        if self.args.dry_run:
            return
        if existing is None:
            tags = {**marks.copied_tags(experiment.tags or {}), marks.SOURCE_EXPERIMENT_ID: experiment.experiment_id}
            target_id = self.target.create_experiment(target_name, tags=tags)
            self.counts["experiments_created"] += 1
        else:
            target_id = existing.experiment_id

        for index, run in enumerate(source_runs, start=1):
            copy = inventory.best_copy(copies.get(run.info.run_id))
            label = f"  run {index}/{len(source_runs)} {run.info.run_id}"
            complete = copy is not None and marks.is_complete(copy.data.tags)
            if complete and not self.args.sync:
                self.run_map[run.info.run_id] = copy.info.run_id
                self.counts["runs_skipped"] += 1
                continue
            result = copy_run(self.source, self.target, run, target_id, copy, self.args.source)
            self.run_map[run.info.run_id] = result.target_run_id
            if complete and not result.changed:
                self.counts["runs_skipped"] += 1
                continue
            kind = "runs_updated" if complete else "runs_resumed" if result.resumed else "runs_copied"
            self.counts[kind] += 1
            self.counts["metric_points"] += result.metric_points
            self.counts["artifact_files"] += result.artifact_files
            how = {"runs_updated": "brought up to date", "runs_resumed": "finished", "runs_copied": "copied"}[kind]
            say(f"{label} -> {result.target_run_id}: {how} ({result.metric_points} metric point(s), "
                f"{result.artifact_files} file(s))")

        # Parents are mapped once every run of the experiment has its copy; a copy that already
        # points at its parent's copy is left alone, so a rerun writes nothing.
        for run in source_runs:
            parent = run.data.tags.get(marks.PARENT_TAG)
            if parent not in self.run_map:
                continue
            earlier = inventory.best_copy(copies.get(run.info.run_id))
            if earlier is None or earlier.data.tags.get(marks.PARENT_TAG) != self.run_map[parent]:
                self.target.set_tag(self.run_map[run.info.run_id], marks.PARENT_TAG, self.run_map[parent])

        self.copy_logged_models(experiment, target_id, source_runs)

    def copy_logged_models(self, experiment, target_id: str, source_runs) -> None:
        existing: dict[str, object] = {}
        for model in logged_models_of(self.target, target_id):
            source_id = model.tags.get(marks.SOURCE_MODEL_ID)
            if source_id and (source_id not in existing or marks.is_complete(model.tags)):
                existing[source_id] = model
        for model in logged_models_of(self.source, experiment.experiment_id):
            copy = existing.get(model.model_id)
            if copy is not None and marks.is_complete(copy.tags):
                self.model_map[model.model_id] = copy.model_id
                self.counts["logged_models_skipped"] += 1
                continue
            target_model_id = copy_logged_model(self.source, self.target, self.args.source, model, target_id,
                                                self.run_map, copy)
            self.model_map[model.model_id] = target_model_id
            self.counts["logged_models_copied"] += 1
            say(f"  logged model {model.name!r} {model.model_id} -> {target_model_id}")
        for run in source_runs:
            if run.info.run_id in self.run_map:
                link_outputs(self.target, run, self.run_map[run.info.run_id], self.model_map)

    def copy_model(self, model, target_name: str) -> None:
        versions = versions_of(self.source, model.name)
        say(f"registered model {model.name!r} -> {target_name!r}: {len(versions)} version(s), "
            f"aliases {sorted((model.aliases or {}).keys())}")
        if self.args.dry_run:
            return
        if ensure_model(self.target, model, target_name):
            self.counts["models_created"] += 1
        copies = {}
        for version in versions_of(self.target, target_name):
            marked = (version.tags or {}).get(marks.SOURCE_VERSION)
            if marked:
                copies[marked] = version
        version_map = {}
        for version in versions:
            key = f"{model.name}/{version.version}"
            try:
                number, copied = copy_version(self.target, version, target_name, self.run_map, self.model_map,
                                              copies.get(key))
            except VersionSourceError as error:
                self.problems.append(str(error))
                say(f"  not copied: {error}")
                continue
            except MlflowException as error:
                # Unity Catalog refuses some versions for good (no signature in the MLmodel, a
                # source it cannot read): running again would stop at the same place, so the
                # version is listed and the others go on. Anything else (throttling, an outage,
                # a missing grant) stops the attempt.
                if error.error_code != "INVALID_PARAMETER_VALUE":
                    raise
                problem = f"version {version.version} of {model.name!r}: {str(error).splitlines()[0]}"
                self.problems.append(problem)
                say(f"  not copied: {problem}")
                continue
            version_map[version.version] = number
            self.counts["versions_copied" if copied else "versions_skipped"] += 1
            if copied:
                say(f"  version {version.version} -> {target_name} version {number}")
        current = self.target.get_registered_model(target_name).aliases or {}
        for alias, version in source_aliases(model, versions, self.args.stages_as_aliases).items():
            if version in version_map and str(current.get(alias)) != str(version_map[version]):
                self.target.set_registered_model_alias(target_name, alias, version_map[version])
                self.counts["aliases_set"] += 1
                say(f"  alias {alias!r} -> version {version_map[version]}")

    def finish(self) -> int:
        if self.args.summary_json:
            with open(self.args.summary_json, "w") as f:
                json.dump({"counts": self.counts, "problems": self.problems}, f, indent=2)
        if self.args.dry_run:
            say("Dry run: nothing was written.")
            return EXIT_OK
        c = self.counts
        say(f"Done: {c['runs_copied']} run(s) copied, {c['runs_resumed']} finished, {c['runs_updated']} brought up to date, "
            f"{c['runs_skipped']} already there; "
            f"{c['logged_models_copied']} logged model(s) copied; {c['versions_copied']} version(s) registered, "
            f"{c['versions_skipped']} already there; {c['aliases_set']} alias(es) set.")
        if self.problems:
            say(f"{len(self.problems)} object(s) could not be copied (listed above as 'not copied').")
            return EXIT_FAILED
        return EXIT_OK


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # MLflow's own progress bars and info lines would bury the migration's.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    try:
        mapper = NameMapper(
            experiment_root=args.experiment_root,
            experiment_map=parse_pairs(args.experiment_map, "--experiment-map"),
            catalog=args.catalog,
            schema=args.schema,
            model_map=parse_pairs(args.model_map, "--model-map"),
        )
    except MappingError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return EXIT_USAGE
    problems = mapper.check()
    if problems:
        for problem in problems:
            print(f"migrate: {problem}", file=sys.stderr)
        return EXIT_USAGE
    per_origin = {}
    for uri, prefix in ((args.source, "MIGRATE_SOURCE"), (args.target, "MIGRATE_TARGET")):
        origin = credentials.origin_of(uri)
        if origin:
            per_origin[origin] = credentials.from_environment(prefix)
    credentials.install(per_origin)

    started = time.monotonic()
    try:
        if args.command == "verify":
            code = verify(args, mapper)
        else:
            code = Migration(args, mapper).run()
    except MappingError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("migrate: interrupted. What was copied is kept; run the same command again to finish.", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - any failure ends the attempt the same way
        if os.environ.get("MIGRATE_DEBUG"):
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "Parent directory" in message:
            # Databricks creates an experiment only in an existing folder the caller may manage.
            message += (" Create the folder first (databricks workspace mkdirs <folder>) and give the app's "
                        "service principal CAN MANAGE on it, or leave out --experiment-root.")
        print(f"migrate: stopped: {message}\nWhat was copied is kept; run the same command again to resume.",
              file=sys.stderr)
        return EXIT_FAILED
    say(f"({time.monotonic() - started:.1f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
