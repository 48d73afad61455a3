"""/v1/state: uploads, registration, snapshots, rollback, download, get and list."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import bundles, snapshots
from generated.harnesslayer.models import (
    StateCreate,
    StateRollbackRequest,
    StateSnapshotRequest,
    StateUploadComplete,
    StateUploadRequest,
)
from handlers.harnesslayer.blobs import surface_base
from handlers.harnesslayer.security import caller


def createState(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = StateCreate.model_validate(body)
    state = bundles.create_state(caller(), req.profileId, req.stateId)
    return {"data": bundles.state_view_of(state)}, 201


def uploadState(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = StateUploadRequest.model_validate(body)
    who = caller()
    profile = bundles.find_profile(who, req.profileId)
    files = [f.model_dump() for f in req.files]
    upload = bundles.start_upload(
        who, "state", profile.app, profile, req.stateId, files, surface_base()
    )
    return {"data": upload}, 201


def completeStateUpload(upload_id: str, body: dict[str, Any]) -> dict[str, Any]:
    req = StateUploadComplete.model_validate(body)
    state = bundles.complete_state_upload(caller(), upload_id, req.profileId, req.stateId)
    return {"data": bundles.state_view_of(state)}


def snapshotState(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = StateSnapshotRequest.model_validate(body)
    state = snapshots.register(
        caller(), req.profileId, req.storageUrl, req.sandboxId, surface_base()
    )
    return {"data": bundles.state_view_of(state)}, 202


def rollbackState(body: dict[str, Any]) -> dict[str, Any]:
    req = StateRollbackRequest.model_validate(body)
    return {"data": bundles.rollback_state(caller(), req.profileId, req.toStateId, req.reason)}


def downloadState(state_id: str) -> dict[str, Any]:
    state = bundles.find_state(caller(), state_id)
    return {"data": bundles.download_url("state", state, surface_base())}


def listStates(profile_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": bundles.list_states(caller(), profile_id, page, page_size)}


def getState(state_id: str) -> dict[str, Any]:
    return {"data": bundles.state_view_of(bundles.find_state(caller(), state_id))}
