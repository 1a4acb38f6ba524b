"""The package answering an access (GDPR Art. 15, PDPA s. 21) or portability (GDPR Art. 20) request: a zip.

Access package, for every controller party to the request:

* ``data.json``: machine-readable: the Art. 15(1)(a)-(h) and 15(2) information generated from the declaration
  (the notice's own view of it, never hand-kept text), the consent history with each receipt, the
  communication preferences, the person's requests, the datastore files and their row counts and, under the
  PDPA, how the data was used or disclosed in the year before the request (s. 21(1)(b), the disclosure log);
* ``index.html``: the same, readable, in the person's language (the ``package`` catalog);
* ``consent_history.csv`` and ``receipts/<receipt id>.json``;
* ``datastores/<dataset>.<table>.jsonl`` and ``.csv``: the person's rows from every connected datastore,
  found by the connector engine's access run. Rows are streamed to temporary files as the engine yields them
  and copied into the zip at the end, so memory stays flat however many rows there are. A declared datastore
  whose connection is not configured on this server is named in the package as not included.

Portability package: only data the person provided under consent or contract (fields whose categories a
consent- or contract-based purpose collects directly from the person or observes), as ``data.json`` and
``datastores/*.jsonl`` with ``schema.json`` (JSON Schema 2020-12) describing both.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from dataright.audit.service import append as audit
from dataright.consent import service as consent
from dataright.consent.schemas import EventOut
from dataright.declarations.catalogs import N_, MessageCatalog
from dataright.declarations.jurisdictions import get_jurisdiction
from dataright.declarations.notice.view import build_notice_view
from dataright.declarations.schema import Declaration
from dataright.errors import Conflict
from dataright.identity import service as identity
from dataright.requests import disclosures
from dataright.requests.lifecycle import FiledBy, RequestType
from dataright.requests.models import RequestParty, RightsRequest
from dataright.requests.notify import recipient as requester_identifier
from dataright.requests.package_rows import (
    TableFile,
    plain,
    portability_schema,
    portable_categories,
    stream_datastores,
    table_summary,
)
from dataright.storage.types import utcnow

CATALOG = MessageCatalog(
    package="dataright.requests",
    domain="package",
    python_packages=("dataright.requests",),
    template_package="dataright.requests",
)
ENGINE_KINDS = {"email": "email", "phone": "phone_number", "customer_id": "customer_id"}
"""The identity domain's identifier kinds as the datasets' ``identity:`` fields name them."""
LABELS: dict[str, str] = {
    # the disclosure log's kinds
    "access_package": N_("your data sent to you at your request"),
    "portability_package": N_("your data sent to you to take elsewhere"),
    "breach_notice": N_("a notice to you of a personal data breach"),
    "audience_export": N_("shared with a marketing or advertising partner"),
    "recipient_notice": N_("a recipient told of a change you asked for"),
    "processor_share": N_("shared with a service provider working for us"),
    "third_party_disclosure": N_("disclosed to another organisation"),
    # recipients
    "data_subject": N_("you"),
    "guardian": N_("your guardian"),
    # consent events
    "given": N_("consent given"),
    "withdrawn": N_("consent withdrawn"),
    "refused": N_("consent refused"),
    "expired": N_("consent expired"),
    "objected": N_("objection"),
    "objection_overruled": N_("objection overruled"),
    "gpc_opt_out": N_("opted out (Global Privacy Control)"),
}


def _json(value: Any) -> str:
    return json.dumps(value, default=plain, ensure_ascii=False, indent=2, sort_keys=False)


# ------------------------------------------------------------------------------------------------
# the person
# ------------------------------------------------------------------------------------------------
def _subject_at(session: Session, request: RightsRequest, controller_id: str) -> uuid.UUID | None:
    """The request's person as a subject of ``controller_id`` (each company of a joint arrangement has its own)."""
    if controller_id == request.controller_id and request.subject_id is not None:
        return request.subject_id
    if request.filed_by == FiledBy.guardian:
        if not (request.on_behalf_kind and request.on_behalf_hash):
            return None
        kind, digest = request.on_behalf_kind, request.on_behalf_hash
    else:
        kind, digest = request.identifier_kind, request.identifier_hash
    found = identity.find_subject_by_hash(session, controller_id=controller_id, kind=kind, digest=digest)
    return found.id if found is not None else None


def _hashes(session: Session, request: RightsRequest, subject_id: uuid.UUID | None) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if request.filed_by == FiledBy.guardian:
        if request.on_behalf_kind and request.on_behalf_hash:
            found.append((request.on_behalf_kind, request.on_behalf_hash))
    else:
        found.append((request.identifier_kind, request.identifier_hash))
    if subject_id is not None:
        found.extend((i.kind, i.hash) for i in identity.get_subject(session, subject_id).identifiers)
    return list(dict.fromkeys(found))


