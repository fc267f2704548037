"""Words of knowledge-base text for PostgreSQL full-text search, Chinese written without spaces included.

PostgreSQL's parser finds words between spaces and punctuation, so "无法登录账户" would be one word
and "登录" would never find it. Text is therefore cut into words with jieba, at write time
(`document_vector`, `spaced_text`) and at query time (`query_terms`), and the `tsvector` and
`tsquery` are written here as literals, doing what the `simple` configuration does (lower case,
no stemming, no stop words). So the words PostgreSQL compares are exactly jieba's, whatever the
server's parser, locale or version (the machine's PostgreSQL 15 and the embedded one agree).

The document is cut in jieba's search mode (a long word also yields the words inside it:
"中华人民共和国" gives "共和国" too); a query in its precise mode. English words come out of
jieba whole, so English works the same way.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import warnings
from collections.abc import Iterable

with warnings.catch_warnings():
    # jieba 0.42 imports setuptools' pkg_resources, which warns that it is deprecated.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import jieba

# A word has at least one letter or digit; punctuation and spaces are not words.
_WORDLIKE = re.compile(r"\w")
# tsvector limits: positions go up to 16383, at most 256 per word; a word is under 2 KB.
MAX_POSITION = 16_383
MAX_POSITIONS_PER_WORD = 256
MAX_WORD_CHARACTERS = 100
MAX_QUERY_TERMS = 32
WEIGHTS = ("A", "B", "C", "D")
_CJK = "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
# A space the snippet's text has between two Chinese characters (around a highlight, too).
_SPACE_IN_CJK = re.compile(rf"([{_CJK}](?:</b>)?) (?=(?:<b>)?[{_CJK}])")


@functools.cache
def _segmenter() -> jieba.Tokenizer:
    """jieba's default tokenizer, its dictionary loaded on first use (jieba's own lock makes the
    load happen once, also when two threads ask at once), without jieba's log lines."""
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


def _tokens(text: str, *, for_search: bool) -> Iterable[str]:
    segmenter = _segmenter()
    return segmenter.cut_for_search(text) if for_search else segmenter.cut(text)


def words(text: str, *, for_search: bool = False) -> list[str]:
    """The words of `text` in order, lower case (`simple`'s only normalisation), punctuation left out."""
    found = []
    for token in _tokens(text, for_search=for_search):
        word = token.strip().lower()
        if word and _WORDLIKE.search(word) and len(word) <= MAX_WORD_CHARACTERS:
            found.append(word)
    return found


def _quoted(word: str) -> str:
    """A lexeme in tsvector/tsquery syntax: quoted, with quotes and backslashes doubled."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def document_vector(parts: Iterable[tuple[str, str]]) -> str:
    """The `tsvector` literal of the (text, weight) parts, positions running on across the parts."""
    positions: dict[str, list[str]] = {}
    position = 0
    for part, weight in parts:
        assert weight in WEIGHTS, weight
        for word in words(part, for_search=True):
            position = min(position + 1, MAX_POSITION)
            held = positions.setdefault(word, [])
            if len(held) < MAX_POSITIONS_PER_WORD:
                held.append(f"{position}{weight}")
    return " ".join(f"{_quoted(word)}:{','.join(held)}" for word, held in positions.items())


def query_terms(query: str) -> str | None:
    """The `tsquery` literal of a search: every word (AND), the last one as a prefix (the reader may
    still be typing it); None when the query has no word."""
    found = list(dict.fromkeys(words(query)))[:MAX_QUERY_TERMS]
    if not found:
        return None
    terms = [_quoted(word) for word in found]
    terms[-1] += ":*"
    return " & ".join(terms)


def spaced_text(*parts: str) -> str:
    """The parts with their words set apart by single spaces and HTML-escaped (`&`, `<`, `>`): what
    trigram matching compares and what snippets are cut from, so that a snippet is safe HTML once
    its highlights are added."""
    lines = []
    for part in parts:
        tokens = (token.strip() for token in _tokens(part, for_search=False))
        lines.append(" ".join(token for token in tokens if token))
    return html.escape("\n".join(lines), quote=False)


def readable_snippet(snippet: str) -> str:
    """A snippet cut from `spaced_text`, without the spaces segmentation put between Chinese words."""
    return _SPACE_IN_CJK.sub(r"\1", snippet)
