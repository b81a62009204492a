"""The file listing both runs and logged models need: MLflow lists one folder per call."""


def file_sizes(list_folder, path=None) -> dict[str, int]:
    """Every file below `path`: relative path -> size in bytes. list_folder(path) answers
    MLflow's FileInfo entries of one folder (client.list_artifacts and the like)."""
    found = {}
    for info in list_folder(path):
        if info.is_dir:
            found.update(file_sizes(list_folder, info.path))
        else:
            found[info.path] = info.file_size or 0
    return found
