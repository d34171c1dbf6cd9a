"""Deployment bundles: the diagrams, forms and procedure config that make one version.

A bundle is read from a folder or a .zip and kept as plain bytes per relative path. Only
three kinds of file belong to it: ``*.bpmn`` at the top level, ``forms/*.json`` and one
``procedure.toml``. Everything else (READMEs, hidden files, ``__MACOSX``, editor backups)
is ignored, so an admin can zip the ``bpmn/`` folder as it is.

Reading is defensive because a bundle is an upload: sizes are bounded before anything is
decompressed (declared sizes first, then the actual bytes, in case the headers lie), member
paths that could escape a folder (``../``, absolute, drive letters) refuse the whole
archive, and symlinks leading out of a bundle folder are refused. Nothing here is ever
written to disk.

The content hash identifies a version: it covers the kept files only, in sorted order,
each path and content length-prefixed, so the same content gives the same hash whether
it came from a folder or a zip and whatever the order or timestamps of the members.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from types import MappingProxyType

__all__ = [
    "CONFIG_NAME",
    "FORMS_DIR",
    "MAX_BUNDLE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_FILES",
    "MAX_ZIP_ENTRIES",
    "Bundle",
    "BundleError",
    "bundle_from_files",
    "bundle_from_zip",
    "load_bundle",
]

MiB = 1024 * 1024
MAX_FILE_BYTES = 5 * MiB
"""Largest single kept file (uncompressed)."""
MAX_BUNDLE_BYTES = 20 * MiB
"""Largest total of the kept files (uncompressed)."""
MAX_FILES = 500
"""Most kept files in one bundle."""
MAX_ZIP_ENTRIES = 5000
"""Most entries of any kind in a zip (ignored ones included): bounds the work of listing it."""
MAX_ZIP_BYTES = 2 * MAX_BUNDLE_BYTES
"""Largest zip accepted at all (ignored members can make a zip bigger than its bundle)."""

CONFIG_NAME = "procedure.toml"
FORMS_DIR = "forms"
BPMN_SUFFIX = ".bpmn"
FORM_SUFFIX = ".json"

_HASH_DOMAIN = b"deployment-bundle/v1\0"
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_IGNORED_DIRS = frozenset({"__MACOSX"})


class BundleError(Exception):
    """The bundle cannot be read at all (as opposed to read and found invalid)."""


@dataclass(frozen=True, eq=False)
class Bundle:
    """The kept files of a bundle, relative POSIX path -> bytes, read-only and sorted."""

    files: Mapping[str, bytes]

    def __post_init__(self) -> None:
        frozen = MappingProxyType({path: bytes(self.files[path]) for path in sorted(self.files)})
        object.__setattr__(self, "files", frozen)

    @cached_property
    def content_hash(self) -> str:
        digest = hashlib.sha256(_HASH_DOMAIN)
        for path, data in self.files.items():  # sorted in __post_init__
            encoded = path.encode("utf-8")
            digest.update(len(encoded).to_bytes(8, "big"))
            digest.update(encoded)
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()

    @property
    def bpmn_files(self) -> dict[str, bytes]:
        return {path: data for path, data in self.files.items() if path.endswith(BPMN_SUFFIX)}

    @property
    def form_files(self) -> dict[str, bytes]:
        """Forms keyed by their name inside ``forms/`` ("review.json"), as diagrams name them."""
        prefix = FORMS_DIR + "/"
        return {path[len(prefix) :]: data for path, data in self.files.items() if path.startswith(prefix)}

    @property
    def config_bytes(self) -> bytes | None:
        return self.files.get(CONFIG_NAME)

    def to_zip(self) -> bytes:
        """The bundle as a zip that is byte-for-byte the same for the same content."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path, data in self.files.items():
                info = zipfile.ZipInfo(path, date_time=_ZIP_TIMESTAMP)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix, whatever the machine
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, data, compresslevel=9)
        return buffer.getvalue()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bundle):
            return NotImplemented
        return dict(self.files) == dict(other.files)

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def __repr__(self) -> str:
        return f"Bundle({len(self.files)} files, {self.content_hash[:12]})"


# --------------------------------------------------------------------------- public readers


