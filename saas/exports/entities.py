"""The record kinds that are imported and exported, and the export file formats: one enum each,
shared by the import and the export (`ImportEntity` is the contract's name for both)."""

from __future__ import annotations

from enum import Enum


class ImportEntity(Enum):
    """What an import or an export is about. Imports take CUSTOMER, CONTACT and LEAD; exports all five."""

    CUSTOMER = "CUSTOMER"
    CONTACT = "CONTACT"
    LEAD = "LEAD"
    OPPORTUNITY = "OPPORTUNITY"
    TICKET = "TICKET"


# The kinds an import accepts; the others are refused with a coded error.
IMPORTABLE = frozenset({ImportEntity.CUSTOMER, ImportEntity.CONTACT, ImportEntity.LEAD})


class ExportFormat(Enum):
    CSV = "CSV"
    XLSX = "XLSX"
