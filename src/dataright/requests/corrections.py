"""A rectification's corrected values: ``table.field`` (or ``dataset.table.field``) -> the value the person gave.

They are personal data: kept only encrypted on the request (AES-GCM under the identity key, bound to the
controller, like the identifier), never in a log, an audit entry or a job's arguments (which carry the
request's id). Only the names of the fields are checked here; the engine checks each value against the
declared field (rectifiable, e-mail or phone format, the column's type and length) when it applies them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from dataright.config import Keys
from dataright.errors import ValidationFailed
from dataright.identity.crypto import decrypt, encrypt

FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,79}(\.[A-Za-z_][A-Za-z0-9_]{0,79}){1,2}$")
MAX_FIELDS = 20
MAX_VALUE = 500
KIND = "corrections"
"""The associated data's kind: a ciphertext of corrections never decrypts as anything else."""


def check(corrections: Mapping[str, str], where: str = "corrections") -> dict[str, str]:
    """The corrections when their shape is right; a ValidationFailed naming the field otherwise (never the value)."""
    if not corrections:
        raise ValidationFailed(f"{where}: give at least one table.field and its corrected value")
    if len(corrections) > MAX_FIELDS:
        raise ValidationFailed(f"{where}: at most {MAX_FIELDS} fields in one request")
    out: dict[str, str] = {}
    for name, value in corrections.items():
        if not isinstance(name, str) or not FIELD.match(name):
            raise ValidationFailed(f"{where}: {str(name)[:100]!r}: expected table.field or dataset.table.field")
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise ValidationFailed(f"{where}.{name}: expected a text of at most {MAX_VALUE} characters")
        out[name] = value
    return dict(sorted(out.items()))


def seal(controller_id: str, corrections: Mapping[str, str], keys: Keys | None = None) -> bytes:
    return encrypt(controller_id, KIND, json.dumps(check(corrections), ensure_ascii=False), keys)


def unseal(controller_id: str, blob: bytes | None, keys: Keys | None = None) -> dict[str, str]:
    """The corrections sealed in ``blob`` (empty when there are none)."""
    if blob is None:
        return {}
    loaded = json.loads(decrypt(controller_id, KIND, blob, keys))
    return {str(k): str(v) for k, v in loaded.items()}
