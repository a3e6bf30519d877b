"""Residents' files on disk under RUMOURBOT_MEDIA_DIR, kept only while needed.

Files are named by a random token (never by anything the resident or platform chose), one
directory level, so a name from the database can never point outside the directory.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
              "image/webp": ".webp", "audio/ogg": ".ogg", "audio/mpeg": ".mp3",
              "audio/wav": ".wav", "audio/amr": ".amr", "audio/flac": ".flac",
              "audio/mp4": ".m4a", "video/mp4": ".mp4", "video/webm": ".webm"}
NAME = re.compile(r"[A-Za-z0-9_-]{16,64}\.[a-z0-9]{2,5}")


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "files"

    def save(self, data: bytes, mime_type: str) -> str:
        """Keep `data`; returns its name (to store in the request)."""
        self.files.mkdir(parents=True, exist_ok=True)
        name = secrets.token_urlsafe(18) + EXTENSIONS.get(mime_type, ".bin")
        (self.files / name).write_bytes(data)
        return name

    def path(self, name: str) -> Path | None:
        """The file called `name`, if the name is one of ours and the file is still there."""
        if not NAME.fullmatch(name):
            return None
        path = self.files / name
        return path if path.is_file() else None

    def delete(self, names: list[str]) -> int:
        deleted = 0
        for name in names:
            path = self.path(name)
            if path is not None:
                path.unlink(missing_ok=True)
                deleted += 1
        return deleted

    def purge(self, older_than_seconds: float) -> int:
        """Delete files older than the retention period."""
        if not self.files.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        old = [p for p in self.files.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
        for path in old:
            path.unlink(missing_ok=True)
        return len(old)
