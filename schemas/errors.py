"""Turn pydantic validation errors into one clear line that names each field and its rule."""

from pydantic import ValidationError


def describe_validation_error(error: ValidationError, what: str = "input") -> str:
    """Return `invalid <what>: field: rule; field: rule` for every error, in order."""
    parts = []
    for err in error.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{field}: {err['msg']}")
    return f"invalid {what}: " + "; ".join(parts)
