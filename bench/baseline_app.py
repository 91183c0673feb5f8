"""The baseline: a bare FastAPI endpoint returning a contact-sized JSON body, no database."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

BODY: dict[str, Any] = {
    "data": {
        "id": "01a20665-91c1-7e4f-8296-d321b050389f",
        "email": "alice.johnson.17@acme.example",
        "name": "Alice Johnson",
        "givenName": "Alice",
        "familyName": "Johnson",
        "phone": "+14155552671",
        "externalId": "demo-00017",
        "status": "ACTIVE",
        "lifecycleStage": "CUSTOMER",
        "properties": {"company": "Acme Corp", "source": "webinar", "city": "Lisbon"},
        "isIdentified": True,
        "lastActivityAt": None,
        "createdAt": "2026-11-23T03:14:09.473981Z",
        "updatedAt": "2026-11-23T03:14:09.473985Z",
    }
}


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/contacts/{ref}")
    async def get_contact(ref: str) -> dict[str, Any]:
        return BODY

    return app
