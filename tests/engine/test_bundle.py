"""Reading bundles from folders and zips: what is kept, the content hash, and hostile input."""

from __future__ import annotations

import io
import os
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from engine import bundle as bundle_module
from engine.bundle import (
    MAX_BUNDLE_BYTES,
    MAX_FILE_BYTES,
    MAX_FILES,
    Bundle,
    BundleError,
    bundle_from_files,
    bundle_from_zip,
    load_bundle,
)

VALID = Path(__file__).with_name("bundles") / "valid"
KEPT = [
    "archive.bpmn",
    "forms/approve.json",
    "forms/enter.json",
    "forms/escalate.json",
    "main.bpmn",
    "procedure.toml",
]


def zip_of(members: dict[str, bytes], *, reverse: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members, reverse=reverse):
            archive.writestr(name, members[name])
    return buffer.getvalue()


def valid_files() -> dict[str, bytes]:
    return {name: (VALID / name).read_bytes() for name in KEPT}


# --------------------------------------------------------------------------- what is kept


def test_a_folder_keeps_only_bundle_files(tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(VALID, folder)
    (folder / "README.md").write_text("notes")
    (folder / ".hidden.bpmn").write_text("<x/>")
    (folder / "draft.bpmn~").write_text("<x/>")
    (folder / "old").mkdir()
    (folder / "old" / "older.bpmn").write_text("<x/>")
    (folder / "forms" / "nested").mkdir()
    (folder / "forms" / "nested" / "deep.json").write_text("{}")
    (folder / "forms" / "notes.txt").write_text("notes")

    loaded = load_bundle(folder)

    assert list(loaded.files) == KEPT
    assert set(loaded.bpmn_files) == {"archive.bpmn", "main.bpmn"}
    assert set(loaded.form_files) == {"approve.json", "enter.json", "escalate.json"}
    assert loaded.config_bytes == (VALID / "procedure.toml").read_bytes()


def test_a_zip_of_the_folder_gives_the_same_bundle_and_hash(tmp_path):
    from_folder = load_bundle(VALID)
    members = {f"bpmn/{name}": data for name, data in valid_files().items()}
    members["bpmn/README.md"] = b"notes"
    members["README.md"] = b"how to deploy"
    members["__MACOSX/bpmn/._main.bpmn"] = b"\0\5\26\7"
    members["bpmn/.DS_Store"] = b"junk"
    path = tmp_path / "bundle.zip"
    path.write_bytes(zip_of(members, reverse=True))

    from_zip = load_bundle(path)

    assert from_zip == from_folder
    assert from_zip.content_hash == from_folder.content_hash
    assert bundle_from_zip(path.read_bytes()).content_hash == from_folder.content_hash


def test_a_bundle_without_config_still_loads():
    files = valid_files()
    del files["procedure.toml"]
    assert bundle_from_files(files).config_bytes is None


# --------------------------------------------------------------------------- content hash


def test_identical_content_gives_the_same_hash_whatever_the_order():
    files = valid_files()
    forwards = bundle_from_files(files)
    backwards = bundle_from_files(dict(reversed(list(files.items()))))
    assert forwards.content_hash == backwards.content_hash
    assert len(forwards.content_hash) == 64
    assert bundle_from_zip(zip_of(files)).content_hash == forwards.content_hash


def test_one_changed_byte_changes_the_hash():
    files = valid_files()
    changed = dict(files)
    changed["forms/enter.json"] = files["forms/enter.json"].replace(b'"Amount"', b'"Amounu"')
    assert bundle_from_files(changed).content_hash != bundle_from_files(files).content_hash


def test_the_hash_separates_paths_from_contents():
    # Without length prefixes both would hash "a.bpmn" + "xb.bpmn" + "y" the same way.
    one = Bundle({"a.bpmn": b"xb.bpmny"})
    two = Bundle({"a.bpmn": b"x", "b.bpmn": b"y"})
    assert one.content_hash != two.content_hash


def test_to_zip_is_deterministic_and_round_trips():
    files = valid_files()
    first = bundle_from_files(files).to_zip()
    second = bundle_from_files(dict(reversed(list(files.items())))).to_zip()
    assert first == second
    again = bundle_from_zip(first)
    assert again == bundle_from_files(files)
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == KEPT
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_bundle_is_read_only():
    loaded = bundle_from_files(valid_files())
    with pytest.raises(TypeError):
        loaded.files["main.bpmn"] = b"changed"  # type: ignore[index]


# --------------------------------------------------------------------------- hostile zips


@pytest.mark.parametrize(
    "member",
    ["../evil.bpmn", "forms/../../evil.json", "/etc/evil.bpmn", "C:/evil.bpmn", "..\\evil.bpmn"],
)
def test_a_zip_member_escaping_the_bundle_is_refused(member):
    data = zip_of({**valid_files(), member: b"<x/>"})
    with pytest.raises(BundleError) as refused:
        bundle_from_zip(data)
    assert repr(member) in str(refused.value)


def test_an_oversize_member_is_refused_before_reading(monkeypatch):
    data = zip_of({**valid_files(), "huge.bpmn": b"\0" * (MAX_FILE_BYTES + 1)})
    reads = []
    real_read = bundle_module._read_member
    monkeypatch.setattr(
        bundle_module, "_read_member", lambda *args: reads.append(args[-1]) or real_read(*args)
    )
    with pytest.raises(BundleError) as refused:
        bundle_from_zip(data)
    assert "huge.bpmn" in str(refused.value)
    assert "per file" in str(refused.value)
    assert reads == []  # refused on the declared size


def test_too_much_in_total_is_refused():
    chunk = MAX_FILE_BYTES - 1
    members = {f"part{index}.bpmn": b"\0" * chunk for index in range(MAX_BUNDLE_BYTES // chunk + 1)}
    with pytest.raises(BundleError) as refused:
        bundle_from_zip(zip_of(members))
    assert "add up to" in str(refused.value)


def test_a_member_lying_about_its_size_is_refused():
    data = bytearray(zip_of({"main.bpmn": b"<x/>" * 1000}))
    # Patch the uncompressed size in the local header (offset 22) and the central directory
    # entry (offset 24) to claim 10 bytes.
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, 10)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)
    with pytest.raises(BundleError) as refused:
        bundle_from_zip(bytes(data))
    assert "main.bpmn" in str(refused.value)


def test_too_many_files_are_refused():
    members = {f"forms/f{index}.json": b"{}" for index in range(MAX_FILES + 1)}
    with pytest.raises(BundleError) as refused:
        bundle_from_zip(zip_of(members))
    assert str(MAX_FILES) in str(refused.value)


def test_garbage_is_not_a_zip(tmp_path):
    with pytest.raises(BundleError) as refused:
        bundle_from_zip(b"this is not a zip")
    assert "not a readable zip" in str(refused.value)
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(BundleError) as refused:
        load_bundle(path)
    assert "notes.txt" in str(refused.value)


def test_a_missing_path_is_refused(tmp_path):
    with pytest.raises(BundleError) as refused:
        load_bundle(tmp_path / "nowhere")
    assert "nowhere" in str(refused.value)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    folder = tmp_path / "bundle"
    shutil.copytree(VALID, folder)
    os.symlink(secret, folder / "leak.bpmn")
    with pytest.raises(BundleError) as refused:
        load_bundle(folder)
    assert "leak.bpmn" in str(refused.value)


def test_an_oversize_file_in_a_folder_is_refused(tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(VALID, folder)
    (folder / "huge.bpmn").write_bytes(b"\0" * (MAX_FILE_BYTES + 1))
    with pytest.raises(BundleError) as refused:
        load_bundle(folder)
    assert "huge.bpmn" in str(refused.value)


def test_bundle_from_files_refuses_escaping_paths():
    with pytest.raises(BundleError):
        bundle_from_files({"../main.bpmn": b"<x/>"})
