"""Where each source object goes: experiment names to workspace paths (or names the app
files under its experiment root), registered model names to Unity Catalog's
catalog.schema.model. Two sources that would land on one target are refused up front,
because copying them into one object could not be undone."""

import re
from dataclasses import dataclass, field


class MappingError(Exception):
    pass


def parse_pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        source, sep, target = value.partition("=")
        if not sep or not source or not target:
            raise MappingError(f"{option} {value!r} is not SOURCE=TARGET.")
        pairs[source] = target
    return pairs


# Unity Catalog names: letters, digits and underscores are safe everywhere; Databricks
# stores them lower-cased.
_UC_UNSAFE = re.compile(r"[^a-z0-9_]+")
_UC_PART = re.compile(r"^[A-Za-z0-9_]+$")


def uc_model_name(name: str) -> str:
    cleaned = _UC_UNSAFE.sub("_", name.lower()).strip("_")
    return cleaned or "model"


@dataclass
class NameMapper:
    experiment_root: str | None = None
    experiment_map: dict[str, str] = field(default_factory=dict)
    catalog: str | None = None
    schema: str | None = None
    model_map: dict[str, str] = field(default_factory=dict)

    def check(self) -> list[str]:
        problems = []
        if self.experiment_root is not None and (
            not self.experiment_root.startswith("/") or self.experiment_root.endswith("/")
        ):
            problems.append(
                f"--experiment-root {self.experiment_root!r} must be an absolute workspace folder "
                "without a trailing slash, such as /Shared/migrated."
            )
        if (self.catalog is None) != (self.schema is None):
            problems.append("--catalog and --schema go together: give both, or neither.")
        for label, value in (("--catalog", self.catalog), ("--schema", self.schema)):
            if value is not None and not _UC_PART.match(value):
                problems.append(f"{label} {value!r} may hold only letters, digits and underscores.")
        return problems

    def experiment(self, name: str) -> str:
        if name in self.experiment_map:
            return self.experiment_map[name]
        if self.experiment_root is None:
            # A plain name is filed by the app under its experiment root; a workspace
            # path (from another workspace) stays where it was.
            return name
        return f"{self.experiment_root}/{name.rstrip('/').rsplit('/', 1)[-1]}"

    def model(self, name: str) -> str:
        if name in self.model_map:
            return self.model_map[name]
        if self.catalog is None:
            return name
        return f"{self.catalog}.{self.schema}.{uc_model_name(name)}"


def refuse_collisions(kind: str, mapping: dict[str, str], option: str) -> None:
    """mapping: source name -> target name. Target names compare case-insensitively,
    as Databricks compares them."""
    seen: dict[str, str] = {}
    for source, target in mapping.items():
        key = target.lower()
        if key in seen:
            raise MappingError(
                f"{kind} {seen[key]!r} and {source!r} would both be copied to {target!r}: "
                f"give one of them its own target with {option} SOURCE=TARGET."
            )
        seen[key] = source
