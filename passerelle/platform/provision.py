"""Namespace provisioning run once per deployment (`passerelle setup`) and once per programme
(`passerelle programme add`): the namespace, its search attributes.

Idempotent: it lists what the namespace already has and adds only what is missing, so the set-up
service of docker-compose can run on every `up`. A name already registered with another type is an
error an operator must fix by hand (Temporal cannot change a search attribute's type).
On Temporal Cloud the operator API refuses this call: create the attributes with `tcld` or the
Cloud UI instead (docs/deployment.md, "Connecting to any Temporal").
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType, NamespaceState
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    ListNamespacesRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode, ServiceClient

from passerelle.platform.client import client_in
from passerelle.platform.programmes import NAME_KEY, Namespaces, ProgrammeError, slug_of
from passerelle.platform.schedules import apply_schedules
from workflows import search_attributes


def wanted_search_attributes() -> dict[str, "IndexedValueType.ValueType"]:
    """Return Passerelle's search attributes as `{name: indexed value type}`."""
    return {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in search_attributes.ALL}


async def add_search_attributes(client: Client, names: list[str] | None = None) -> None:
    """Add Passerelle's search attributes (or only `names`) without listing first.

    For servers that implement AddSearchAttributes but not ListSearchAttributes, such as the
    time-skipping test server; elsewhere use `ensure_search_attributes`.
    """
    wanted = wanted_search_attributes()
    chosen = {name: wanted[name] for name in (names or wanted)}
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=client.namespace, search_attributes=chosen)
    )


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register Passerelle's search attributes missing from the client's namespace; return their names."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    existing = dict(listed.custom_attributes)
    wanted = wanted_search_attributes()
    clashes = [
        f"{name} is {IndexedValueType.Name(existing[name])}, expected {IndexedValueType.Name(kind)}"
        for name, kind in wanted.items()
        if name in existing and existing[name] != kind
    ]
    if clashes:
        raise SystemExit(f"search attributes of another type in {client.namespace}: {'; '.join(clashes)}")
    missing = sorted(name for name in wanted if name not in existing)
    if missing:
        await add_search_attributes(client, missing)
    return missing


async def programme_namespaces(service: ServiceClient, namespaces: Namespaces) -> dict[str, str]:
    """Return each programme's own namespace the server holds: `{namespace: programme slug}`."""
    found: dict[str, str] = {}
    token = b""
    while True:
        page = await service.workflow_service.list_namespaces(
            ListNamespacesRequest(page_size=100, next_page_token=token)
        )
        for described in page.namespaces:
            info = described.namespace_info
            slug = namespaces.programme_of(info.name)
            registered = info.state == NamespaceState.NAMESPACE_STATE_REGISTERED
            if slug is not None and registered and NAME_KEY in info.data:  # `register_programme` made it
                found[info.name] = slug
        token = page.next_page_token
        if not token:
            return found


async def register_programme(client: Client, name: str, namespace: str, retention_days: int) -> bool:
    """Register a programme's own namespace, holding its name; return False when it was there.

    A namespace of that name made for another programme (whose slug is the same), or for nothing
    Passerelle made, is refused: two programmes must never share one.
    """
    if namespace == client.namespace:
        raise ProgrammeError(f"namespace {namespace} is the shared one: a programme needs its own")
    try:
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    else:
        holder = described.namespace_info.data.get(NAME_KEY)
        if holder is None:
            raise ProgrammeError(
                f"namespace {namespace} exists and is no programme's: change PASSERELLE_PROGRAMME_NAMESPACE"
            )
        if holder != name:
            raise ProgrammeError(f"namespace {namespace} is programme {holder!r}'s, not {name!r}'s")
        return False
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace,
            description=f"Passerelle programme {name}",
            workflow_execution_retention_period=Duration(seconds=retention_days * 86_400),
            data={NAME_KEY: name},
        )
    )
    return True


async def until_served(client: Client, attempts: int = 60) -> None:
    """Wait until a namespace just registered answers (the server's namespace cache refreshes
    every few seconds)."""
    for _ in range(attempts):
        try:
            await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=client.namespace)
            )
            return
        except RPCError as err:
            if err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.UNAVAILABLE):
                raise
        await asyncio.sleep(0.5)
    raise ProgrammeError(f"namespace {client.namespace} was registered but does not answer yet: run again")


@dataclass(frozen=True)
class ProgrammeSetup:
    """What `add_programme` did."""

    name: str
    slug: str
    namespace: str
    registered: bool  # False: the namespace was there already
    search_attributes: list[str]  # those added now
    schedules: dict[str, str]  # schedule id: what was done to it


async def add_programme(
    client: Client,
    name: str,
    namespaces: Namespaces,
    task_queue: str,
    env: Mapping[str, str],
    *,
    retention_days: int = 30,
    operators: str | None = None,
) -> ProgrammeSetup:
    """Give a programme its own namespace, search attributes and daily digest (idempotent)."""
    name = name.strip()
    slug = slug_of(name)
    namespace = namespaces.of(slug)
    registered = await register_programme(client, name, namespace, retention_days)
    own = client_in(client, namespace)
    await until_served(own)
    added = await ensure_search_attributes(own)
    digest_env = {**env, "PASSERELLE_DIGEST_PROGRAMME": slug}
    if operators:
        digest_env["PASSERELLE_OPERATOR_EMAILS"] = operators
    schedules = await apply_schedules(own, digest_env, task_queue)
    return ProgrammeSetup(name, slug, namespace, registered, added, schedules)
