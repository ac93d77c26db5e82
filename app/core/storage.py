"""Content-addressed file storage: a file is stored under the SHA-256 of its bytes.

Identical bytes are stored once, a stored file can be re-checked against its name, and
nothing ever overwrites what is there. Only local directories for now (STORAGE_URL
file:...); the S3-compatible backend comes with the vendor evidence uploads.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.core.settings import storage_directory


class StorageError(OSError):
    pass


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_url(cls, storage_url: str) -> LocalStorage:
        return cls(storage_directory(storage_url))

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
            raise StorageError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> Stored:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write aside, then rename: a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return Stored(sha256=digest, size=len(data))

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no stored file {sha256}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StorageError(f"stored file {sha256} does not match its checksum")
        return data
