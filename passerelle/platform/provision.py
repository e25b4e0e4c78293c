"""Namespace provisioning run once per deployment (`passerelle setup`): the search attributes.

Idempotent: it lists what the namespace already has and adds only what is missing, so the set-up
service of docker-compose can run on every `up`. A name already registered with another type is an
error an operator must fix by hand (Temporal cannot change a search attribute's type).
On Temporal Cloud the operator API refuses this call: create the attributes with `tcld` or the
Cloud UI instead (docs/deployment.md, "Connecting to any Temporal").
"""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client

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
