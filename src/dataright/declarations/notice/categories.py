"""Readable names of the fideslang data categories, as English msgids translated by every catalog.

The taxonomy's own names are labels for engineers ("User Contact Email", "Imprecise Subject Location",
"Account password" beside "Password"); a notice says "E-mail address", "Approximate location" and
"Login credentials". The table covers every fideslang category (a test checks it), so a key a
declaration uses always has a readable name in each shipped language.
"""

from __future__ import annotations

from dataright.declarations.notice.i18n import N_, gettext
from dataright.declarations.taxonomy import fides_category_names

CATEGORY_LABELS: dict[str, str] = {
    "system": N_("System data"),
    "system.authentication": N_("Authentication data"),
    "system.operations": N_("Operations data"),
    "user": N_("Data about you"),
    "user.account": N_("Account information"),
    "user.account.settings": N_("Account settings"),
    "user.account.username": N_("Username"),
    "user.authorization": N_("Access rights"),
    "user.authorization.biometric": N_("Biometric login data"),
    "user.authorization.credentials": N_("Login credentials"),
    "user.authorization.password": N_("Password"),
    "user.behavior": N_("How you use our services"),
    "user.behavior.browsing_history": N_("Browsing history"),
    "user.behavior.media_consumption": N_("Media you watch, read or listen to"),
    "user.behavior.purchase_history": N_("Purchase history"),
    "user.behavior.search_history": N_("Search history"),
    "user.biometric": N_("Biometric data"),
    "user.biometric.fingerprint": N_("Fingerprint"),
    "user.biometric.health": N_("Biometric health data"),
    "user.biometric.retinal": N_("Retina scan"),
    "user.biometric.voice": N_("Voice recording"),
    "user.childrens": N_("Data about children"),
    "user.contact": N_("Contact details"),
    "user.contact.address": N_("Postal address"),
    "user.contact.address.city": N_("Town or city"),
    "user.contact.address.country": N_("Country of residence"),
    "user.contact.address.postal_code": N_("Postcode"),
    "user.contact.address.state": N_("State or region"),
    "user.contact.address.street": N_("Street address"),
    "user.contact.email": N_("E-mail address"),
    "user.contact.fax_number": N_("Fax number"),
    "user.contact.organization": N_("Organisation"),
    "user.contact.phone_number": N_("Telephone number"),
    "user.contact.url": N_("Website address"),
    "user.content": N_("Content you create"),
    "user.content.private": N_("Private content"),
    "user.content.public": N_("Content you publish"),
    "user.content.self_image": N_("Photo of you"),
    "user.criminal_history": N_("Criminal convictions and offences"),
    "user.demographic": N_("Demographic data"),
    "user.demographic.age_range": N_("Age group"),
    "user.demographic.date_of_birth": N_("Date of birth"),
    "user.demographic.gender": N_("Gender"),
    "user.demographic.language": N_("Language"),
    "user.demographic.marital_status": N_("Marital status"),
    "user.demographic.political_opinion": N_("Political opinions"),
    "user.demographic.profile": N_("Profile information"),
    "user.demographic.race_ethnicity": N_("Racial or ethnic origin"),
    "user.demographic.religious_belief": N_("Religious beliefs"),
    "user.demographic.sexual_orientation": N_("Sexual orientation"),
    "user.device": N_("Device data"),
    "user.device.cookie": N_("Cookie on your device"),
    "user.device.cookie_id": N_("Cookie ID"),
    "user.device.device_id": N_("Device ID"),
    "user.device.ip_address": N_("IP address"),
    "user.financial": N_("Financial information"),
    "user.financial.bank_account": N_("Bank account details"),
    "user.financial.credit_card": N_("Payment card details"),
    "user.government_id": N_("Official identity document"),
    "user.government_id.birth_certificate": N_("Birth certificate"),
    "user.government_id.drivers_license_number": N_("Driving licence number"),
    "user.government_id.immigration": N_("Residence or immigration document"),
    "user.government_id.national_identification_number": N_("National identity number"),
    "user.government_id.passport_number": N_("Passport number"),
    "user.government_id.vehicle_registration": N_("Vehicle registration number"),
    "user.health_and_medical": N_("Health data"),
    "user.health_and_medical.genetic": N_("Genetic data"),
    "user.health_and_medical.insurance_beneficiary_id": N_("Health insurance number"),
    "user.health_and_medical.record_id": N_("Medical record number"),
    "user.job_title": N_("Job title"),
    "user.location": N_("Location data"),
    "user.location.imprecise": N_("Approximate location"),
    "user.location.precise": N_("Precise location"),
    "user.name": N_("Name"),
    "user.name.first": N_("First name"),
    "user.name.last": N_("Surname"),
    "user.payment": N_("Payment details"),
    "user.privacy_preferences": N_("Privacy choices"),
    "user.sensor": N_("Sensor data"),
    "user.social": N_("Social media data"),
    "user.telemetry": N_("Technical usage data"),
    "user.unique_id": N_("Unique identifier"),
    "user.unique_id.pseudonymous": N_("Pseudonymous user ID"),
    "user.user_sensor": N_("Sensor data from your device"),
    "user.workplace": N_("Workplace"),
}


def category_label(key: str, lang: str) -> str:
    """The readable name of a fideslang category in ``lang``; a key outside the table (a newer fideslang) falls back
    to its nearest labelled parent, else to the taxonomy's own name."""
    probe = key
    while probe:
        if probe in CATEGORY_LABELS:
            return gettext(lang, CATEGORY_LABELS[probe])
        probe = probe.rpartition(".")[0]
    return fides_category_names().get(key, key)
