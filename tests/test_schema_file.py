"""The checked-in schema.graphql is what the code builds: a schema change must be reviewed."""

from pathlib import Path

from saas.schema.builder import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_checked_in_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "The GraphQL schema changed. Review the change, then run: saas schema print -o schema.graphql"
    )


def test_list_fields_are_connections_capped_by_first() -> None:
    sdl = schema_sdl()
    assert (
        "customers(first: Int = 20, after: String = null, filter: CustomerFilterInput = null, orderBy: CustomerOrder! = NAME_ASC): CustomerConnection!"
        in sdl
    )
