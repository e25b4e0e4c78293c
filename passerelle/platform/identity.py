"""Who a verified access token speaks for: its claims read into an actor statement's `Claims`.

Providers put the e-mail and the roles in different claims (docs/deployment.md, "Verified
actors"), so the names are settings: `PASSERELLE_ROLES_CLAIMS`, dotted paths read in order, each
a list of strings or one string (Keycloak's `realm_access.roles`, Entra ID's `roles`, a `groups`
claim), and `PASSERELLE_EMAIL_CLAIM`. A role reads `<programme>:<role>`; other values (a
provider's own groups) are left out. An e-mail the provider says it has not verified
(`email_verified: false`) is left out too: a playbook's approvers are matched against it.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from passerelle.platform.login_settings import DEFAULT_ROLES_CLAIMS
from passerelle.platform.scope import SPONSOR, Scope, of_roles
from passerelle.platform.vouching import Claims
from workflows.domain.identity import ROLES

# `<programme slug>:<role>`, or `*:<role>` for every programme (a national programme's staff). A
# sponsor steers nothing: it reads its organisation's report and export (passerelle.platform.scope).
ROLE = re.compile(rf"^(\*|[a-z0-9][a-z0-9._-]{{0,62}}):({'|'.join((*ROLES, SPONSOR))})$")


class IdentityConfigError(ValueError):
    """A claims mapping that cannot be used (the message names the variable)."""


@dataclass(frozen=True)
class ClaimsMapping:
    """Where the e-mail and the programme roles are in an access token."""

    roles_claims: tuple[str, ...] = DEFAULT_ROLES_CLAIMS
    email_claim: str = "email"
    organisation_claim: str = "organisation"  # a sponsor's group (`PASSERELLE_ORGANISATION_CLAIM`)

    def claims(self, token: Mapping[str, Any], token_key: str | None) -> Claims:
        """Return what a statement says of the token's holder."""
        email = _at(token, self.email_claim)
        verified = token.get("email_verified", True) is not False
        return Claims(
            issuer=str(token["iss"]),
            subject=str(token.get("sub") or ""),
            email=email.strip().lower() if isinstance(email, str) and email.strip() and verified else None,
            roles=tuple(sorted(set(self.roles(token)))),
            via="codec",
            token_id=str(token["jti"]) if token.get("jti") else None,
            token_key=token_key,
        )

    def scope(self, token: Mapping[str, Any]) -> Scope:
        """Return the programmes the token's holder sees (`passerelle.platform.scope`)."""
        organisation = _at(token, self.organisation_claim)
        claims = self.claims(token, None)
        return of_roles(claims.roles, organisation if isinstance(organisation, str) else None, claims.email)

    def roles(self, token: Mapping[str, Any]) -> list[str]:
        """Return the programme roles the token's claims name."""
        found: list[str] = []
        for path in self.roles_claims:
            value = _at(token, path)
            values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            found += [v for v in values if isinstance(v, str) and ROLE.fullmatch(v)]
        return found


def _at(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def mapping_from(env: Mapping[str, str]) -> ClaimsMapping:
    """Read `PASSERELLE_ROLES_CLAIMS`, `PASSERELLE_EMAIL_CLAIM` and `PASSERELLE_ORGANISATION_CLAIM`."""
    raw = env.get("PASSERELLE_ROLES_CLAIMS")
    claims = DEFAULT_ROLES_CLAIMS if raw is None else tuple(p.strip() for p in raw.split(",") if p.strip())
    if not claims:
        raise IdentityConfigError("PASSERELLE_ROLES_CLAIMS must name at least one claim")
    email = (env.get("PASSERELLE_EMAIL_CLAIM") or "email").strip()
    organisation = (env.get("PASSERELLE_ORGANISATION_CLAIM") or "organisation").strip()
    return ClaimsMapping(claims, email, organisation)
