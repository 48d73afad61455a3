"""/v1/version: uploads, registration, sync, rollback, download, get and list."""

from __future__ import annotations

from typing import Any

from agentyard.harnesslayer import apps, bundles, sync
from generated.harnesslayer.models import (
    VersionCreate,
    VersionRollbackRequest,
    VersionSyncRequest,
    VersionUploadComplete,
    VersionUploadRequest,
)
from handlers.harnesslayer.blobs import surface_base
from handlers.harnesslayer.security import caller


def createVersion(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = VersionCreate.model_validate(body)
    version = bundles.create_version(caller(), req.appId, req.versionId)
    return {"data": bundles.version_view_of(version)}, 201


def uploadVersion(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = VersionUploadRequest.model_validate(body)
    who = caller()
    app = apps.find(who, req.appId)
    files = [f.model_dump() for f in req.files]
    upload = bundles.start_upload(who, "version", app, None, req.versionId, files, surface_base())
    return {"data": upload}, 201


def completeVersionUpload(upload_id: str, body: dict[str, Any]) -> dict[str, Any]:
    req = VersionUploadComplete.model_validate(body)
    version = bundles.complete_version_upload(caller(), upload_id, req.appId, req.versionId)
    return {"data": bundles.version_view_of(version)}


def syncVersion(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = VersionSyncRequest.model_validate(body)
    profile_ids = [p.root for p in req.profileIds] if req.profileIds is not None else None
    job = sync.start(caller(), req.appId, req.strategy, profile_ids)
    return {"data": sync.view(job)}, 202


def rollbackVersion(body: dict[str, Any]) -> dict[str, Any]:
    req = VersionRollbackRequest.model_validate(body)
    return {"data": bundles.rollback_version(caller(), req.appId, req.toVersionId, req.reason)}


def downloadVersion(version_id: str) -> dict[str, Any]:
    version = bundles.find_version(caller(), version_id)
    return {"data": bundles.download_url("version", version, surface_base())}


def listVersions(app_id: str, page: int = 1, page_size: int = 10) -> dict[str, Any]:
    return {"data": bundles.list_versions(caller(), app_id, page, page_size)}


def getVersion(version_id: str) -> dict[str, Any]:
    return {"data": bundles.version_view_of(bundles.find_version(caller(), version_id))}
