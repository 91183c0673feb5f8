"""HTTP routes of tags, and of the tags on contacts and companies."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response

from rapport.companies.schemas import CompanyRef
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

TagId = Annotated[
    uuid.UUID,
    Path(
        description="The tag's id (not its key)",
        examples=["01935a4e-8f3c-7d2a-9b1e-4c5d6e7f8a9b"],
    ),
]
TagRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The tag's id or key (a key matches in any case)",
        examples=["vip"],
    ),
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
    """The workspace's tags, a page at a time; `search` keeps those whose key or name contains
    the text, in any case. Tags are put on contacts and companies with
    `POST /contacts/{ref}/tags` and `POST /companies/{company_ref}/tags`."""
    rows, meta = await tags.page(search, page)
    return ListEnvelope(data=[TagOut.model_validate(t) for t in rows], meta=meta)


@router.post(
    "/tags",
    status_code=201,
    summary="Create a tag",
    responses=documented_errors({409: "A tag with this key exists (TAG_KEY_EXISTS)"}),
)
async def create_tag(body: TagCreate, tags: TagsWrite) -> Envelope[TagOut]:
    """Creates a tag that can then be put on contacts and companies. The key is lowercase
    letters and digits, words joined by `-` or `_`, and is unique in the workspace: a key
    another tag has is refused with 409 `TAG_KEY_EXISTS`, whose details name that tag. The
    colour is stored in upper case (`#2e86de` -> `#2E86DE`)."""
    return Envelope(data=TagOut.model_validate(await tags.create(body)))


@router.get("/tags/{tag_id}", summary="One tag", responses=_TAG_404)
async def get_tag(tag_id: TagId, tags: TagsRead) -> Envelope[TagOut]:
    """The tag with this id. Only the id names a tag here; to find a tag by key, use
    `GET /tags?search=`."""
    return Envelope(data=TagOut.model_validate(await tags.get(tag_id)))


@router.patch(
    "/tags/{tag_id}",
    summary="Rename, re-key, describe or recolour a tag",
    responses={
        **_TAG_404,
        **documented_errors({409: "A tag with this key exists (TAG_KEY_EXISTS)"}),
    },
)
async def update_tag(tag_id: TagId, body: TagUpdate, tags: TagsWrite) -> Envelope[TagOut]:
    """Changes the fields sent and leaves the others as they are; `null` clears the
    description or the colour, while the key and name cannot be cleared. A new key must be
    unique in the workspace (409 `TAG_KEY_EXISTS` otherwise). The records carrying the tag
    keep it; requests and filters that name the tag by its old key no longer find it."""
    return Envelope(data=TagOut.model_validate(await tags.update(tag_id, body)))


@router.delete(
    "/tags/{tag_id}",
    status_code=204,
    summary="Delete a tag (it comes off everything carrying it)",
    responses=_TAG_404,
)
async def delete_tag(tag_id: TagId, tags: TagsWrite) -> Response:
    """Deletes the tag for good: it comes off every contact and company that carried it. The
    key becomes free for a new tag."""
    await tags.delete(tag_id)
    return Response(status_code=204)


@router.get(
    "/contacts/{ref}/tags", tags=["Contacts"], summary="The contact's tags", responses=_RECORD_404
)
async def list_contact_tags(ref: ContactRef, tagging: ContactTaggingRead) -> ListEnvelope[TagOut]:
    """Every tag on the contact (named by id, email or externalId), in the order they were
    put on, in one list without paging."""
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
    """Puts the tag `tagId` names (by id) on the contact, and answers with the tag. Doing it
    twice is harmless: 201 when the tag was put on, 200 when the contact carried it already.
    An unknown `tagId` is refused with 422."""
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
    """Takes the tag, named by id or key, off the contact; the tag itself stays. 404 if there
    is no such tag or the contact does not carry it."""
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
    """Every tag on the company (named by id or externalId), in the order they were put on,
    in one list without paging."""
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
    """Puts the tag `tagId` names (by id) on the company, and answers with the tag. Doing it
    twice is harmless: 201 when the tag was put on, 200 when the company carried it already.
    An unknown `tagId` is refused with 422."""
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
    """Takes the tag, named by id or key, off the company; the tag itself stays. 404 if there
    is no such tag or the company does not carry it."""
    await tagging.remove(company_ref, tag_id)
    return Response(status_code=204)
