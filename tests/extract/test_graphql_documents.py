"""Every GraphQL document the project sends is valid against GitHub's published schema, and
the fake GitHub's schema agrees with it (issue 12 §1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
    parse,
    validate,
)

from audit.demo.fakegithub import FakeGitHub
from audit.demo.fakegithub.graphql import SDL
from audit.extract import GitHubClient, graphql
from audit.extract.doctor import check_access
from tests.reliability.helpers import REPOSITORY, small_world

from .conftest import extract, new_store

GITHUB_SCHEMA = Path(__file__).parents[1] / "fixtures" / "github-api" / "graphql" / "schema.graphql"


@pytest.fixture(scope="module")
def github_schema():
    schema = build_schema(GITHUB_SCHEMA.read_text(), assume_valid_sdl=True)
    # GitHub's own SDL breaks one rule graphql-core checks on schemas before validating a
    # query (a deprecated field implementing a non-deprecated interface field, e.g. Project.id).
    # That is about the schema, not our queries: mark it checked, as `assume_valid_sdl` means.
    schema._validation_errors = []
    return schema


@pytest.fixture(scope="module")
def sent_documents():
    """The text of every GraphQL query an extraction and `doctor` sent, recorded at `graphql.query`."""
    sent: list[str] = []
    real = graphql.query

    def recording(client, text, variables):
        sent.append(text)
        return real(client, text, variables)

    patch = pytest.MonkeyPatch()
    patch.setattr(graphql, "query", recording)
    try:
        with FakeGitHub(small_world()) as server:
            extract(server, new_store(), [REPOSITORY])
            client = GitHubClient(server.base_url, None)
            check_access(client, [REPOSITORY])
            client.close()
    finally:
        patch.undo()
    return sent


def test_both_kinds_of_query_are_sent(sent_documents) -> None:
    assert graphql.RUNS_QUERY in sent_documents
    assert any("associatedPullRequests" in text for text in sent_documents)


def test_every_document_sent_is_valid_against_githubs_schema(github_schema, sent_documents) -> None:
    for text in set(sent_documents):
        assert validate(github_schema, parse(text)) == [], text[:200]


def test_an_invalid_document_is_caught(github_schema) -> None:
    """The check can fail: a field GitHub does not have."""
    assert validate(github_schema, parse("{ viewer { noSuchField } }")) != []


def test_the_fake_schema_is_a_subset_of_githubs(github_schema) -> None:
    """Every type, field, argument and enum value the fake serves exists on GitHub with the same
    type and nullability, so the fake cannot accept a query GitHub would refuse."""
    fake = build_schema(SDL)
    differences = []
    for name, fake_type in fake.type_map.items():
        if name.startswith("__"):
            continue
        real = github_schema.type_map.get(name)
        if real is None or type(real) is not type(fake_type):
            differences.append(f"type {name}")
            continue
        if isinstance(fake_type, GraphQLEnumType):
            differences += [f"enum {name}.{v}" for v in set(fake_type.values) - set(real.values)]
        if isinstance(fake_type, GraphQLObjectType):
            missing = {i.name for i in fake_type.interfaces} - {i.name for i in real.interfaces}
            differences += [f"{name} implements {i}" for i in missing]
        if isinstance(fake_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in fake_type.fields.items():
                real_field = real.fields.get(field_name)
                if real_field is None or str(real_field.type) != str(field.type):
                    differences.append(f"field {name}.{field_name}: {field.type}")
                    continue
                for arg_name, arg in getattr(field, "args", {}).items():
                    real_arg = real_field.args.get(arg_name)
                    if real_arg is None or str(real_arg.type) != str(arg.type):
                        differences.append(f"argument {name}.{field_name}({arg_name})")
    assert differences == []
