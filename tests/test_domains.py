"""The domain manifests are complete: every route of the API belongs to one domain and asks for
scopes its domain declares, every task module declares work, and event types and sample
parameters are declared once."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

from fastapi.routing import APIRoute, iter_route_contexts

import rapport
from rapport.app import create_app
from rapport.auth.dependencies import required_scopes
from rapport.auth.scopes import ALL_SCOPES
from rapport.domains import DOMAINS
from rapport.events.catalog import EVENT_TYPES
from rapport.events.stream import CONSUMERS
from rapport.worker.registry import REGISTRY
from tests.helpers import make_settings


def test_every_api_route_belongs_to_one_domain_and_asks_for_its_scopes(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    owners: dict[int, str] = {}
    for domain in DOMAINS:
        assert set(domain.scopes) <= ALL_SCOPES, domain.name
        for router in domain.routers:
            for route in router.routes:
                assert isinstance(route, APIRoute)
                assert id(route.endpoint) not in owners, f"{route.path} is in two domains"
                owners[id(route.endpoint)] = domain.name
                wanted = required_scopes(route) - set(domain.scopes)
                assert not wanted, f"{domain.name}: {route.path} asks for {wanted}, undeclared"
    api = [
        context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and str(context.path).startswith("/api/")
    ]
    assert len(api) == len(owners)
    for route in api:
        assert id(route.endpoint) in owners, f"{route.path} belongs to no domain's manifest"


def test_task_modules_declare_tasks_or_consumers() -> None:
    for domain in DOMAINS:
        for module in domain.task_modules:
            importlib.import_module(module)
            declared = {
                name
                for name, spec in {**REGISTRY, **CONSUMERS}.items()
                if spec.handler.__module__ == module
            }
            assert declared, f"{module} declares no task and no consumer"


def test_event_types_and_samples_are_declared_once() -> None:
    declared = [t for domain in DOMAINS for t in domain.event_types]
    assert len(declared) == len(set(declared))
    assert set(declared) == set(EVENT_TYPES)
    parameters = [s.parameter for domain in DOMAINS for s in domain.samples]
    assert len(parameters) == len(set(parameters))


def test_the_layer_contracts_name_every_package() -> None:
    """`kit` and `models` are kept from importing every other package of rapport: a new
    package must be added to those contracts' lists in pyproject.toml."""
    root = Path(rapport.__file__).parent
    packages = {
        f"rapport.{path.stem if path.is_file() else path.name}"
        for path in root.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.stem != "__init__")
    }
    config = tomllib.loads((root.parent / "pyproject.toml").read_text())
    contracts = {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}
    for source in ("rapport.kit", "rapport.models"):
        (contract,) = [
            c
            for c in contracts.values()
            if c["type"] == "forbidden" and c["source_modules"] == [source]
        ]
        assert set(contract["forbidden_modules"]) == packages - {source, "rapport.kit"}
