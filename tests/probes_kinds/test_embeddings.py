"""Embeddings probes against the mock endpoint: dimension, finiteness and expect.dimensions."""

from tests.probes_kinds.conftest import Mock


async def test_embedding_dimension_and_tokens_are_recorded(mock: Mock) -> None:
    """A good embedding passes and reports its dimension and the input's tokens."""
    behavior = {"embedding_dimensions": 1536, "latency": 0.1}
    target = mock.target(
        kind="openai_embeddings", input=("one two three",), request={"mock": behavior}
    )
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.embedding_dimensions == 1536
    assert result.input_tokens == 3
    assert result.output_tokens is None
    assert 0.1 <= result.duration <= 0.25
    (sent,) = await mock.control("GET", "/_mock/requests")
    assert sent["path"] == "/v1/embeddings"
    assert sent["body"]["input"] == "one two three"


async def test_base64_embeddings_are_decoded(mock: Mock) -> None:
    """encoding_format: base64 answers are decoded as float32s and measured the same way."""
    target = mock.target(kind="openai_embeddings", request={"encoding_format": "base64"})
    result = await mock.probe(target)
    assert result.success, result.error
    assert result.embedding_dimensions == 8


async def test_nan_in_the_embedding_is_an_invalid_response(mock: Mock) -> None:
    """A vector containing NaN fails with invalid_response, and still says its dimension."""
    target = mock.target(kind="openai_embeddings", request={"mock": {"embedding_nan": True}})
    result = await mock.probe(target)
    assert result.error_type == "invalid_response"
    assert result.error == "the embedding has non-finite values (NaN or inf)"
    assert result.embedding_dimensions == 8


async def test_empty_embedding_is_an_invalid_response(mock: Mock) -> None:
    """A zero-length vector fails with invalid_response."""
    target = mock.target(kind="openai_embeddings", request={"mock": {"embedding_dimensions": 0}})
    result = await mock.probe(target)
    assert result.error_type == "invalid_response"
    assert result.error == "the embedding is empty"


async def test_unexpected_dimension_fails_validation(mock: Mock) -> None:
    """expect.dimensions 1536 against a 768-dimensional answer is validation_failed."""
    target = mock.target(
        kind="openai_embeddings",
        expect={"dimensions": 1536},
        request={"mock": {"embedding_dimensions": 768}},
    )
    result = await mock.probe(target)
    assert result.error_type == "validation_failed"
    checks = {c.name: c for c in result.checks}
    assert checks["status"].ok
    assert not checks["dimensions"].ok
    assert checks["dimensions"].detail == "dimension 768 vs expected 1536"
    assert result.error == "dimensions: dimension 768 vs expected 1536"


async def test_matching_dimension_passes(mock: Mock) -> None:
    """expect.dimensions equal to the answer's dimension passes its check."""
    target = mock.target(
        kind="openai_embeddings",
        expect={"dimensions": 768},
        request={"mock": {"embedding_dimensions": 768}},
    )
    result = await mock.probe(target)
    assert result.success, result.error
    assert [(c.name, c.ok) for c in result.checks] == [("status", True), ("dimensions", True)]
