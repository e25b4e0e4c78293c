"""People's data rights (docs/privacy.md): the `erase_contact` update, pseudonyms, retention.

An erased address is replaced everywhere by a stable pseudonym, `erased:<12 hex digits>`: an HMAC
of the lower-cased address under a secret derived from the master key, so the same person gets
the same pseudonym in every row (counts and KPIs per person still add up) and nobody without the
key can test a guessed address against it.
"""

import functools
import hashlib
import hmac
import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field, StringConstraints, WithJsonSchema
from pydantic.networks import validate_email

from schemas.actors import Acted
from schemas.addresses import PSEUDONYM
from schemas.fields import STRICT, Actor, Reason

PSEUDONYM_PATTERN = f"^{PSEUDONYM.pattern}$"
DATA_KEY_PATTERN = r"^[0-9a-f]{24}$"

Pseudonym = Annotated[str, StringConstraints(pattern=PSEUDONYM_PATTERN)]


@functools.lru_cache(maxsize=4096)
def _contact(value: str) -> str:
    # Cached: a pure function of the text, and email-validator's checks cost a fifth of a
    # millisecond, paid three times per spreadsheet row and per start input read.
    if is_pseudonym(value):
        return value
    return validate_email(value)[1]  # what EmailStr does, with its message


# A contact field: an address (as `EmailStr` reads it), or the pseudonym of one erased with no
# replacement. It is published as an e-mail address: only an erasure writes a pseudonym.
Contact = Annotated[str, AfterValidator(_contact), WithJsonSchema({"type": "string", "format": "email"})]
DataKeyId = Annotated[str, StringConstraints(pattern=DATA_KEY_PATTERN)]


def pseudonym_of(address: str, secret: bytes) -> str:
    """Return the pseudonym of `address` (its case does not matter) under `secret`."""
    digest = hmac.new(secret, address.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"erased:{digest[:12]}"


def is_pseudonym(value: str) -> bool:
    """Return True when a contact field holds an erased address's pseudonym."""
    return re.fullmatch(PSEUDONYM_PATTERN, value) is not None


class ContactErasure(Acted):
    """`erase_contact`: remove an address from a running collaboration (`passerelle privacy erase`).

    The workflow replaces the address wherever its state holds it, by `replacement` in a contact
    field when one is given, by the pseudonym everywhere else; then it continues-as-new sealed
    with the data key `next_key`, and the new run destroys the chain's older keys.
    """

    model_config = STRICT

    email: EmailStr
    pseudonym: Pseudonym
    replacement: EmailStr | None = None
    by: Actor
    reason: Reason
    next_key: DataKeyId


class KeyChange(BaseModel):
    """The data key a chain seals with from now on (`activate_data_key`)."""

    model_config = STRICT

    workflow_id: str
    key_id: DataKeyId


class KeyDestruction(BaseModel):
    """Destroy a chain's data keys but `keep` (`destroy_data_keys`)."""

    model_config = STRICT

    workflow_id: str
    keep: list[DataKeyId]
    by: str  # the erasure's `by`, checked when it was requested (rules added since do not apply)
    reason: Reason


class RetentionRequest(BaseModel):
    """One run of the retention sweep: collaborations closed before `now - days` (or their
    playbook's `retention_days`) lose their personal data."""

    model_config = STRICT

    default_days: Annotated[int, Field(ge=1, le=36500)]
    batch: Annotated[int, Field(ge=1, le=1000)] = 200


class RetentionSweep(BaseModel):
    """One round of the sweep, at the workflow's time `now`."""

    model_config = STRICT

    now: datetime
    default_days: int
    batch: int


class RetentionResult(BaseModel):
    """What one sweep did."""

    collaborations: list[str] = []
    rows_changed: int = 0
    keys_destroyed: int = 0
    more: bool = False  # the batch was full: the next run continues


class Rekey(BaseModel):
    """An erasure under way in a running collaboration: the data key it moves to."""

    model_config = STRICT

    key: DataKeyId
    by: str  # the erasure's `by`, checked when it was requested (rules added since do not apply)
    reason: Reason
    activated: bool = False  # the chain seals with `key`: the run may continue-as-new
