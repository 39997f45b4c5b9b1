"""A small Rust tokenizer: enough to find attributes and item headers without a compiler.

Comments vanish, string and char literals become single tokens (so a `#[pymodule]`
inside a string or a comment is never mistaken for code), and every token keeps its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class TokenKind(StrEnum):
    IDENT = "ident"
    STRING = "string"  # the value is the literal's content, escapes left as written
    PUNCT = "punct"
    OTHER = "other"  # numbers, char literals, lifetimes


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    line: int


_IDENT = re.compile(r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*")
_RAW_STRING_START = re.compile(r"(?:b|c)?r(#*)\"")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")
_CHAR = re.compile(r"'(?:\\(?:x[0-9A-Fa-f]{2}|u\{[0-9A-Fa-f]{1,6}\}|.)|[^\\'\n])'")
_LIFETIME = re.compile(r"'[A-Za-z_][A-Za-z0-9_]*")


def tokenize(source: str) -> list[Token]:
    """Split Rust source into tokens, dropping comments and whitespace."""
    tokens: list[Token] = []
    index, line, length = 0, 1, len(source)
    while index < length:
        char = source[index]
        if char == "\n":
            line += 1
            index += 1
        elif char.isspace():
            index += 1
        elif source.startswith("//", index):
            end = source.find("\n", index)
            index = length if end == -1 else end
        elif source.startswith("/*", index):
            end = _block_comment_end(source, index)
            line += source.count("\n", index, end)
            index = end
        elif raw := _RAW_STRING_START.match(source, index):
            closing = '"' + raw.group(1)
            end = source.find(closing, raw.end())
            end = length if end == -1 else end
            tokens.append(Token(TokenKind.STRING, source[raw.end() : end], line))
            line += source.count("\n", index, end)
            index = min(length, end + len(closing))
        elif char == '"' or (char in "bc" and source.startswith('"', index + 1)):
            start = index + (1 if char == '"' else 2)
            end = _string_end(source, start)
            tokens.append(Token(TokenKind.STRING, source[start:end], line))
            line += source.count("\n", index, end)
            index = min(length, end + 1)
        elif ident := _IDENT.match(source, index):
            if char == "b" and source.startswith("'", ident.end()):
                char_literal = _CHAR.match(source, index + 1)
                if char_literal:
                    tokens.append(Token(TokenKind.OTHER, char_literal.group(), line))
                    index = char_literal.end()
                    continue
            tokens.append(Token(TokenKind.IDENT, ident.group(), line))
            index = ident.end()
        elif char == "'":
            literal = _CHAR.match(source, index) or _LIFETIME.match(source, index)
            text = literal.group() if literal else char
            tokens.append(Token(TokenKind.OTHER, text, line))
            index += len(text)
        elif number := _NUMBER.match(source, index):
            tokens.append(Token(TokenKind.OTHER, number.group(), line))
            index = number.end()
        else:
            tokens.append(Token(TokenKind.PUNCT, char, line))
            index += 1
    return tokens


def _block_comment_end(source: str, start: int) -> int:
    """The index just past the block comment opening at `start` (Rust nests them)."""
    depth, index = 0, start
    while index < len(source):
        if source.startswith("/*", index):
            depth += 1
            index += 2
        elif source.startswith("*/", index):
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    return len(source)


def _string_end(source: str, start: int) -> int:
    """The index of the closing quote of a string whose content starts at `start`."""
    index = start
    while index < len(source):
        if source[index] == "\\":
            index += 2
        elif source[index] == '"':
            return index
        else:
            index += 1
    return len(source)
