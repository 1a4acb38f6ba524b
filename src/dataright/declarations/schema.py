"""The declaration schema: an organisation's processing written as data.

Every model forbids unknown keys (a typo is an error, not a silently ignored field) and is frozen:
a loaded declaration is never edited at run time. Cross references (a purpose naming a system, a
cookie naming its consent purpose) are checked by ``Declaration`` after the fields validate, so
an error points at the referring field.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Set
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dataright.declarations.datasets import Dataset
from dataright.declarations.periods import Period
from dataright.declarations.taxonomy import FIDES_CATEGORY_KEYS, FIDES_DATA_USE_KEYS, is_special_fides_key
from dataright.declarations.timezones import closest_timezones, default_timezone, is_timezone, zones_of

Language = Literal["en", "nb", "sv", "da", "de", "fi", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "nb", "sv", "da", "de", "fi", "fr")

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
LocalizedText = Annotated[dict[Language, str], Field(min_length=1)]
MonthDay = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]


class Text(str):
    """A name or reference a reader sees: a plain string (a proper name: "Stripe"), or a language map
    (``{en: Shipping providers, sv: Fraktleverantörer}``) when it reads differently in each language.

    It *is* a ``str``, the English text (else the first given), so code that needs one value keeps working;
    the documents pick the reader's language with ``in_language``.
    """

    translations: dict[str, str]

    def __new__(cls, value: str, translations: dict[str, str] | None = None) -> Text:
        text = super().__new__(cls, value)
        text.translations = dict(translations or {})
        return text

    def in_language(self, lang: str, fallback: str = "en") -> str:
        if not self.translations:
            return str(self)
        return self.translations.get(lang) or self.translations.get(fallback) or str(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Text, (str(self), self.translations))


def _text(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    if isinstance(value, str):
        if not value.strip():
            raise PydanticCustomError("text", "expected a non-empty text")
        return Text(value.strip())
    if isinstance(value, dict) and value:
        unknown = [k for k in value if k not in LANGUAGES]
        if unknown:
            raise PydanticCustomError(
                "text",
                "unknown language {unknown}; expected one of {known}",
                {"unknown": ", ".join(map(str, unknown)), "known": ", ".join(LANGUAGES)},
            )
        if not all(isinstance(v, str) and v.strip() for v in value.values()):
            raise PydanticCustomError("text", "every language of a text needs a non-empty string")
        cleaned = {k: v.strip() for k, v in value.items()}
        return Text(cleaned.get("en") or next(iter(cleaned.values())), cleaned)
    raise PydanticCustomError("text", "expected a string or a language map such as {en: ..., sv: ...}")


def _dump_text(value: Text) -> str | dict[str, str]:
    return dict(value.translations) if value.translations else str(value)


TranslatableText = Annotated[
    Text,
    PlainValidator(_text),
    PlainSerializer(_dump_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1},
            ],
            "description": "a plain string, or a map from language code to the text in that language",
        }
    ),
]
"""A reader-facing name or reference: a plain string, or a language map that overrides it per language."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --------------------------------------------------------------------------------------------
# enumerations taken from the law
# --------------------------------------------------------------------------------------------
class LegalBasis(StrEnum):
    """Lawful grounds. GDPR Art. 6(1)(a)-(f) and the PDPA's bases; packs say which apply where."""

    consent = "consent"
    contract = "contract"
    legal_obligation = "legal_obligation"
    vital_interests = "vital_interests"
    public_task = "public_task"
    legitimate_interests = "legitimate_interests"
    deemed_consent = "deemed_consent"
    business_improvement = "business_improvement"


class Art9Condition(StrEnum):
    """GDPR Art. 9(2) conditions for special categories of personal data."""

    explicit_consent = "art9_2_a_explicit_consent"
    employment = "art9_2_b_employment"
    vital_interests = "art9_2_c_vital_interests"
    not_for_profit = "art9_2_d_not_for_profit"
    made_public = "art9_2_e_made_public"
    legal_claims = "art9_2_f_legal_claims"
    substantial_public_interest = "art9_2_g_public_interest"
    health_care = "art9_2_h_health_care"
    public_health = "art9_2_i_public_health"
    archiving_research = "art9_2_j_research"


class Role(StrEnum):
    processor = "processor"
    controller = "controller"
    joint_controller = "joint_controller"
    internal = "internal"


