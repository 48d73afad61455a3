"""Custom Presidio recognizers for the Safe Harbor identifiers Presidio lacks or covers weakly."""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer

from agentyard.phi.recognizers.dates import DateRecognizer, age_over_89
from agentyard.phi.recognizers.geography import CityCountyRecognizer, street_address, zip_code
from agentyard.phi.recognizers.identifiers import (
    DeaNumberRecognizer,
    account_number,
    device_id,
    fax_number,
    health_plan_id,
    keyed_ssn,
    license_number,
    local_phone_number,
    medical_record_number,
    vehicle_id,
)
from agentyard.phi.recognizers.names import NameRecognizer
from agentyard.phi.recognizers.other_ids import biometric_id, other_unique_id
from agentyard.phi.recognizers.web import email_any_domain, url


def custom_recognizers() -> list[EntityRecognizer]:
    """Fresh instances of every custom recognizer."""
    return [
        NameRecognizer(),
        DateRecognizer(),
        age_over_89(),
        street_address(),
        zip_code(),
        CityCountyRecognizer(),
        medical_record_number(),
        health_plan_id(),
        account_number(),
        license_number(),
        DeaNumberRecognizer(),
        vehicle_id(),
        device_id(),
        fax_number(),
        local_phone_number(),
        keyed_ssn(),
        email_any_domain(),
        url(),
        biometric_id(),
        other_unique_id(),
    ]
