"""Seed a workspace with plausible companies and contacts (deterministic for a given seed)."""

from __future__ import annotations

import random
import uuid
from typing import Any

from rapport.companies.schemas import CompanyCreate, MembershipCreate
from rapport.companies.service import CompanyService, MembershipService
from rapport.contacts.schemas import ContactCreate
from rapport.contacts.service import ContactService
from rapport.kit.context import Context
from rapport.lists.schemas import ListCreate
from rapport.lists.service import ListService
from rapport.models.companies import CompanyRole
from rapport.models.contacts import ContactStatus, LifecycleStage
from rapport.models.properties import PropertyEntity, PropertyType
from rapport.properties.schemas import PropertyCreate, PropertyOption
from rapport.properties.service import PropertyService
from rapport.sales.lead_schemas import LeadCreate, StageMove
from rapport.sales.leads import LeadService
from rapport.sales.service import PipelineService
from rapport.tags.schemas import TagCreate
from rapport.tags.service import TaggingService, TagService

GIVEN_NAMES = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Arjun",
    "Ben",
    "Camille",
    "Chen",
    "Chloé",
    "Dana",
    "Diego",
    "Elena",
    "Emeka",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Isaac",
    "Jonas",
    "Kai",
    "Lara",
    "Leila",
    "Liam",
    "Lucía",
    "Malik",
    "Maya",
    "Mei",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Rosa",
    "Sam",
    "Sofia",
    "Tariq",
    "Thea",
    "Tomás",
    "Yara",
    "Yusuf",
    "Zoe",
]
FAMILY_NAMES = [
    "Abbott",
    "Adeyemi",
    "Bauer",
    "Bianchi",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ivanova",
    "Jansen",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lovelace",
    "Mendes",
    "Murphy",
    "Nakamura",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Silva",
    "Tanaka",
    "Turing",
    "Varga",
    "Weber",
    "Wright",
    "Yilmaz",
    "Zhang",
]
COMPANIES = [
    ("Northwind Traders", "northwind.example"),
    ("Globex", "globex.example"),
    ("Initech", "initech.example"),
    ("Umbrella Analytics", "umbrella-analytics.example"),
    ("Hooli", "hooli.example"),
    ("Vandelay Industries", "vandelay.example"),
    ("Stark Logistics", "starklogistics.example"),
    ("Wayne Foods", "waynefoods.example"),
    ("Acme Corp", "acme.example"),
    ("Soylent Labs", "soylent.example"),
]
PHONE_PREFIXES = [("+1415555", 4), ("+1202555", 4), ("+3361234", 4), ("+4915112", 6)]
STAGES = [
    (LifecycleStage.SUBSCRIBER, 30),
    (LifecycleStage.LEAD, 25),
    (LifecycleStage.MARKETING_QUALIFIED, 12),
    (LifecycleStage.SALES_QUALIFIED, 8),
    (LifecycleStage.OPPORTUNITY, 8),
    (LifecycleStage.CUSTOMER, 14),
    (LifecycleStage.EVANGELIST, 3),
]
INDUSTRIES = ["SaaS", "Retail", "Logistics", "Food", "Manufacturing", "Consulting"]
SIZES = ["1-10", "11-50", "51-200", "201-1000", "1000+"]
JOB_TITLES = ["CEO", "CTO", "Head of Sales", "Marketing Manager", "Engineer", "Buyer", None]
SOURCES = ["website", "webinar", "referral", "trade-show", "linkedin", "newsletter"]
TIERS = ("gold", "silver", "bronze")
CITIES = ["Lisbon", "Berlin", "Lagos", "Austin", "Osaka", "Toronto", "Lyon", "Nairobi", "Pune"]


def fake_contact(rng: random.Random, index: int) -> ContactCreate:
    given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
    company, domain = rng.choice(COMPANIES)
    local = f"{given}.{family}".lower().encode("ascii", "ignore").decode()
    stage = rng.choices([s for s, _ in STAGES], weights=[w for _, w in STAGES])[0]
    properties: dict[str, Any] = {
        "company": company,
        "source": rng.choice(SOURCES),
        "city": rng.choice(CITIES),
    }
    if stage in (LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST):
        properties["plan"] = rng.choice(["Starter", "Growth", "Enterprise"])
        properties["mrr"] = rng.choice([49, 199, 499, 1999, 4999])
    prefix, digits = rng.choice(PHONE_PREFIXES)
    phone = prefix + f"{rng.randrange(10**digits):0{digits}d}"
    return ContactCreate(
        email=f"{local}.{index}@{domain}",
        given_name=given,
        family_name=family,
        phone=phone if rng.random() < 0.7 else None,
        external_id=f"demo-{index:05d}" if rng.random() < 0.5 else None,
        lifecycle_stage=stage,
        status=ContactStatus.ARCHIVED if rng.random() < 0.05 else ContactStatus.ACTIVE,
        properties=properties,
    )


def _choices(*values: str) -> list[PropertyOption]:
    return [PropertyOption(value=v, label=v.replace("-", " ").title()) for v in values]


DEMO_PROPERTIES = (
    (PropertyEntity.CONTACT, "company", "Company name", PropertyType.TEXT, ()),
    (PropertyEntity.CONTACT, "source", "Source", PropertyType.SELECT, tuple(SOURCES)),
    (PropertyEntity.CONTACT, "city", "City", PropertyType.TEXT, ()),
    (
        PropertyEntity.CONTACT,
        "plan",
        "Plan",
        PropertyType.SELECT,
        ("Starter", "Growth", "Enterprise"),
    ),
    (PropertyEntity.CONTACT, "mrr", "Monthly recurring revenue", PropertyType.CURRENCY, ()),
    (PropertyEntity.COMPANY, "annual_revenue", "Annual revenue", PropertyType.NUMBER, ()),
    (PropertyEntity.COMPANY, "tier", "Account tier", PropertyType.SELECT, TIERS),
)
DEMO_TAGS = (
    ("vip", "VIP", "#D4A017", 0.08),
    ("newsletter", "Newsletter", "#2E86C1", 0.35),
    ("churn-risk", "Churn risk", "#C0392B", 0.05),
)
"""Tags of the demo: key, name, colour, and the share of contacts carrying it (companies:
twice that)."""