class TransferMechanism(StrEnum):
    adequacy = "adequacy"
    scc = "scc"
    bcr = "bcr"
    derogation = "art49_derogation"
    comparable_protection = "comparable_protection"  # PDPA s. 26: legally enforceable obligations


class Trigger(StrEnum):
    """The event a retention period runs from."""

    collection = "collection"
    last_activity = "last_activity"
    account_closure = "account_closure"
    relationship_end = "relationship_end"
    fiscal_year_end = "fiscal_year_end"
    consent_withdrawal = "consent_withdrawal"
    case_closed = "case_closed"


class RetentionAction(StrEnum):
    delete = "delete"
    anonymise = "anonymise"
    pseudonymise = "pseudonymise"


class CookieCategory(StrEnum):
    strictly_necessary = "strictly_necessary"
    functional = "functional"
    performance = "performance"
    targeting = "targeting"


class Channel(StrEnum):
    email = "email"
    sms = "sms"
    phone = "phone"
    post = "post"
    push = "push"
    in_app = "in_app"


class OptOutMethod(StrEnum):
    """How a person withdraws consent, objects or unsubscribes."""

    one_click_link = "one_click_link"
    preference_centre = "preference_centre"
    cookie_settings = "cookie_settings"
    reply_stop = "reply_stop"
    customer_service = "customer_service"
    email = "email"
    account_settings = "account_settings"


class SourceType(StrEnum):
    direct = "direct"
    automatic = "automatic"
    third_party = "third_party"


class Right(StrEnum):
    access = "access"
    rectification = "rectification"
    erasure = "erasure"
    restriction = "restriction"
    portability = "portability"
    objection = "objection"
    withdraw_consent = "withdraw_consent"
    automated_decisions = "automated_decisions"
    complaint = "complaint"


class VerificationMethod(StrEnum):
    email_link = "email_link"
    sms_code = "sms_code"
    logged_in = "logged_in"
    bankid = "bankid"
    id_document = "id_document"
    singpass = "singpass"
    staff_check = "staff_check"


class Fee(StrEnum):
    free = "free"
    free_unless_unfounded = "free_unless_unfounded"
    reasonable_fee = "reasonable_fee"


class RecipientType(StrEnum):
    group_company = "group_company"
    authority = "authority"
    adviser = "adviser"
    business_partner = "business_partner"
    acquirer = "acquirer"
    service_provider = "service_provider"
    research = "research"


# --------------------------------------------------------------------------------------------
# organisation, controllers, groups
# --------------------------------------------------------------------------------------------
class Contact(Model):
    name: TranslatableText | None = None
    email: Email | None = None
    phone: str | None = None
    url: str | None = None
    address: TranslatableText | None = None


class Authority(Model):
    name: LocalizedText
    url: str | None = None
    email: Email | None = None


class RightsHandling(Model):
    """How a controller answers rights requests; packs supply the statutory limits."""

    response_time: Period | None = None
    extension: Period | None = None
    fee: Fee = Fee.free_unless_unfounded
    identity_verification: tuple[VerificationMethod, ...] = (VerificationMethod.email_link,)
    consent_age: int | None = Field(default=None, ge=0, le=21)
    channels: tuple[Contact, ...] = ()
    rights: tuple[Right, ...] = tuple(Right)
    note: LocalizedText | None = None


