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
from rapport.models.companies import CompanyRole
from rapport.models.contacts import ContactStatus, LifecycleStage
from rapport.models.properties import PropertyEntity, PropertyType
from rapport.properties.schemas import PropertyCreate, PropertyOption
from rapport.properties.service import PropertyService

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


async def define_demo_properties(context: Context) -> None:
    """The custom contact properties the demo contacts carry."""
    service = PropertyService(context)
    for key, label, kind, options in (
        ("company", "Company name", PropertyType.TEXT, []),
        ("source", "Source", PropertyType.SELECT, _choices(*SOURCES)),
        ("city", "City", PropertyType.TEXT, []),
        ("plan", "Plan", PropertyType.SELECT, _choices("Starter", "Growth", "Enterprise")),
        ("mrr", "Monthly recurring revenue", PropertyType.CURRENCY, []),
    ):
        await service.create(
            PropertyCreate(
                key=key, entity=PropertyEntity.CONTACT, label=label, type=kind, options=options
            )
        )


async def seed_demo(context: Context, count: int = 300, seed: int = 7) -> int:
    """`count` contacts, each a member of the demo company of its email's domain."""
    rng = random.Random(seed)
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
            )
        )
        by_domain[domain] = company.id
    contacts = ContactService(context)
    memberships = MembershipService(context)
    for index in range(count):
        data = fake_contact(rng, index)
        contact = await contacts.create(data)
        assert data.email is not None
        await memberships.add(
            str(contact.id),
            MembershipCreate(
                company_id=by_domain[data.email.rsplit("@", 1)[1]],
                role=rng.choice(JOB_TITLES),
                is_primary=True,
            ),
        )
    return count
