"""HTTP routes of lists (segments) and of prospecting."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Query, Response

from rapport.kit.envelope import Envelope, ListEnvelope
from rapport.kit.errors import documented_errors
from rapport.kit.pagination import PageRequest, Pagination
from rapport.kit.session import api_router
from rapport.lists.deps import ListMembersWrite, ListsAdmin, ListsRead, Prospecting
from rapport.lists.repository import ListRepository, MemberRepository
from rapport.lists.schemas import (
    Evaluation,
    ListCreate,
    ListMemberOut,
    ListOut,
    ListUpdate,
    MemberIds,
    MembershipChange,
    ProspectingAdd,
    ProspectingResult,
)
from rapport.lists.service import list_out
from rapport.models.lists import ListEntity

router = api_router(tags=["Lists"])

ListId = Annotated[
    uuid.UUID, Path(description="The list's id", examples=["0196f1c2-5a6b-7c8d-9e0f-123456789abc"])
]
_LIST_404 = documented_errors({404: "No such list in this workspace"})
_QUERY_ERRORS = documented_errors(
    {
        400: "`INVALID_QUERY`: `filterCriteria` does not parse or does not fit the entity's "
        "fields (as for POST /query)",
        409: "Another list of this entity type has this name (`LIST_NAME_EXISTS`)",
        422: "A dynamic list without its query, a static one with one, a list named in the "
        "query that does not exist or holds other records, or lists using each other in a "
        "cycle",
    }
)
_STATIC_ONLY = documented_errors(
    {
        400: "The list is dynamic: its members follow its query (`INVALID_REQUEST`)",
        404: "No such list in this workspace",
        422: "More than 1000 ids, or ids of records the workspace does not have",
    }
)


@router.get("/lists", summary="List the lists (segments)")
async def list_lists(
    lists: ListsRead,
    page: Annotated[PageRequest, Depends(Pagination(ListRepository.sort_columns))],
    entity_type: Annotated[
        ListEntity | None,
        Query(alias="entityType", description="Only lists of contacts or of companies"),
    ] = None,
    is_dynamic: Annotated[
        bool | None, Query(alias="isDynamic", description="Only dynamic (or static) lists")
    ] = None,
) -> ListEnvelope[ListOut]:
    """The workspace's lists with their exact member counts (kept with every change, never
    counted on read)."""
    rows, meta = await lists.page(entity_type, is_dynamic, page)
    return ListEnvelope(data=[list_out(row) for row in rows], meta=meta)


@router.post("/lists", status_code=201, summary="Create a list", responses=_QUERY_ERRORS)
async def create_list(body: ListCreate, lists: ListsAdmin) -> Envelope[ListOut]:
    """A static list starts empty (add members with `POST /lists/{id}/members`). A dynamic
    list takes a query in `filterCriteria` (JSON, or the text form as a string), is
    evaluated at once, and from then on holds exactly the records matching it: a record
    whose change makes it match joins within seconds (and one that stops matching leaves),
    each emitting `list.member_added` or `list.member_removed`; a query that depends on the
    time (`within last`, `ago`) is also re-evaluated every minute. A query may use other
    lists (`list = <id>`), never in a cycle."""
    return Envelope(data=list_out(await lists.create(body)))


@router.get("/lists/{list_id}", summary="One list", responses=_LIST_404)
async def get_list(list_id: ListId, lists: ListsRead) -> Envelope[ListOut]:
    """The list with its exact member count."""
    return Envelope(data=list_out(await lists.get(list_id)))


@router.patch(
    "/lists/{list_id}",
    summary="Rename a list or change its query",
    responses={**_LIST_404, **_QUERY_ERRORS},
)
async def update_list(list_id: ListId, body: ListUpdate, lists: ListsAdmin) -> Envelope[ListOut]:
    """Changes the fields sent. A new `filterCriteria` (dynamic lists only) is checked and
    evaluated at once: records that no longer match leave, new matches join."""
    return Envelope(data=list_out(await lists.update(list_id, body)))


@router.delete(
    "/lists/{list_id}",
    status_code=204,
    summary="Delete a list",
    responses={
        **_LIST_404,
        **documented_errors({409: "Another dynamic list's query uses it (`LIST_IN_USE`)"}),
    },
)
async def delete_list(list_id: ListId, lists: ListsAdmin) -> Response:
    """Deletes the list and its memberships (the records stay)."""
    await lists.delete(list_id)
    return Response(status_code=204)


@router.post(
    "/lists/{list_id}/evaluate",
    summary="Evaluate a dynamic list again, in full",
    responses={
        **_LIST_404,
        **documented_errors({400: "The list is static (`INVALID_REQUEST`)"}),
    },
)
async def evaluate_list(list_id: ListId, lists: ListsAdmin) -> Envelope[Evaluation]:
    """Runs the list's query over every record and makes the membership exactly its
    matches, in one transaction (readers see the previous membership until it is complete);
    answers the member count and how many joined and left. A dynamic list is kept current
    without this; it is for a query whose fields changed meaning (an option renamed)."""
    return Envelope(data=await lists.evaluate(list_id))


@router.get("/lists/{list_id}/members", summary="The members of a list", responses=_LIST_404)
async def list_members(
    list_id: ListId,
    lists: ListsRead,
    page: Annotated[
        PageRequest,
        Depends(Pagination(MemberRepository.sort_columns, default_sort="addedAt")),
    ],
) -> ListEnvelope[ListMemberOut]:
    """The list's members, the newest first, each with its contact (or company)."""
    items, meta = await lists.member_page(list_id, page)
    return ListEnvelope(data=items, meta=meta)