class Controller(Model):
    id: Key
    legal_name: str
    display_name: str | None = None
    registration_number: str | None = None
    country: Country
    jurisdiction: Key
    address: TranslatableText | None = None
    contact: Contact
    dpo: Contact | None = None
    representative: Contact | None = None
    supervisory_authority: Authority | None = None
    languages: tuple[Language, ...] = Field(min_length=1)
    website: str | None = None
    rights: RightsHandling | None = None
    # GDPR Art. 30(1)(g): a general description of the technical and organisational security measures.
    security_measures: LocalizedText | None = None
    timezone: str | None = Field(
        default=None,
        description="IANA time zone the controller's deadlines are dates in; defaults to the country's only zone.",
        examples=["Europe/Oslo"],
    )
    fiscal_year_end: MonthDay | None = Field(
        default=None,
        description="The last day of the controller's financial year as MM-DD (12-31 for the calendar year); "
        "02-29 means the last day of February. Retention rules and legal holds that run from the end of the "
        "financial year need it.",
        examples=["12-31", "06-30"],
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and not is_timezone(value):
            close = closest_timezones(value)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PydanticCustomError(
                "timezone",
                "{value} is not an IANA time zone name such as Europe/Oslo{hint}",
                {"value": repr(value), "hint": hint},
            )
        return value

    @field_validator("fiscal_year_end")
    @classmethod
    def _real_month_day(cls, value: str | None) -> str | None:
        if value is not None:
            month, day = int(value[:2]), int(value[3:])
            if day > (29 if month == 2 else calendar.monthrange(2001, month)[1]):
                raise PydanticCustomError(
                    "month_day", "{value} is not a day of the year (MM-DD, such as 12-31)", {"value": repr(value)}
                )
        return value

    @model_validator(mode="before")
    @classmethod
    def _timezone_from_country(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("timezone") is None and isinstance(data.get("country"), str):
            zone = default_timezone(data["country"])
            if zone is not None:
                return {**data, "timezone": zone}
        return data

    @model_validator(mode="after")
    def _timezone_known(self) -> Controller:
        if self.timezone is None:
            zones = zones_of(self.country)
            listed = f" ({', '.join(zones[:4])}{', ...' if len(zones) > 4 else ''})" if zones else ""
            raise PydanticCustomError(
                "timezone",
                "country {country} has no single time zone{listed}; declare timezone: with an IANA name",
                {"country": self.country, "listed": listed},
            )
        return self

    @property
    def name(self) -> str:
        return self.display_name or self.legal_name

    @property
    def zone(self) -> ZoneInfo:
        """The controller's time zone: its deadlines are dates on this zone's calendar."""
        if self.timezone is None:  # only a model built without validation gets here
            raise ValueError(f"controller {self.id!r} has no time zone")
        return ZoneInfo(self.timezone)


class Group(Model):
    id: Key
    name: TranslatableText
    parent: Key | None = None
    members: tuple[Key, ...] = Field(min_length=1)
    members_url: str | None = None
    description: LocalizedText | None = None


class JointArrangement(Model):
    """An Art. 26 arrangement: who jointly decides which processing, and whom to contact."""

    id: Key
    controllers: tuple[Key, ...] = Field(min_length=2)
    purposes: tuple[Key, ...] = Field(min_length=1)
    contact_point: Key
    essence: LocalizedText
    reference: TranslatableText | None = None


class Organisation(Model):
    id: Key
    name: str
    website: str | None = None
    default_language: Language = "en"


# --------------------------------------------------------------------------------------------
# subjects, categories, systems, recipients
# --------------------------------------------------------------------------------------------
class DataSubject(Model):
    id: Key
    name: LocalizedText
    description: LocalizedText | None = None
    child: bool = False
    fides_key: str | None = None


class CustomCategory(Model):
    """A data category the fideslang taxonomy lacks; ``parent`` places it under a taxonomy key."""

    id: Key
    name: LocalizedText
    description: LocalizedText | None = None
    parent: str | None = None
    special: bool = False


class Transfer(Model):
    country: Country
    mechanism: TransferMechanism | None = None
    reference: TranslatableText | None = None
    derogation: TranslatableText | None = None
    note: LocalizedText | None = None


class Dpa(Model):
    reference: str
    signed: date | None = None


class System(Model):
    """A system or vendor personal data goes to: a processor, another controller, or our own."""

    id: Key
    name: TranslatableText
    legal_name: str | None = None
    role: Role
    description: LocalizedText
    processing_countries: tuple[Country, ...] = Field(min_length=1)
    storage_countries: tuple[Country, ...] = Field(min_length=1)
    dpa: Dpa | None = None
    transfers: tuple[Transfer, ...] = ()
    privacy_policy: str | None = None
    audience_matching: bool = False
    """It receives hashed identifiers to match them with its own users (an advertising network's customer
    match): the only kind of recipient ``dataright audiences export`` writes an audience for."""

    @property
    def countries(self) -> tuple[Country, ...]:
        return tuple(dict.fromkeys(self.processing_countries + self.storage_countries))


class Recipient(Model):
    """A category of recipient that is not a system: authorities, advisers, group companies."""

    id: Key
    name: LocalizedText
    type: RecipientType
    description: LocalizedText | None = None
    country: Country | None = None
    transfers: tuple[Transfer, ...] = ()


# --------------------------------------------------------------------------------------------
# retention
# --------------------------------------------------------------------------------------------
class RetentionRule(Model):
    id: Key
    description: LocalizedText
    duration: Period
    """How long after the trigger the data goes at the latest."""
    trigger: Trigger
    action: RetentionAction | None = None
    due_after: Period | None = None
    """When the rows become due for the sweep (default: ``duration``). ``P0D`` with a consent withdrawal:
    the next sweep removes them; ``duration`` stays the promise's outer limit."""

    @property
    def due_period(self) -> Period:
        return self.due_after if self.due_after is not None else self.duration


class LegalHold(Model):
    """A legal duty to keep data that overrides erasure until it expires."""

    id: Key
    description: LocalizedText
    duration: Period
    trigger: Trigger
    reference: TranslatableText
    jurisdiction: Key | None = None
    data_categories: tuple[str, ...] = ()
    controllers: tuple[Key, ...] = ()
    """The controllers the duty binds (a company's own books); empty means every controller."""

    def binds(self, controller_id: str) -> bool:
        return not self.controllers or controller_id in self.controllers


# --------------------------------------------------------------------------------------------
# purposes
# --------------------------------------------------------------------------------------------
class Source(Model):
    type: SourceType
    name: LocalizedText | None = None
    system: Key | None = None


class ConsentSettings(Model):
    withdrawal: tuple[OptOutMethod, ...] = ()
    lifetime: Period | None = None
    granular: bool = True
    after_withdrawal: Key | None = None
    """The retention rule that applies once consent is withdrawn (its trigger: consent_withdrawal)."""


class ObjectionSettings(Model):
    methods: tuple[OptOutMethod, ...] = Field(min_length=1)
    absolute: bool = False


class AutomatedDecision(Model):
    logic: LocalizedText
    significance: LocalizedText
    legal_effect: bool = False


class Purpose(Model):
    id: Key
    controllers: tuple[Key, ...] = Field(min_length=1)
    name: LocalizedText
    description: LocalizedText
    legal_basis: LegalBasis | None = None
    legitimate_interest: LocalizedText | None = None
    special_category_condition: Art9Condition | None = None
    data_categories: tuple[str, ...] = Field(min_length=1)
    data_subjects: tuple[Key, ...] = Field(min_length=1)
    sources: tuple[Source, ...] = Field(min_length=1)
    recipients: tuple[Key, ...] = ()
    retention: Key | None = None
    legal_holds: tuple[Key, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    automated_decision_making: AutomatedDecision | None = None
    consent: ConsentSettings | None = None
    objection: ObjectionSettings | None = None
    direct_marketing: bool = False
    sale_or_sharing: bool = False
    data_use: str | None = None
    guardian_consent: bool = False
    joint_arrangement: Key | None = None

    @property
    def retention_ids(self) -> tuple[str, ...]:
        """Every retention rule the purpose names: its own, then the one after a consent withdrawal."""
        after = self.consent.after_withdrawal if self.consent else None
        return tuple(r for r in (self.retention, after) if r is not None)

    # Several controllers each deciding this processing for themselves (a group notice describing the
    # same processing for each company), not jointly: no Art. 26 arrangement is needed.
    separate_controllers: bool = False


# --------------------------------------------------------------------------------------------
# cookies, communications, notice
# --------------------------------------------------------------------------------------------
def _cookie_duration(value: object) -> Period | Literal["session"]:
    if value == "session" or isinstance(value, Period):
        return value
    if isinstance(value, str):
        try:
            return Period.parse(value)
        except ValueError:
            pass
    raise PydanticCustomError(
        "cookie_duration", "expected 'session' or an ISO 8601 period such as P13M, got {v!r}", {"v": value}
    )


CookieDuration = Annotated[
    Period | Literal["session"],
    PlainValidator(_cookie_duration),
    PlainSerializer(lambda v: v if isinstance(v, str) else v.iso()),
    WithJsonSchema({"anyOf": [{"const": "session"}, {"type": "string", "description": "ISO 8601 period"}]}),
]


class Cookie(Model):
    name: str
    provider: TranslatableText
    system: Key | None = None
    category: CookieCategory
    duration: CookieDuration
    purpose: LocalizedText
    consent_purpose: Key | None = None
    first_party: bool = True
    controllers: tuple[Key, ...] = ()


class ConsentModeSignal(StrEnum):
    """Google Consent Mode v2 consent types (``gtag('consent', ...)``)."""

    ad_storage = "ad_storage"
    ad_user_data = "ad_user_data"
    ad_personalization = "ad_personalization"
    analytics_storage = "analytics_storage"
    functionality_storage = "functionality_storage"
    personalization_storage = "personalization_storage"
    security_storage = "security_storage"


# Which accepted cookie category grants which Consent Mode signals, unless the declaration says otherwise.
DEFAULT_CONSENT_MODE: dict[CookieCategory, tuple[ConsentModeSignal, ...]] = {
    CookieCategory.performance: (ConsentModeSignal.analytics_storage,),
    CookieCategory.targeting: (
        ConsentModeSignal.ad_storage,
        ConsentModeSignal.ad_user_data,
        ConsentModeSignal.ad_personalization,
    ),
}
CookieName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)]


class CookieBanner(Model):
    """The cookie banner dataright serves (``/banner/{controller}.js``): what the declaration's cookies and
    purposes do not already say."""

    cookie_name: CookieName = Field(
        "dataright_consent",
        description="The first-party cookie the banner keeps the choice (and the device id) in; declare it as a "
        "strictly_necessary cookie.",
    )
    notice_url: HttpUrl | None = Field(
        None, description="The privacy notice the banner links to (default: the controller's website)."
    )
    google_consent_mode: bool = Field(
        False,
        description="Set Google Consent Mode v2 (default denied, updated on every choice); only for sites "
        "that use Google tags.",
    )
    consent_mode: dict[CookieCategory, tuple[ConsentModeSignal, ...]] = Field(
        default_factory=dict,
        description="Which accepted category grants which Consent Mode signals; categories not named keep the "
        "default (performance: analytics_storage; targeting: ad_storage, ad_user_data, ad_personalization).",
    )

    def signals(self) -> dict[CookieCategory, tuple[ConsentModeSignal, ...]]:
        """The Consent Mode mapping in force: the default with the declaration's entries over it."""
        return {**DEFAULT_CONSENT_MODE, **self.consent_mode}


class CommunicationTopic(Model):
    id: Key
    name: LocalizedText
    description: LocalizedText | None = None
    controllers: tuple[Key, ...] = ()
    purpose: Key
    legal_basis: LegalBasis
    channels: tuple[Channel, ...] = Field(min_length=1)
    unsubscribe: tuple[OptOutMethod, ...] = ()


class NoticeChange(Model):
    version: str | None = None
    date: date
    summary: LocalizedText


class NoticeMeta(Model):
    version: str | None = None
    """The notice's own version label; ``None`` when it has none (it is then known by its effective date)."""
    effective_date: date
    history: tuple[NoticeChange, ...] = ()
    change_notification: LocalizedText | None = None

    @property
    def label(self) -> str:
        """What identifies this notice in consent records: its version, else its effective date."""
        return self.version or self.effective_date.isoformat()


# --------------------------------------------------------------------------------------------
# the declaration
# --------------------------------------------------------------------------------------------
class Declaration(Model):
    """One organisation's processing; the document the YAML files merge into."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        ignored_types=(cached_property,),
        json_schema_extra={"title": "dataright declaration"},
    )

    organisation: Organisation
    controllers: tuple[Controller, ...] = Field(min_length=1)
    groups: tuple[Group, ...] = ()
    joint_arrangements: tuple[JointArrangement, ...] = ()
    data_subjects: tuple[DataSubject, ...] = Field(min_length=1)
    data_categories: tuple[CustomCategory, ...] = ()
    systems: tuple[System, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    retention_rules: tuple[RetentionRule, ...] = ()
    legal_holds: tuple[LegalHold, ...] = ()
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    cookies: tuple[Cookie, ...] = ()
    cookie_banner: CookieBanner = CookieBanner()
    communication_topics: tuple[CommunicationTopic, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    rights: RightsHandling = RightsHandling()
    notice: NoticeMeta

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Declaration:
        """A copy whose lookups (``controller_by_id``, ...) are worked out again from the updated fields: the
        cached ones of the original would otherwise travel with the copy and answer for the old fields."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            for name in [n for n, v in vars(Declaration).items() if isinstance(v, cached_property)]:
                copy.__dict__.pop(name, None)
        return copy

    # -- lookups ---------------------------------------------------------------------------
    @cached_property
    def controller_by_id(self) -> dict[str, Controller]:
        return {c.id: c for c in self.controllers}

    @cached_property
    def purpose_by_id(self) -> dict[str, Purpose]:
        return {p.id: p for p in self.purposes}

    @cached_property
    def system_by_id(self) -> dict[str, System]:
        return {s.id: s for s in self.systems}

    @cached_property
    def recipient_by_id(self) -> dict[str, Recipient]:
        return {r.id: r for r in self.recipients}

    @cached_property
    def subject_by_id(self) -> dict[str, DataSubject]:
        return {s.id: s for s in self.data_subjects}

    @cached_property
    def category_by_id(self) -> dict[str, CustomCategory]:
        return {c.id: c for c in self.data_categories}

    @cached_property
    def retention_by_id(self) -> dict[str, RetentionRule]:
        return {r.id: r for r in self.retention_rules}

    @cached_property
    def hold_by_id(self) -> dict[str, LegalHold]:
        return {h.id: h for h in self.legal_holds}

    @cached_property
    def arrangement_by_id(self) -> dict[str, JointArrangement]:
        return {a.id: a for a in self.joint_arrangements}

    @cached_property
    def topic_by_id(self) -> dict[str, CommunicationTopic]:
        return {t.id: t for t in self.communication_topics}

    @cached_property
    def dataset_by_id(self) -> dict[str, Dataset]:
        return {d.id: d for d in self.datasets}

    def datasets_of(self, controller_id: str) -> tuple[Dataset, ...]:
        return tuple(d for d in self.datasets if d.serves(controller_id))

    def purposes_of(self, controller_id: str) -> tuple[Purpose, ...]:
        return tuple(p for p in self.purposes if controller_id in p.controllers)

    def cookies_of(self, controller_id: str) -> tuple[Cookie, ...]:
        return tuple(c for c in self.cookies if not c.controllers or controller_id in c.controllers)

    def topics_of(self, controller_id: str) -> tuple[CommunicationTopic, ...]:
        return tuple(t for t in self.communication_topics if not t.controllers or controller_id in t.controllers)

    def rights_of(self, controller_id: str) -> RightsHandling:
        return self.controller_by_id[controller_id].rights or self.rights

    def is_special(self, category: str) -> bool:
        custom = self.category_by_id.get(category)
        if custom is not None:
            return custom.special or (custom.parent is not None and is_special_fides_key(custom.parent))
        return is_special_fides_key(category)

    def is_child_purpose(self, purpose: Purpose) -> bool:
        return any(self.subject_by_id[s].child for s in purpose.data_subjects if s in self.subject_by_id)

    # -- cross references --------------------------------------------------------------------
    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(path, message) for every id that names nothing, and every id declared twice.

        The loader runs this after the fields validate, so each problem is reported at its file:line.
        """
        out: list[tuple[tuple[str | int, ...], str]] = []

        def unique(section: str, items: tuple[BaseModel, ...], attr: str = "id") -> set[str]:
            seen: set[str] = set()
            for i, item in enumerate(items):
                value = getattr(item, attr)
                if value in seen:
                    out.append(((section, i, attr), f"{value!r} is declared twice in {section}"))
                seen.add(value)
            return seen

        controllers = unique("controllers", self.controllers)
        subjects = unique("data_subjects", self.data_subjects)
        customs = unique("data_categories", self.data_categories)
        systems = unique("systems", self.systems)
        recipients = unique("recipients", self.recipients)
        rules = unique("retention_rules", self.retention_rules)
        holds = unique("legal_holds", self.legal_holds)
        purposes = unique("purposes", self.purposes)
        arrangements = unique("joint_arrangements", self.joint_arrangements)
        unique("groups", self.groups)
        datasets = unique("datasets", self.datasets)
        unique("communication_topics", self.communication_topics)
        for shadow in sorted(customs & FIDES_CATEGORY_KEYS):
            index = [c.id for c in self.data_categories].index(shadow)
            out.append((("data_categories", index, "id"), f"{shadow!r} is already a fideslang category"))
        categories = customs | FIDES_CATEGORY_KEYS

        def refs(path: tuple[str | int, ...], values: tuple[str, ...] | list[str], known: Set[str], what: str) -> None:
            for j, value in enumerate(values):
                if value not in known:
                    out.append(((*path, j), f"unknown {what} {value!r}{_suggest(value, known)}"))

        def ref(path: tuple[str | int, ...], value: str | None, known: Set[str], what: str) -> None:
            if value is not None and value not in known:
                out.append((path, f"unknown {what} {value!r}{_suggest(value, known)}"))

        # An unknown jurisdiction leaves a controller without a law: every deadline, age and right would be missing.
        from dataright.declarations.jurisdictions import all_jurisdictions

        laws = set(all_jurisdictions())
        for i, controller in enumerate(self.controllers):
            ref(("controllers", i, "jurisdiction"), controller.jurisdiction, laws, "jurisdiction")
        for i, h in enumerate(self.legal_holds):
            ref(("legal_holds", i, "jurisdiction"), h.jurisdiction, laws, "jurisdiction")
        for i, g in enumerate(self.groups):
            refs(("groups", i, "members"), g.members, controllers, "controller")
            ref(("groups", i, "parent"), g.parent, controllers, "controller")
        for i, a in enumerate(self.joint_arrangements):
            refs(("joint_arrangements", i, "controllers"), a.controllers, controllers, "controller")
            refs(("joint_arrangements", i, "purposes"), a.purposes, purposes, "purpose")
            ref(("joint_arrangements", i, "contact_point"), a.contact_point, controllers, "controller")
        for i, c in enumerate(self.data_categories):
            ref(("data_categories", i, "parent"), c.parent, FIDES_CATEGORY_KEYS, "fideslang category")
        for i, h in enumerate(self.legal_holds):
            refs(("legal_holds", i, "data_categories"), h.data_categories, categories, "data category")
            refs(("legal_holds", i, "controllers"), h.controllers, controllers, "controller")
        for i, p in enumerate(self.purposes):
            base = ("purposes", i)
            refs((*base, "controllers"), p.controllers, controllers, "controller")
            refs((*base, "data_categories"), p.data_categories, categories, "data category")
            refs((*base, "data_subjects"), p.data_subjects, subjects, "data subject")
            refs((*base, "recipients"), p.recipients, systems | recipients, "system or recipient")
            ref((*base, "retention"), p.retention, rules, "retention rule")
            if p.consent is not None:
                ref((*base, "consent", "after_withdrawal"), p.consent.after_withdrawal, rules, "retention rule")
            refs((*base, "legal_holds"), p.legal_holds, holds, "legal hold")
            ref((*base, "joint_arrangement"), p.joint_arrangement, arrangements, "joint arrangement")
            ref((*base, "data_use"), p.data_use, FIDES_DATA_USE_KEYS, "fideslang data use")
            for j, s in enumerate(p.sources):
                ref((*base, "sources", j, "system"), s.system, systems, "system")
        for i, k in enumerate(self.cookies):
            ref(("cookies", i, "system"), k.system, systems, "system")
            ref(("cookies", i, "consent_purpose"), k.consent_purpose, purposes, "purpose")
            refs(("cookies", i, "controllers"), k.controllers, controllers, "controller")
        if self.cookies:
            banner_cookie = self.cookie_banner.cookie_name
            kept = [k for k in self.cookies if k.name == banner_cookie]
            if not kept:
                out.append(
                    (
                        ("cookie_banner", "cookie_name"),
                        f"the banner's cookie {banner_cookie!r} is not declared under cookies: declare it "
                        "(category strictly_necessary) so the notice and the banner list it",
                    )
                )
            elif any(k.category is not CookieCategory.strictly_necessary for k in kept):
                out.append(
                    (
                        ("cookie_banner", "cookie_name"),
                        f"the banner's cookie {banner_cookie!r} is declared with a category other than "
                        "strictly_necessary; the banner sets it before any consent, to keep the choice",
                    )
                )
        for i, t in enumerate(self.communication_topics):
            ref(("communication_topics", i, "purpose"), t.purpose, purposes, "purpose")
            refs(("communication_topics", i, "controllers"), t.controllers, controllers, "controller")
        for i, d in enumerate(self.datasets):
            base = ("datasets", i)
            refs((*base, "controllers"), d.controllers, controllers, "controller")
            ref((*base, "system"), d.system, systems, "system")
            out.extend(((*base, *path), message) for path, message in d.problems())
            for ti, table in enumerate(d.tables):
                for fi, f in enumerate(table.fields):
                    at = (*base, "tables", ti, "fields", fi)
                    refs((*at, "data_categories"), f.data_categories, categories, "data category")
                    ref((*at, "legal_hold"), f.legal_hold, holds, "legal hold")
                    for ri, r in enumerate(f.references):
                        ref((*at, "references", ri, "dataset"), r.dataset, datasets, "dataset")
        return out


def _suggest(value: str, known: Set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(value, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
