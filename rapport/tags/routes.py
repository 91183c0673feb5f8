"""HTTP routes of tags, and of the tags on contacts and companies."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response

from rapport.contacts.schemas import ContactRef
from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.tags.deps import (
    CompanyTaggingRead,
    CompanyTaggingWrite,
    ContactTaggingRead,
    ContactTaggingWrite,
    TagsRead,
    TagsWrite,
)
from rapport.tags.repository import TagRepository
from rapport.tags.schemas import TagAssign, TagCreate, TagOut, TagUpdate

router = api_router(tags=["Tags"])

CompanyRef = Annotated[
    str, Path(min_length=1, max_length=255, description="The company's id or externalId")
]
TagRef = Annotated[
    str,
    Path(min_length=1, max_length=64, description="The tag's id or key", examples=["vip"]),
]
_TAG_404 = documented_errors({404: "No such tag in this workspace"})
_RECORD_404 = documented_errors({404: "No such record, or it does not carry the tag"})
_ASSIGNED: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Envelope[TagOut],
        "description": "The record carried the tag already; nothing changed",
    },
    201: {"description": "The tag was put on"},
}


@router.get("/tags", summary="List tags")
async def list_tags(
    tags: TagsRead,
    page: Annotated[PageRequest, Depends(Pagination(TagRepository.sort_columns))],
    search: Annotated[
        str | None, Query(max_length=200, description="Substring of the key or name")
    ] = None,
) -> ListEnvelope[TagOut]:
    rows, meta = await tags.page(search, page)
    return ListEnvelope(data=[TagOut.model_validate(t) for t in rows], meta=meta)


@router.post(
    "/tags",
    status_code=201,
    summary="Create a tag",
    responses=documented_errors({409: "A tag with this key exists (TAG_KEY_EXISTS)"}),
)
async def create_tag(body: TagCreate, tags: TagsWrite) -> Envelope[TagOut]:
    return Envelope(data=TagOut.model_validate(await tags.create(body)))


@router.get("/tags/{tag_id}", summary="One tag", responses=_TAG_404)
async def get_tag(tag_id: uuid.UUID, tags: TagsRead) -> Envelope[TagOut]:
    return Envelope(data=TagOut.model_validate(await tags.get(tag_id)))


@router.patch(
    "/tags/{tag_id}",
    summary="Rename, re-key, describe or recolour a tag",
    responses={
        **_TAG_404,
        **documented_errors({409: "A tag with this key exists (TAG_KEY_EXISTS)"}),
    },
)
async def update_tag(tag_id: uuid.UUID, body: TagUpdate, tags: TagsWrite) -> Envelope[TagOut]:
    return Envelope(data=TagOut.model_validate(await tags.update(tag_id, body)))


@router.delete(
    "/tags/{tag_id}",
    status_code=204,
    summary="Delete a tag (it comes off everything carrying it)",
    responses=_TAG_404,
)
async def delete_tag(tag_id: uuid.UUID, tags: TagsWrite) -> Response:
    await tags.delete(tag_id)
    return Response(status_code=204)


@router.get(
    "/contacts/{ref}/tags", tags=["Contacts"], summary="The contact's tags", responses=_RECORD_404
)
async def list_contact_tags(ref: ContactRef, tagging: ContactTaggingRead) -> ListEnvelope[TagOut]:
    tags = await tagging.tags_of(ref)
    return ListEnvelope.whole([TagOut.model_validate(t) for t in tags])


@router.post(
    "/contacts/{ref}/tags",
    status_code=201,
    tags=["Contacts"],
    summary="Put a tag on the contact",
    responses={**_RECORD_404, **_ASSIGNED},
)
async def tag_contact(
    ref: ContactRef, body: TagAssign, tagging: ContactTaggingWrite, response: Response
) -> Envelope[TagOut]:
    tag, added = await tagging.add(ref, body.tag_id)
    response.status_code = 201 if added else 200
    return Envelope(data=TagOut.model_validate(tag))


@router.delete(
    "/contacts/{ref}/tags/{tag_id}",
    status_code=204,
    tags=["Contacts"],
    summary="Take a tag off the contact",
    responses=_RECORD_404,
)
async def untag_contact(ref: ContactRef, tag_id: TagRef, tagging: ContactTaggingWrite) -> Response:
    await tagging.remove(ref, tag_id)
    return Response(status_code=204)


@router.get(
    "/companies/{company_ref}/tags",
    tags=["Companies"],
    summary="The company's tags",
    responses=_RECORD_404,
)
async def list_company_tags(
    company_ref: CompanyRef, tagging: CompanyTaggingRead
) -> ListEnvelope[TagOut]:
    tags = await tagging.tags_of(company_ref)
    return ListEnvelope.whole([TagOut.model_validate(t) for t in tags])


@router.post(
    "/companies/{company_ref}/tags",
    status_code=201,
    tags=["Companies"],
    summary="Put a tag on the company",
    responses={**_RECORD_404, **_ASSIGNED},
)
async def tag_company(
    company_ref: CompanyRef,
    body: TagAssign,
    tagging: CompanyTaggingWrite,
    response: Response,
) -> Envelope[TagOut]:
    tag, added = await tagging.add(company_ref, body.tag_id)
    response.status_code = 201 if added else 200
    return Envelope(data=TagOut.model_validate(tag))


@router.delete(
    "/companies/{company_ref}/tags/{tag_id}",
    status_code=204,
    tags=["Companies"],
    summary="Take a tag off the company",
    responses=_RECORD_404,
)
async def untag_company(
    company_ref: CompanyRef, tag_id: TagRef, tagging: CompanyTaggingWrite
) -> Response:
    await tagging.remove(company_ref, tag_id)
    return Response(status_code=204)