async def define_demo_properties(context: Context) -> None:
    """The custom properties the demo contacts and companies carry."""
    service = PropertyService(context)
    for entity, key, label, kind, options in DEMO_PROPERTIES:
        await service.create(
            PropertyCreate(
                key=key, entity=entity, label=label, type=kind, options=_choices(*options)
            )
        )


async def tag_demo_records(
    context: Context, rng: random.Random, contact_ids: list[uuid.UUID], company_ids: list[uuid.UUID]
) -> None:
    tags = TagService(context)
    tag_contacts = TaggingService.of_contacts(context)
    tag_companies = TaggingService.of_companies(context)
    for key, name, color, share in DEMO_TAGS:
        tag = await tags.create(TagCreate(key=key, name=name, color=color))
        for contact_id in contact_ids:
            if rng.random() < share:
                await tag_contacts.add(str(contact_id), tag.id)
        for company_id in company_ids:
            if rng.random() < share * 2:
                await tag_companies.add(str(company_id), tag.id)


DEAL_KINDS = ("seats of Growth", "Enterprise plan", "onboarding package", "renewal", "pilot")
LOST_REASONS = ("Chose a competitor", "No budget this year", "Went silent")


async def seed_demo_leads(
    context: Context, rng: random.Random, employers: list[tuple[uuid.UUID, str, uuid.UUID]]
) -> None:
    """About thirty leads, each with a contact and the contact's company (`employers`:
    contact id, company name, company id), spread over the default pipeline's stages (moved
    there stage by stage, so their history reads like a real one), in USD and EUR."""
    pipelines = PipelineService(context)
    default = await pipelines.default()
    stages = await pipelines.stages_of([default.id])
    leads = LeadService(context)
    for contact_id, company_name, company_id in employers[:: max(1, len(employers) // 30)]:
        lead = await leads.create(
            LeadCreate(
                title=f"{company_name}: {rng.choice(DEAL_KINDS)}",
                value=f"{rng.randrange(20, 900) * 100}",
                currency=rng.choice(("USD", "USD", "EUR")),
                contact_id=contact_id,
                company_id=company_id,
                source=rng.choice(("Website", "Referral", "Outbound", "Event")),
            )
        )
        target = rng.randrange(len(stages))
        for index, stage in enumerate(stages[1 : target + 1], start=1):
            if stage.system_key == "won" and index != target:
                continue  # a lost lead never passed through won
            reason = rng.choice(LOST_REASONS) if stage.system_key == "lost" else None
            await leads.move(lead.id, StageMove(stage_id=stage.id, lost_reason=reason))


async def seed_demo(context: Context, count: int = 300, seed: int = 7) -> int:
    """`count` contacts, each a member of the demo company of its email's domain, with demo
    properties and tags. Company properties and tags draw from a second generator, so the
    contacts a seed gives stay the same."""
    rng = random.Random(seed)
    extra = random.Random(seed + 1)
    await define_demo_properties(context)
    companies = CompanyService(context)
    by_domain: dict[str, uuid.UUID] = {}
    for name, domain in COMPANIES:
        company = await companies.create(
            CompanyCreate(
                name=name,
                domain=domain,
                industry=rng.choice(INDUSTRIES),
                size=rng.choice(SIZES),
                role=rng.choice(list(CompanyRole)),
                properties={
                    "annual_revenue": extra.choice([250_000, 1_200_000, 8_500_000, 42_000_000]),
                    "tier": extra.choice(TIERS),
                },
            )
        )
        by_domain[domain] = company.id
    contacts = ContactService(context)
    memberships = MembershipService(context)
    contact_ids = []
    employers = []
    names = {domain: name for name, domain in COMPANIES}
    for index in range(count):
        data = fake_contact(rng, index)
        contact = await contacts.create(data)
        contact_ids.append(contact.id)
        assert data.email is not None
        domain = data.email.rsplit("@", 1)[1]
        employers.append((contact.id, names[domain], by_domain[domain]))
        await memberships.add(
            str(contact.id),
            MembershipCreate(
                company_id=by_domain[domain],
                role=rng.choice(JOB_TITLES),
                is_primary=True,
            ),
        )
    await tag_demo_records(context, extra, contact_ids, list(by_domain.values()))
    await seed_demo_leads(context, random.Random(seed + 2), employers)
    await seed_demo_lists(context, contact_ids[: max(1, count // 10)])
    return count


async def seed_demo_lists(context: Context, newsletter: list[uuid.UUID]) -> None:
    """A static list (a newsletter's subscribers) and two dynamic ones, one through a
    relation and one depending on the time."""
    lists = ListService(context)
    static = await lists.create(ListCreate(name="Newsletter"))
    await lists.add_members(static.id, newsletter)
    for name, criteria in (
        ("Customers", "lifecycleStage = CUSTOMER"),
        ("VIPs at SaaS companies", "tag = vip AND company.industry = SaaS"),
        ("Active this month", "has activity within last 30 days"),
    ):
        await lists.create(ListCreate(name=name, is_dynamic=True, filter_criteria=criteria))
