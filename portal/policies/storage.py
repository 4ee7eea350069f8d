"""Policy attachments on disk: under generated names in a folder outside the static folder, so
a file is reached only through the download view and its access check. The user's own file
name lives in the database (``werkzeug.secure_filename("政策.pdf")`` would leave ``"pdf"``).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class PolicyFiles:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def save(self, data: bytes) -> str:
        """Store ``data`` under a new generated key; the file appears whole or not at all."""
        self.folder.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(16)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def path(self, key: str) -> Path:
        # Keys come from our own database, but a path is never built from anything else.
        if not KEY_PATTERN.match(key or ""):
            raise ValueError("not a policy file key")
        return self.folder / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str | None) -> None:
        if key:
            self.path(key).unlink(missing_ok=True)
