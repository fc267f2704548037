"""Custom fields: per-tenant field definitions for customers, contacts, leads and opportunities.

A record's values live in its own `custom_fields` JSONB column; the definitions say which keys
exist, their types, options, and whether they are required or unique. A domain whose records
carry custom fields (leads, opportunities, ...):

- has a `custom_fields JSONB NOT NULL DEFAULT '{}'` column on the table named for its entity in
  `rules.ENTITY_TABLES`, with a GIN `jsonb_path_ops` index on it (see the 0010 migration);
- calls `validation.validate_custom_fields(session, principal.tenant_id, entity, values,
  record_id=..., current=...)` in its create (`current=None`) and update (`current=` the stored
  values) services, before writing the row, and stores what it returns;
- accepts `customFields: JSON` in its create and update inputs, exposes `customFields: JSON` on
  its type (compiled reads: `compact_json("{t}.custom_fields")`), and offers
  `customField: CustomFieldFilterInput` in its list filter, turned into SQL with
  `rules.custom_field_filter` and `rules.custom_field_condition`.
"""