def load_bundle(path: str | Path) -> Bundle:
    """Read a bundle folder, a bundle .zip, or one .bpmn file (a bundle of that diagram alone)."""
    path = Path(path)
    try:
        if path.is_dir():
            return _bundle_from_folder(path)
        if path.is_file() and path.suffix.lower() == BPMN_SUFFIX:
            with path.open("rb") as stream:
                content = stream.read(MAX_FILE_BYTES + 1)
            _check_file_size(path.name, len(content))
            return Bundle({path.name: content})
        if path.is_file():
            size = path.stat().st_size
            if size > MAX_ZIP_BYTES:
                raise BundleError(f"{path.name}: the file is {size} bytes, more than {MAX_ZIP_BYTES}")
            if not zipfile.is_zipfile(path):
                raise BundleError(f"{path.name}: not a folder, a zip archive or a .bpmn file")
            return _bundle_from_zip(path.read_bytes(), path.name)
    except OSError as error:
        raise BundleError(f"{path}: cannot be read ({error.strerror or error})") from error
    raise BundleError(f"{path}: no such folder or file")


def bundle_from_zip(data: bytes) -> Bundle:
    """Read a bundle from the bytes of a zip (an upload, or a stored version)."""
    return _bundle_from_zip(data, "bundle.zip")


def bundle_from_files(files: Mapping[str, bytes]) -> Bundle:
    """A bundle from relative paths and contents; files that do not belong are dropped."""
    kept: dict[str, bytes] = {}
    for raw_path, data in files.items():
        path = _safe_member_path(raw_path, "bundle")
        if path is None or not _belongs(path):
            continue
        if not isinstance(data, bytes | bytearray | memoryview):
            raise BundleError(f"{path}: content must be bytes, got {type(data).__name__}")
        if path in kept:
            raise BundleError(f"{path}: given twice")
        _check_file_size(path, len(data))
        kept[path] = bytes(data)
    _check_totals(kept)
    return Bundle(kept)


# --------------------------------------------------------------------------- paths


def _belongs(path: str) -> bool:
    """Whether a normalized relative path is one of the three kinds of bundle file."""
    parts = path.split("/")
    if any(part.startswith(".") or part in _IGNORED_DIRS for part in parts):
        return False
    if len(parts) == 1:
        return path == CONFIG_NAME or path.endswith(BPMN_SUFFIX)
    return len(parts) == 2 and parts[0] == FORMS_DIR and parts[1].endswith(FORM_SUFFIX)


def _safe_member_path(raw: str, container: str) -> str | None:
    """Normalize a member path; None for a directory entry; BundleError if it could escape."""
    if not isinstance(raw, str):
        raise BundleError(f"{container}: a path is not a string: {raw!r}")
    path = raw.replace("\\", "/")
    if path.endswith("/"):
        return None
    if "\0" in path:
        raise BundleError(f"{container}: member {raw!r} has a NUL byte in its name")
    pure = PurePosixPath(path)
    if pure.is_absolute() or (len(path) >= 2 and path[1] == ":"):
        raise BundleError(f"{container}: member {raw!r} has an absolute path")
    parts = [part for part in pure.parts if part != "."]
    if ".." in parts:
        raise BundleError(f"{container}: member {raw!r} points outside the bundle ('..')")
    if not parts:
        return None
    return "/".join(parts)


def _strip_common_folder(paths: list[str]) -> str:
    """The single top folder every member sits in ("bpmn/" when a folder was zipped), or ""."""
    meaningful = [
        p
        for p in paths
        if p.endswith((BPMN_SUFFIX, FORM_SUFFIX, ".toml"))
        and not any(_ignored_part(part) for part in p.split("/"))
    ]
    if not meaningful or any("/" not in p for p in meaningful):
        return ""
    tops = {p.split("/", 1)[0] for p in meaningful}
    if len(tops) != 1:
        return ""
    top = tops.pop()
    if top == FORMS_DIR:
        return ""
    return top + "/"


def _ignored_part(part: str) -> bool:
    return part.startswith(".") or part in _IGNORED_DIRS


# --------------------------------------------------------------------------- limits


def _check_file_size(path: str, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise BundleError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} allowed per file")


def _check_totals(files: Mapping[str, bytes]) -> None:
    if len(files) > MAX_FILES:
        raise BundleError(f"bundle: {len(files)} files, more than the {MAX_FILES} allowed")
    total = sum(len(data) for data in files.values())
    if total > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle: {total} bytes, more than the {MAX_BUNDLE_BYTES} allowed")


# --------------------------------------------------------------------------- zip