def _identities(session: Session, request: RightsRequest, subject_id: uuid.UUID | None) -> dict[str, str]:
    """The person's identifiers in clear, as the datastores' identity fields name them (for the engine)."""
    found: dict[str, str] = {}
    if subject_id is not None:
        for kind, value in identity.reveal(session, subject_id).items():
            if kind in ENGINE_KINDS:
                found[ENGINE_KINDS[kind]] = value
    if request.filed_by != FiledBy.guardian and request.identifier_kind in ENGINE_KINDS:
        found.setdefault(ENGINE_KINDS[request.identifier_kind], requester_identifier(request))
    if "email" in found:
        found["email"] = found["email"].lower()
    return found


# ------------------------------------------------------------------------------------------------
# the platform's own records
# ------------------------------------------------------------------------------------------------
def _requests_of(session: Session, controller_id: str, hashes: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    if not hashes:
        return []
    parties = select(RequestParty.request_id).where(RequestParty.controller_id == controller_id)
    matching = or_(
        *(and_(RightsRequest.identifier_kind == k, RightsRequest.identifier_hash == h) for k, h in hashes),
        *(and_(RightsRequest.on_behalf_kind == k, RightsRequest.on_behalf_hash == h) for k, h in hashes),
    )
    rows = session.scalars(
        select(RightsRequest).where(RightsRequest.id.in_(parties), matching).order_by(RightsRequest.received_at)
    )
    return [
        {
            "reference": r.reference,
            "type": r.type,
            "status": r.status,
            "channel": r.channel,
            "received_on": r.received_on.isoformat(),
            "due_on": r.due_on.isoformat(),
            "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        }
        for r in rows
    ]


def _recipient_name(declaration: Declaration, recipient: str, lang: str) -> str:
    system = declaration.system_by_id.get(recipient)
    if system is not None:
        return system.legal_name or system.name
    known = declaration.recipient_by_id.get(recipient)
    if known is not None:
        names = {str(k): v for k, v in known.name.items()}
        return names.get(lang) or names.get("en") or next(iter(names.values()))
    return recipient


def _disclosures_before(
    session: Session,
    declaration: Declaration,
    request: RightsRequest,
    controller_id: str,
    hashes: Sequence[tuple[str, str]],
    lang: str,
) -> dict[str, Any] | None:
    """PDPA s. 21(1)(b): how the data was used or disclosed within the covered time before the request."""
    pack = get_jurisdiction(declaration.controller_by_id[controller_id].jurisdiction)
    if pack.disclosures_covered is None:
        return None
    start = disclosures.since(pack.disclosures_covered, request.received_at)
    found = disclosures.of_subject(
        session, controller_ids=[controller_id], hashes=hashes, start=start, end=request.received_at
    )
    return {
        "from": start.isoformat(),
        "to": request.received_at.isoformat(),
        "reference": pack.disclosures_reference or "",
        "entries": [
            {
                "when": d.disclosed_at.isoformat(),
                "kind": d.kind,
                "recipient": d.recipient,
                "recipient_name": _recipient_name(declaration, d.recipient, lang),
                "purpose": d.purpose,
                "records": d.records,
            }
            for d in found
        ],
    }


def _consents(
    session: Session, declaration: Declaration, controller_id: str, subject_id: uuid.UUID | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if subject_id is None:
        return [], []
    events = [
        EventOut.of(e).model_dump(mode="json")
        for e in consent.history(session, controller_id=controller_id, subject_id=subject_id)
    ]
    preferences = [
        {
            "topic": p.topic_id,
            "channel": p.channel,
            "allowed": p.decision.allowed,
            "basis": p.decision.basis,
            "reason": p.decision.reason.value,
            "changeable": p.changeable,
        }
        for p in consent.preferences(
            session, declaration=declaration, controller_id=controller_id, subject_id=subject_id
        )
    ]
    return events, preferences


# ------------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------------
@cache
def environment_for(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("dataright.requests", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    translations = CATALOG.translations(lang)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["label"] = lambda value: translations.gettext(LABELS[value]) if value in LABELS else value
    return env


def _language(declaration: Declaration, controller_id: str, wanted: str) -> str:
    languages = declaration.controller_by_id[controller_id].languages
    return wanted if wanted in languages else str(languages[0])


def _consent_csv(events: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    columns = ["occurred_at", "target", "kind", "method", "reason", "notice_version", "source", "receipt_id"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for event in events:
        writer.writerow({c: event.get(c) for c in columns})
    return out.getvalue()


def _filename(request: RightsRequest) -> str:
    return f"{request.reference}-{request.type}.zip"


def build_package(session: Session, *, declaration: Declaration, request: RightsRequest) -> tuple[str, bytes]:
    """The zip answering ``request`` (access or portability): ``(file name, bytes)``."""
    kind = RequestType(request.type)
    if kind not in (RequestType.access, RequestType.portability):
        raise Conflict(f"request {request.reference}: only access and portability requests have a package")
    portability = kind is RequestType.portability
    generated = utcnow()
    lang = _language(declaration, request.controller_id, request.language)
    controllers: list[dict[str, Any]] = []
    files: dict[str, TableFile] = {}
    receipts: dict[str, dict[str, Any]] = {}
    consent_rows: list[dict[str, Any]] = []
    read: set[str] = set()
    unreachable: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="dataright-package-") as tmp,
        tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool,
    ):
        folder = Path(tmp)
        try:
            for controller_id in request.controller_ids:
                if controller_id not in declaration.controller_by_id:
                    continue
                subject_id = _subject_at(session, request, controller_id)
                hashes = _hashes(session, request, subject_id)
                events, preferences = _consents(session, declaration, controller_id, subject_id)
                portable = portable_categories(declaration, controller_id) if portability else None
                not_included = stream_datastores(
                    session,
                    declaration,
                    controller_id,
                    _identities(session, request, subject_id),
                    folder,
                    files,
                    portable=portable,
                    actor=f"request:{request.reference}",
                    done=read,
                )
                unreachable.update({d["dataset"]: d["reason"] for d in not_included})
                for event in events:
                    receipts[str(event["receipt_id"])] = event["receipt"]
                consent_rows.extend(events)
                datasets = {d.id for d in declaration.datasets_of(controller_id)}
                entry: dict[str, Any] = {
                    "id": controller_id,
                    "name": declaration.controller_by_id[controller_id].name,
                    "consents": [
                        {k: v for k, v in e.items() if k != "receipt"}
                        | {"receipt_file": f"receipts/{e['receipt_id']}.json"}
                        for e in events
                        if not portability or e["kind"] == "given"
                    ],
                    "datastores": table_summary(files, datasets),
                }
                if not portability:
                    notice = build_notice_view(declaration, controller_id, _language(declaration, controller_id, lang))
                    entry |= {
                        "art15": {
                            "purposes": [asdict(p) for p in notice.purposes],
                            "processors": [asdict(s) for s in notice.systems],
                            "recipients": [asdict(r) for r in notice.recipients],
                            "transfers": [asdict(t) for t in notice.transfers],
                            "retention": [asdict(r) for r in notice.retention],
                            "legal_holds": [asdict(h) for h in notice.holds],
                            "rights": asdict(notice.rights),
                            "automated_decisions": [asdict(a) for a in notice.automated],
                            "controller": asdict(notice.controller),
                            "law": notice.law,
                        },
                        "preferences": preferences,
                        "requests": _requests_of(session, controller_id, hashes),
                        "datastores_not_included": [{"dataset": d["dataset"], "name": d["name"]} for d in not_included],
                        "disclosures_before_request": _disclosures_before(
                            session, declaration, request, controller_id, hashes, lang
                        ),
                    }
                controllers.append(entry)
            data = {
                "request": {
                    "reference": request.reference,
                    "type": request.type,
                    "received_on": request.received_on.isoformat(),
                    "generated_at": generated.isoformat(),
                    "language": lang,
                },
                "controllers": controllers,
            }
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("data.json", _json(data))
                for f in files.values():
                    f.jsonl.close()
                    archive.write(folder / f"{f.name}.jsonl", f"datastores/{f.name}.jsonl")
                    if f.csv_file is not None:
                        f.csv_file.close()
                        archive.write(folder / f"{f.name}.csv", f"datastores/{f.name}.csv")
                if portability:
                    archive.writestr("schema.json", _json(portability_schema(files)))
                else:
                    for receipt_id, receipt in receipts.items():
                        archive.writestr(f"receipts/{receipt_id}.json", _json(receipt))
                    archive.writestr("consent_history.csv", _consent_csv(consent_rows))
                    page = (
                        environment_for(lang)
                        .get_template("package.html.j2")
                        .render(data=data, samples={k: f.sample for k, f in files.items()}, lang=lang)
                    )
                    archive.writestr("index.html", page)
        finally:
            for f in files.values():
                f.jsonl.close()
                if f.csv_file is not None:
                    f.csv_file.close()
        spool.seek(0)
        blob = spool.read()
    audit(
        session,
        actor=f"request:{request.reference}",
        action="request.package_built",
        entity_type="rights_request",
        entity_id=request.id,
        controller_id=request.controller_id,
        details={
            "reference": request.reference,
            "type": request.type,
            "bytes": len(blob),
            "rows": {name: f.rows for name, f in files.items()},
            "not_included": unreachable,
        },
    )
    return _filename(request), blob