@router.post(
    "/lists/{list_id}/members", summary="Add members to a static list", responses=_STATIC_ONLY
)
async def add_members(
    list_id: ListId, body: MemberIds, lists: ListMembersWrite
) -> Envelope[MembershipChange]:
    """Adds up to 1000 contacts (or companies) by id; those already in the list are counted
    in `unchanged`, so sending the same request again changes nothing. Every id must name a
    record of the workspace (a deleted contact does not count), else 422 and nothing
    changes."""
    return Envelope(data=await lists.add_members(list_id, body.entity_ids))


@router.delete(
    "/lists/{list_id}/members",
    summary="Remove members from a static list",
    responses=_STATIC_ONLY,
)
async def remove_members(
    list_id: ListId, body: MemberIds, lists: ListMembersWrite
) -> Envelope[MembershipChange]:
    """Removes up to 1000 records by id; ids not in the list are counted in `unchanged`.
    `POST /lists/{id}/members/remove` does the same for clients that cannot send a body
    with DELETE."""
    return Envelope(data=await lists.remove_members(list_id, body.entity_ids))


@router.post(
    "/lists/{list_id}/members/remove",
    summary="Remove members from a static list (POST form)",
    responses=_STATIC_ONLY,
)
async def remove_members_by_post(
    list_id: ListId, body: MemberIds, lists: ListMembersWrite
) -> Envelope[MembershipChange]:
    """`DELETE /lists/{id}/members` for clients that cannot send a body with DELETE."""
    return Envelope(data=await lists.remove_members(list_id, body.entity_ids))


@router.post(
    "/prospecting/add-to-marketing-list",
    summary="Add contacts to a static list by id, by company or by query",
    tags=["Prospecting"],
    responses=documented_errors(
        {
            400: "The list is dynamic, or the query is invalid (`INVALID_QUERY`)",
            404: "No such list in this workspace",
            422: "Not exactly one of contactIds, companyIds and filter; a list of companies; "
            "more than 10000 contacts",
        }
    ),
)
async def add_to_marketing_list(
    body: ProspectingAdd, prospecting: Prospecting
) -> Envelope[ProspectingResult]:
    """Adds to a static list of contacts: the contacts named (`contactIds`), the contacts of
    the companies named (`companyIds`), or the contacts matching a query (`filter`, JSON or
    text). Contacts already in the list are counted in `alreadyPresent`, so the request is
    idempotent."""
    return Envelope(data=await prospecting.add_to_list(body))
