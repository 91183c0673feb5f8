"""Email templates: a subject, preheader and bodies with merge tags, rendered per recipient
(`rapport.templates.render`)."""

from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rapport.kit.db import Base, IdMixin, TimestampMixin
from rapport.kit.tenant_guard import TenantOwned


class EmailTemplate(TenantOwned, IdMixin, TimestampMixin, Base):
    """Content written once and sent to many: each part is a Jinja template over the
    recipient's contact and company, compiled when saved (a template that does not compile is
    never stored). Names are unique in the workspace."""

    __tablename__ = "email_templates"
    __table_args__ = (
        Index("uq_email_templates_tenant_name", "tenant_id", "name", unique=True),
        # The list, in its default order.
        Index("ix_email_templates_tenant_created", "tenant_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(1000))
    preheader: Mapped[str | None] = mapped_column(String(1000))
    html_body: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str | None] = mapped_column(
        Text, doc="None: the text part is derived from the rendered HTML"
    )
