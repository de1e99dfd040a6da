"""Accent-insensitive text keys: 'Nguyễn Văn An' and 'nguyen van an' match on every database."""

import unicodedata


def search_key(*parts: str) -> str:
    """Lower case, without Vietnamese diacritics (đ -> d), single spaces."""
    text = " ".join(p for p in parts if p).replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.lower().split())


def spelling_key(*parts: str) -> str:
    """`search_key`, forgiving the spellings Vietnamese writes both ways: i and y ("kỹ"/"kĩ",
    "quy"/"qui", "lý"/"lí") become one letter. For the catalogue, whose names the public types;
    a person's name is matched as written (`search_key`)."""
    return search_key(*parts).replace("y", "i")
