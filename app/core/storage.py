"""Content-addressed file storage: a file is stored under the SHA-256 of its bytes.

Identical bytes are stored once, a stored file can be re-checked against its name, and
nothing ever overwrites what is there. Two backends behind one small interface: a local
directory (STORAGE_URL=file:var/evidence, the default) and any S3-compatible object
store (STORAGE_URL=s3://bucket/prefix) for several instances. Both are synchronous;
callers run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlsplit

from app.core.settings import storage_directory

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

HEX = frozenset("0123456789abcdef")


class StorageError(OSError):
    pass


class AlteredFileError(StorageError):
    """The stored bytes no longer match their SHA-256: changed in storage, never served."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"stored file {sha256} does not match its checksum")
        self.sha256 = sha256


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


def check_name(sha256: str) -> str:
    if len(sha256) != 64 or not set(sha256) <= HEX:
        raise StorageError(f"not a SHA-256: {sha256!r}")
    return sha256


def verified(sha256: str, data: bytes) -> bytes:
    if hashlib.sha256(data).hexdigest() != sha256:
        raise AlteredFileError(sha256)
    return data


@runtime_checkable
class FileStore(Protocol):
    def put(self, data: bytes, sha256: str | None = None) -> Stored:
        """Store `data` under its SHA-256, unless those bytes are stored already. `sha256`, when
        the caller has it, is its own digest of these very bytes (every read checks it again)."""

    def get(self, sha256: str) -> bytes:
        """The stored bytes, checked against their name (StorageError if missing or altered)."""

    def names(self) -> Iterator[str]:
        """Every stored SHA-256, for `dpa evidence verify`."""

    def modified(self, sha256: str) -> datetime:
        """When the object was written (UTC): an unreferenced one may be an upload still in flight."""

    def delete(self, sha256: str) -> None:
        """Remove an object no row refers to (`dpa evidence verify --delete-orphans`)."""


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        check_name(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes, sha256: str | None = None) -> Stored:
        digest = sha256 or hashlib.sha256(data).hexdigest()
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
        try:
            data = self._path(sha256).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no stored file {sha256}") from None
        return verified(sha256, data)

    def names(self) -> Iterator[str]:
        for path in sorted(self.root.glob("??/??/*")):
            if path.is_file() and not path.name.startswith("."):
                yield path.name

    def modified(self, sha256: str) -> datetime:
        return datetime.fromtimestamp(self._path(sha256).stat().st_mtime, UTC)

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)


class S3Storage:
    """An S3-compatible bucket. Credentials, region and endpoint come from the usual
    AWS_* environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    AWS_ENDPOINT_URL for a non-AWS store), read by boto3 itself."""

    def __init__(self, bucket: str, prefix: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client

    def _key(self, sha256: str) -> str:
        check_name(sha256)
        return (
            f"{self.prefix}/{sha256[:2]}/{sha256[2:4]}/{sha256}"
            if self.prefix
            else f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
        )

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"object store: {error}") from None
        return True

    def put(self, data: bytes, sha256: str | None = None) -> Stored:
        digest = sha256 or hashlib.sha256(data).hexdigest()
        key = self._key(digest)
        # Never overwrite: what is there under this name is already these bytes.
        if not self._exists(key):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/octet-stream")
        return Stored(sha256=digest, size=len(data))

    def get(self, sha256: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise StorageError(f"no stored file {sha256}") from None
            raise StorageError(f"object store: {error}") from None
        return verified(sha256, response["Body"].read())

    def names(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        start = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if len(name) == 64 and set(name) <= HEX:
                    yield name

    def modified(self, sha256: str) -> datetime:
        modified: datetime = self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))["LastModified"]
        return modified

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))


def open_storage(storage_url: str) -> FileStore:
    parts = urlsplit(storage_url)
    if parts.scheme == "s3":
        return S3Storage(parts.netloc, parts.path)
    return LocalStorage(storage_directory(storage_url))
