"""Tags the migration writes on what it copies. They make a second run copy nothing
twice (each copy names its original), let an interrupted run be finished rather than
started again (a copy is marked complete only after its last byte), and keep the
original ids and authors, which the app cannot keep: it gives every object a new id and
records the caller who writes it (the migration's identity) as the author."""

SOURCE_RUN_ID = "migration.source_run_id"
SOURCE_EXPERIMENT_ID = "migration.source_experiment_id"
SOURCE_MODEL_ID = "migration.source_model_id"
SOURCE_VERSION = "migration.source_version"
SOURCE_MODEL_NAME = "migration.source_model_name"
SOURCE_USER = "migration.source_user"
SOURCE_SERVER = "migration.source_server"
STATE = "migration.state"
COMPLETE = "complete"
PARTIAL = "partial"

# Source tags not copied as they are: the author and name are set through the API (or kept
# under SOURCE_USER), the parent is mapped to its copy, the gateway refuses clients'
# gateway.* tags (it alone records ownership), and a source that was itself a migration
# target must not overwrite this migration's own marks.
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"
PARENT_TAG = "mlflow.parentRunId"
_NOT_COPIED = {RUN_NAME_TAG, USER_TAG, PARENT_TAG}
_NOT_COPIED_PREFIXES = ("gateway.", "migration.")


def is_complete(tags: dict[str, str] | None) -> bool:
    """Whether a copy's tags say its last byte is there."""
    return tags is not None and tags.get(STATE) == COMPLETE


def copied_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k not in _NOT_COPIED and not k.startswith(_NOT_COPIED_PREFIXES)}
