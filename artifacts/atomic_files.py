"""Writing files so that a failure never leaves a half-written one where a good one was."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def check_writable(folder: str | os.PathLike, argument: str) -> Path:
    """Creates `folder` if needed and proves it can be written, naming `argument` if it cannot."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"{argument}: cannot write to {folder} ({error.strerror or error}).") from error
    return folder


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes: ties results (sweep, export) to the exact weights they were made from."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: str | os.PathLike, argument: str) -> dict:
    """A JSON file berxit wrote; a damaged one (truncated, edited by hand) is named with the way to remake it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{argument}: {path} is damaged ({error}); the command that wrote it must run again."
        ) from None


def default_mode(path: Path, folder: bool = False) -> int:
    """The permissions a new file or folder gets under the umask, or the ones `path` already has (read without
    following a link: a link to a device such as /dev/full lends it nothing)."""
    if not path.is_symlink() and (path.is_dir() if folder else path.is_file()):
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


def write_text_atomic(path: str | os.PathLike, text: str, *, replace: bool = True) -> None:
    """Writes a sibling temporary file, then renames it over `path` (with the mode `path` has, or the umask's).
    With `replace=False` an existing `path` is never replaced, even one another process made meanwhile."""
    write_bytes_atomic(path, text.encode("utf-8"), replace=replace)


def write_bytes_atomic(path: str | os.PathLike, content: bytes, *, replace: bool = True) -> None:
    """`write_text_atomic` for bytes. The temporary file is removed if anything fails, and the error names `path`."""
    path = Path(path)
    mode = default_mode(path)
    temporary = None
    try:
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
            temporary = f.name
            f.write(content)
        os.chmod(temporary, mode)
        publish_file(temporary, path, replace=replace)
    except OSError as error:
        raise OSError(f"{path}: could not be written ({error.strerror or error}); nothing was left there.") from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def publish_file(source: str | os.PathLike, path: str | os.PathLike, *, replace: bool) -> None:
    """Moves the finished file `source` to `path` in one step. With `replace=False` an existing `path` is never
    replaced, even one another process made meanwhile (a link fails where a name is taken; a rename would not)."""
    if replace:
        os.replace(source, path)
        return
    try:
        os.link(source, path)
    except FileExistsError:
        raise ValueError(f"output: {path} exists (written meanwhile?); pass --overwrite to replace it.") from None
    os.unlink(source)


def replace_folder_atomic(target: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Builds a folder with `write(folder)` beside `target`, then swaps it in; on failure `target` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for kind in ("new", "old"):  # folders a killed earlier write left behind
        for stale in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"):
            shutil.rmtree(stale, ignore_errors=True)
    mode = default_mode(target, folder=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
    os.chmod(staging, mode)  # mkdtemp's 0700 would make the published folder private
    try:
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, retired / target.name)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)
    return target
