"""The official Python SDK (openai 3.x) against a running ftshare server.

Run by test/compat/openai-python.test.ts with FTSHARE_BASE_URL (…/v1) and FTSHARE_ADMIN_KEY set.
Prints one JSON document: what each call returned, and every request the SDK sent (method,
path, content type, body length), so the Node test can assert on both.
"""

import json
import os
import sys
import urllib.request

import httpx2
import openai
from openai import OpenAI

BASE_URL = os.environ["FTSHARE_BASE_URL"]
ADMIN_KEY = os.environ["FTSHARE_ADMIN_KEY"]
CHECKPOINT = os.environ["FTSHARE_CHECKPOINT"]

sent = []


def record(request):
    sent.append(
        {
            "method": request.method,
            "path": request.url.raw_path.decode(),
            "content_type": request.headers.get("content-type"),
            "body_length": len(request.content),
            "authorization": request.headers.get("authorization") == f"Bearer {ADMIN_KEY}",
        }
    )


def client(**keys):
    return OpenAI(
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx2.Client(event_hooks={"request": [record]}),
        **keys,
    )


# The fine-tuning routes authenticate with `api_key`; the admin routes with `admin_api_key`.
# Both are the admin key here.
sdk = client(api_key=ADMIN_KEY, admin_api_key=ADMIN_KEY)
out = {"openai_version": openai.__version__}

owner = sdk.admin.organization.projects.create(name="python owner")
reader = sdk.admin.organization.projects.create(name="python reader")
other = sdk.admin.organization.projects.create(name="python other")

# Registering a checkpoint is an ftshare extension, outside the SDK.
register = urllib.request.Request(
    f"{BASE_URL}/fine_tuning/checkpoints",
    method="POST",
    headers={"authorization": f"Bearer {ADMIN_KEY}", "content-type": "application/json"},
    data=json.dumps({"fine_tuned_model_checkpoint": CHECKPOINT, "project_id": owner.id}).encode(),
)
urllib.request.urlopen(register).read()

permissions = sdk.fine_tuning.checkpoints.permissions
granted = permissions.create(CHECKPOINT, project_ids=[reader.id, other.id])
out["granted"] = [p.project_id for p in granted.data]
out["granted_ids"] = [p.id for p in granted.data]
# Auto-pagination, one item a page, the SDK following `after`.
out["listed"] = [p.project_id for p in permissions.list(CHECKPOINT, limit=1, order="ascending")]
deleted = permissions.delete(granted.data[0].id, fine_tuned_model_checkpoint=CHECKPOINT)
out["deleted"] = {"id": deleted.id, "deleted": deleted.deleted, "object": deleted.object}
out["after_delete"] = [p.project_id for p in permissions.list(CHECKPOINT)]
try:
    permissions.delete(granted.data[0].id, fine_tuned_model_checkpoint=CHECKPOINT)
    out["deleted_twice"] = "no error"
except openai.NotFoundError as error:
    out["deleted_twice"] = type(error).__name__

archived = sdk.admin.organization.projects.archive(other.id)
out["archived"] = {"id": archived.id, "status": archived.status}
try:
    permissions.create(CHECKPOINT, project_ids=[other.id])
    out["grant_archived"] = "no error"
except openai.BadRequestError as error:
    out["grant_archived"] = f"{type(error).__name__} {error.code} {error.param}"

# With only `admin_api_key`, the SDK sends no key on the fine-tuning routes.
admin_only = client(admin_api_key=ADMIN_KEY)
try:
    admin_only.fine_tuning.checkpoints.permissions.list(CHECKPOINT)
    out["admin_key_only"] = "no error"
except (TypeError, openai.AuthenticationError) as error:
    out["admin_key_only"] = type(error).__name__

out["requests"] = sent
json.dump(out, sys.stdout)