def _bundle_from_zip(data: bytes, zip_name: str) -> Bundle:
    if len(data) > MAX_ZIP_BYTES:
        raise BundleError(f"{zip_name}: {len(data)} bytes, more than the {MAX_ZIP_BYTES} allowed")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise BundleError(f"{zip_name}: not a readable zip archive ({error})") from error
    with archive:
        selected = _select_members(archive, zip_name)
        _check_declared_sizes(selected, zip_name)
        # Then the actual bytes, never reading past the limits (headers can lie).
        files: dict[str, bytes] = {}
        budget = MAX_BUNDLE_BYTES
        for path, info in selected.items():
            limit = min(MAX_FILE_BYTES, budget)
            content = _read_member(archive, info, limit, f"{zip_name}: {path}")
            budget -= len(content)
            files[path] = content
    return Bundle(files)


def _select_members(archive: zipfile.ZipFile, zip_name: str) -> dict[str, zipfile.ZipInfo]:
    """The members that are bundle files, by path inside the bundle (a zipped folder's top stripped)."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise BundleError(f"{zip_name}: {len(infos)} entries, more than the {MAX_ZIP_ENTRIES} allowed")
    members: list[tuple[str, zipfile.ZipInfo]] = []
    for info in infos:
        path = _safe_member_path(info.filename, zip_name)
        if path is not None:
            members.append((path, info))
    prefix = _strip_common_folder([path for path, _ in members])
    selected: dict[str, zipfile.ZipInfo] = {}
    for path, info in members:
        if not path.startswith(prefix):
            continue
        path = path[len(prefix) :]
        if not _belongs(path):
            continue
        if path in selected:
            raise BundleError(f"{zip_name}: member {path} appears twice")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BundleError(f"{zip_name}: member {path} is a symbolic link")
        if info.flag_bits & 0x1:
            raise BundleError(f"{zip_name}: member {path} is encrypted")
        selected[path] = info
    return selected


def _check_declared_sizes(selected: Mapping[str, zipfile.ZipInfo], zip_name: str) -> None:
    """Declared sizes first: refuse a bomb before decompressing a byte of it."""
    if len(selected) > MAX_FILES:
        raise BundleError(f"{zip_name}: {len(selected)} files, more than the {MAX_FILES} allowed")
    declared_total = 0
    for path, info in selected.items():
        _check_file_size(f"{zip_name}: {path}", info.file_size)
        declared_total += info.file_size
    if declared_total > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"{zip_name}: the files add up to {declared_total} bytes, "
            f"more than the {MAX_BUNDLE_BYTES} allowed"
        )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, label: str) -> bytes:
    try:
        with archive.open(info) as stream:
            content = stream.read(limit + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as error:
        # BadZipFile covers CRC mismatches, which is also what a lying size header produces.
        raise BundleError(
            f"{label}: cannot be decompressed; the archive is damaged or its size headers are wrong ({error})"
        ) from error
    if len(content) > limit:
        raise BundleError(
            f"{label}: decompresses to more than its declared size or the bundle limits "
            f"({MAX_FILE_BYTES} bytes per file, {MAX_BUNDLE_BYTES} in all)"
        )
    return content


# --------------------------------------------------------------------------- folder


def _bundle_from_folder(folder: Path) -> Bundle:
    root = folder.resolve()
    candidates: list[tuple[str, Path]] = []
    for entry in sorted(root.iterdir()):
        if entry.is_file() and _belongs(entry.name):
            candidates.append((entry.name, entry))
    forms = root / FORMS_DIR
    if forms.is_dir():
        for entry in sorted(forms.iterdir()):
            relative = f"{FORMS_DIR}/{entry.name}"
            if entry.is_file() and _belongs(relative):
                candidates.append((relative, entry))
    if len(candidates) > MAX_FILES:
        raise BundleError(f"{folder}: {len(candidates)} files, more than the {MAX_FILES} allowed")

    files: dict[str, bytes] = {}
    total = 0
    for relative, entry in candidates:
        resolved = entry.resolve()
        if not resolved.is_relative_to(root):
            raise BundleError(f"{relative}: a link that leads outside the bundle folder")
        size = resolved.stat().st_size
        _check_file_size(relative, size)
        total += size
        if total > MAX_BUNDLE_BYTES:
            raise BundleError(f"{folder}: the files add up to more than {MAX_BUNDLE_BYTES} bytes")
        with resolved.open("rb") as stream:
            content = stream.read(MAX_FILE_BYTES + 1)
        _check_file_size(relative, len(content))  # it may have grown since stat()
        files[relative] = content
    _check_totals(files)
    return Bundle(files)
