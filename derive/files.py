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
    return write_bytes(path, content.encode("utf-8"))


def write_bytes(path: Path, content: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise errors.Unwritable(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise errors.Unwritable(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
