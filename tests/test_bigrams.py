"""Character bigrams: a text holding the query is always found (the index may only over-find)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from landrenew import bigrams

ALPHABET = "常州市精密机械有限公司新北区ABCgb0123 -_()（）"


def test_tokens_and_queries():
    assert bigrams.tokens("常州精密 GB01") == "常州 州精 精密 gb b0 01"
    assert bigrams.tokens("A_b（c）") == "a b c" and bigrams.tokens(None) == ""
    assert bigrams.fts5_query("精密机械") == '"精密 密机 机械"'
    assert bigrams.fts5_query("精密 GB") == '"精密" AND "gb"'
    assert bigrams.tsquery("精密 gb01") == "(精密) & (gb <-> b0 <-> 01)"
    assert bigrams.phrases("精") is None and bigrams.phrases("精 密机") is None and bigrams.phrases(" -") is None


@given(st.text(ALPHABET, max_size=30), st.integers(0, 30), st.integers(2, 8))
def test_every_substring_of_two_or_more_characters_is_found(text, start, length):
    query = text[start:start + length]
    phrases = bigrams.phrases(query)
    if phrases is None:
        return
    tokens = bigrams.tokens(text).split()
    for phrase in phrases:  # each phrase occurs in order among the text's tokens
        assert any(tokens[i:i + len(phrase)] == phrase for i in range(len(tokens)))
