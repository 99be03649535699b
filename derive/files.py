"""Writing output files safely: never a half-written file.

Each file is written to a temporary file in the same folder and renamed over
the target, so a reader sees the old file or the new one, never a mix.  A
folder or file that cannot be written raises :class:`errors.Unwritable`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from derive import errors


def write_text(path: Path, content: str) -> Path:
    """``content`` as UTF-8 into ``path``, atomically; returns ``path``."""
    return write_bytes(path, content.encode("utf-8"))


def write_bytes(path: Path, content: bytes) -> Path:
    """``content`` into ``path`` through a temporary file in the same folder, renamed over it; returns ``path``.

    Folders are made as needed.  However the write ends early (a full disk, an exception, Ctrl-C), the
    temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise errors.Unwritable(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())  # on disk before the rename, so a crash cannot leave an empty file
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise errors.Unwritable(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:  # Ctrl-C, SIGTERM (derive.commands.lifecycle), a bug: the old file stays as it was
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
