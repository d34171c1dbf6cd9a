"""A version's diagrams for the viewers (complaint page, heat map): ``/versions/<n>/diagrams.json``.

One JSON document per version: the diagrams in map order (process, name, file, the
BPMNDiagram that draws it, the call activities on it and what they call) and the XML
of each file. Versions are immutable, so the document is built once per node (keyed by
version and content hash) and served with the hash as ETag and an immutable cache lifetime: a
browser fetches a version's diagrams once. Any signed-in user may read them (the
procedure is no secret from staff); who may see a *complaint* is still the instance
page's rule.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, request
from sqlalchemy import select

from engine.bundle import bundle_from_zip
from engine.diagram_index import DiagramIndex, index_bundle
from engine.models import Deployment
from web.engine_access import current_engine

bp = Blueprint("diagrams", __name__)

FORMAT = "diagrams/v1"  # part of the ETag: a change of this document's shape invalidates caches
IMMUTABLE = "private, max-age=31536000, immutable"
_KEPT = 16  # versions kept per node (each a few hundred KB at most)


@dataclass(frozen=True)
class VersionDiagrams:
    version: int
    content_hash: str
    index: DiagramIndex
    document: bytes  # the JSON served

    @property
    def etag(self) -> str:
        return f"{FORMAT}:{self.version}:{self.content_hash}"


_cache: OrderedDict[tuple[int, str], VersionDiagrams] = OrderedDict()
_lock = threading.Lock()


def version_diagrams(engine: Any, *, deployment_id: int | None = None, version: int | None = None):
    """The indexed diagrams of a deployment (by id or version number), or None if there is none."""
    column = Deployment.id if deployment_id is not None else Deployment.version
    wanted = deployment_id if deployment_id is not None else version
    with engine.reader() as session:
        row = session.execute(
            select(Deployment.id, Deployment.version, Deployment.content_hash, Deployment.main_process).where(
                column == wanted
            )
        ).first()
        if row is None:
            return None
        key = (row.version, row.content_hash)  # both: a restored database may number versions anew
        with _lock:
            found = _cache.get(key)
            if found is not None:
                _cache.move_to_end(key)
                return found
        bundle_zip = session.scalar(select(Deployment.bundle_zip).where(Deployment.id == row.id))
    index = index_bundle(bundle_from_zip(bundle_zip).bpmn_files, row.main_process)
    built = VersionDiagrams(row.version, row.content_hash, index, _document(row.version, index))
    with _lock:
        _cache[key] = built
        while len(_cache) > _KEPT:
            _cache.popitem(last=False)
    return built


def _document(version: int, index: DiagramIndex) -> bytes:
    return json.dumps(
        {
            "version": version,
            "main": index.main_process,
            "diagrams": [
                {
                    "process": diagram.process_id,
                    "name": diagram.name,
                    "file": diagram.file,
                    "diagram": diagram.diagram_id,
                    "calls": {site.element_id: site.called for site in diagram.calls},
                }
                for diagram in index.diagrams
            ],
            "files": dict(index.files),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


@bp.route("/versions/<int:version>/diagrams.json")
def diagrams_json(version: int):
    found = version_diagrams(current_engine(), version=version)
    if found is None:
        abort(404)
    headers = {"ETag": f'"{found.etag}"', "Cache-Control": IMMUTABLE}
    if found.etag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(found.document, mimetype="application/json", headers=headers)
