"""The JSON endpoints under ``/api/v1``: health, info, subjects (list, show, delete), enroll, identify."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from gaitforge.service.limits import ServiceError, check_subject
from gaitforge.service.state import ServiceState, split_thumbnail
from gaitforge.service.uploads import (
    UploadedSequence,
    form_bool,
    form_file,
    form_int,
    form_text,
    read_form,
    upload_kind,
)

__all__ = ["API_PREFIX", "build_router"]

API_PREFIX = "/api/v1"
ENROLL_FIELDS = {"subject", "file", "track", "all_tracks", "replace"}
IDENTIFY_FIELDS = {"file", "k"}


def _pick_tracks(items: list[UploadedSequence], track: int | None, all_tracks: bool) -> list[int]:
    """Indices of the sequences to enroll: a video with several people needs ``track`` or ``all_tracks``."""
    tracks = [item.provenance.get("track") for item in items]
    if all_tracks or all(t is None for t in tracks):
        return list(range(len(items)))
    if track is not None:
        keep = [i for i, t in enumerate(tracks) if t == track]
        if not keep:
            raise ServiceError(
                422, "unknown_track", f"field 'track': no track {track}; tracks found: {tracks}", "track"
            )
        return keep
    if len(items) > 1:
        raise ServiceError(
            422,
            "several_tracks",
            f"field 'track': {len(items)} people were tracked (tracks {tracks}); choose one with 'track', or send "
            "all_tracks=true to enroll them all under this subject",
            "track",
        )
    return [0]


def build_router(state: ServiceState) -> APIRouter:
    """The ``/api/v1`` routes bound to ``state``."""
    router = APIRouter(prefix=API_PREFIX)
    limits = state.limits
    gallery = state.gallery

    @router.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: the gallery answers."""
        return {"status": "ok", "sequences": await state.read(len, gallery)}

    @router.get("/info")
    async def info() -> dict[str, Any]:
        """Model, dim, metric, gallery size, threshold and limits."""
        return await state.read(state.describe)

    @router.get("/subjects")
    async def list_subjects(offset: int = Query(0, ge=0), limit: int = Query(1000, ge=1, le=10000)) -> dict[str, Any]:
        """Enrolled subjects by name (``offset`` / ``limit`` page through large galleries)."""
        subjects = await state.read(gallery.subjects)
        page = subjects[offset : offset + limit]
        return {
            "total": len(subjects),
            "offset": offset,
            "subjects": [{"subject": s.subject, "sequences": s.n_sequences, "created": s.created} for s in page],
        }

    @router.get("/subjects/{subject}")
    async def show_subject(subject: str) -> dict[str, Any]:
        """One subject's enrolled sequences with their thumbnails and provenance."""
        subject = check_subject(subject, limits)  # NFKC form
        return {"subject": subject, "sequences": await state.read(state.subject_sequences, subject)}

    @router.delete("/subjects/{subject}")
    async def delete_subject(subject: str) -> dict[str, Any]:
        """Remove a subject and all its sequences."""
        subject = check_subject(subject, limits)
        removed = await state.write(state.remove, subject)
        return {"subject": subject, "removed_sequences": removed, "gallery_sequences": await state.read(len, gallery)}

    @router.post("/enroll", status_code=201)
    async def enroll(request: Request) -> JSONResponse:
        """Enroll ``subject`` from an uploaded ``file`` (fields: subject, file, track, all_tracks, replace)."""
        form = await read_form(request, limits, ENROLL_FIELDS)
        try:
            subject = check_subject(form_text(form, "subject"), limits)
            upload = form_file(form)
            track = form_int(form, "track", None, 0, 2**31 - 1)
            all_tracks, replace = form_bool(form, "all_tracks"), form_bool(form, "replace")
            upload_kind(upload)
            items, vectors, thumbs = await state.infer(state.embed_upload, upload)
        finally:
            await form.close()
        keep = _pick_tracks(items, track, all_tracks)
        provenance = [{**items[i].provenance, "thumbnail": thumbs[i]} for i in keep]
        ids = await state.write(state.enroll, subject, vectors[keep], provenance, replace)
        body = {
            "subject": subject,
            "sequence_ids": ids,
            "sequences": [
                {"sequence_id": sid, "name": items[i].name, "frames": int(len(items[i].sil)), "thumbnail": thumbs[i]}
                for sid, i in zip(ids, keep)
            ],
            "replaced": replace,
            "gallery_sequences": await state.read(len, gallery),
        }
        return JSONResponse(body, status_code=201)

    @router.post("/identify")
    async def identify(request: Request) -> dict[str, Any]:
        """The ``k`` closest subjects of each sequence in the uploaded ``file`` (fields: file, k)."""
        form = await read_form(request, limits, IDENTIFY_FIELDS)
        try:
            upload = form_file(form)
            k = form_int(form, "k", 5, 1, limits.max_k)
            assert k is not None
            upload_kind(upload)
            items, thumbs, results, threshold = await state.infer(state.identify_with_threshold, upload, k)
        finally:
            await form.close()
        probes = []
        for item, thumb, result in zip(items, thumbs, results):
            matches = []
            for rank, m in enumerate(result.matches, 1):
                prov, match_thumb = split_thumbnail(m.provenance)
                matches.append(
                    {
                        "rank": rank,
                        "subject": m.subject,
                        "distance": float(m.distance),
                        "sequence_id": m.sequence_id,
                        "thumbnail": match_thumb,
                        "provenance": prov,
                    }
                )
            probes.append(
                {
                    "name": item.name,
                    "frames": int(len(item.sil)),
                    "thumbnail": thumb,
                    "known": result.known,
                    "matches": matches,
                }
            )
        return {"k": k, "threshold": threshold, "probes": probes}

    return router
