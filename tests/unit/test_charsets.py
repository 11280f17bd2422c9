import pytest

from mailbot.mail.charsets import decode_encoded_words, decode_text


def test_declared_utf8_is_trusted() -> None:
    assert decode_text("¿Dónde está mi pedido?".encode(), "utf-8") == ("¿Dónde está mi pedido?", None)


def test_declared_latin1_is_trusted() -> None:
    text, warning = decode_text("Perché non è arrivato?".encode("latin-1"), "ISO-8859-1")
    assert text == "Perché non è arrivato?"
    assert warning is None


def test_iso_8859_1_label_reads_windows_1252_punctuation() -> None:
    # Outlook labels cp1252 text iso-8859-1: 0x80 is the euro sign, 0x93/0x94 quotes.
    payload = b"Total: 10 \x80, \x93urgente\x94"
    assert decode_text(payload, "iso-8859-1") == ("Total: 10 €, “urgente”", None)


def test_declared_us_ascii_but_latin1() -> None:
    text, warning = decode_text(b"Hola, \xbfc\xf3mo est\xe1n?", "us-ascii")
    assert text == "Hola, ¿cómo están?"
    assert warning is not None and "us-ascii" in warning


def test_declared_utf8_but_cp1252() -> None:
    text, warning = decode_text(b"Gr\xfc\xdfe aus M\xfcnchen \x96 danke", "utf-8")
    assert text == "Grüße aus München – danke"
    assert warning is not None and "utf-8" in warning


def test_declared_iso_8859_1_but_really_utf8() -> None:
    text, warning = decode_text("Perché è così difficile?".encode(), "iso-8859-1")
    assert text == "Perché è così difficile?"
    assert warning is not None and "utf-8" in warning


def test_declared_windows_1252_but_really_utf8() -> None:
    text, _ = decode_text("Não recebi a encomenda".encode(), "windows-1252")
    assert text == "Não recebi a encomenda"


def test_ascii_payload_under_single_byte_label_has_no_warning() -> None:
    assert decode_text(b"Hello there", "iso-8859-1") == ("Hello there", None)


def test_undeclared_8bit_latin1_spanish() -> None:
    text, warning = decode_text(b"Necesito la factura del pedido n\xfamero 1234, gracias.", None)
    assert text == "Necesito la factura del pedido número 1234, gracias."
    assert warning is not None and "undeclared" in warning


def test_undeclared_short_latin1_is_not_read_as_central_european() -> None:
    # charset-normalizer alone reads these as cp1250/cp1006.
    assert decode_text(b"Ol\xe1, n\xe3o", None)[0] == "Olá, não"
    assert decode_text(b"Informaci\xf3n", None)[0] == "Información"


def test_undeclared_utf8_needs_no_warning() -> None:
    assert decode_text("Ça marche très bien".encode(), None) == ("Ça marche très bien", None)


def test_undeclared_ascii() -> None:
    assert decode_text(b"plain ascii", None) == ("plain ascii", None)


def test_undeclared_cyrillic_uses_detector() -> None:
    text, _ = decode_text("Здравствуйте, где мой заказ? Спасибо большое.".encode("cp1251"), None)
    assert text == "Здравствуйте, где мой заказ? Спасибо большое."


def test_unknown_charset_with_utf8_content() -> None:
    text, warning = decode_text("Grazie mille è tutto".encode(), "x-unknown-charset")
    assert text == "Grazie mille è tutto"
    assert warning is not None and "unknown charset" in warning


def test_unknown_charset_with_latin1_content() -> None:
    text, warning = decode_text(b"Ol\xe1, n\xe3o recebi", "x-user-defined-42")
    assert text == "Olá, não recebi"
    assert warning is not None


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ('"UTF-8"', "ñandú"),
        (" utf8 ", "ñandú"),
        ("ks_c_5601-1987", "안녕하세요"),
        ("gb2312", "你好，我的订单"),
        ("shift_jis", "こんにちは"),
        ("iso-2022-jp", "注文について"),
        ("koi8-r", "Привет"),
        ("windows-1250", "Dzień dobry, zażółć"),
        ("iso-8859-15", "Prix: 5 €"),
    ],
)
def test_declared_labels_and_aliases(label: str, text: str) -> None:
    codec = {
        "ks_c_5601-1987": "cp949",
        '"UTF-8"': "utf-8",
        " utf8 ": "utf-8",
        "shift_jis": "shift_jis",
    }.get(label, label)
    assert decode_text(text.encode(codec), label) == (text, None)


def test_utf8_bom_is_dropped() -> None:
    text, _ = decode_text(b"\xef\xbb\xbfHola", None)
    assert text == "Hola"


def test_bytes_to_bytes_codec_name_is_not_a_charset() -> None:
    text, warning = decode_text(b"aGVsbG8=", "base64")
    assert text == "aGVsbG8="
    assert warning is not None and "unknown charset" in warning


def test_empty_payload() -> None:
    assert decode_text(b"", "utf-8") == ("", None)


@pytest.mark.parametrize("label", [None, "utf-8", "us-ascii", "utf-16", "utf-7", "big5", "bogus"])
def test_never_raises_on_garbage(label: str | None) -> None:
    garbage = bytes(range(256)) * 3
    text, _ = decode_text(garbage, label)
    assert isinstance(text, str) and text


def test_encoded_words_iso_8859_1_q() -> None:
    assert decode_encoded_words("=?iso-8859-1?Q?Informaci=F3n_del_pedido?=") == "Información del pedido"


def test_encoded_words_utf8_b() -> None:
    assert decode_encoded_words("=?UTF-8?B?UGVyY2jDqSBub24gZnVuemlvbmE/?=") == "Perché non funziona?"


def test_whitespace_between_adjacent_encoded_words_is_dropped() -> None:
    value = "=?utf-8?q?Fattura_n=C2=B0?=\r\n =?utf-8?q?_42?= urgente"
    assert decode_encoded_words(value) == "Fattura n° 42 urgente"


def test_encoded_word_missing_base64_padding() -> None:
    assert decode_encoded_words("=?utf-8?b?w7M?=") == "ó"


def test_encoded_word_with_mislabelled_charset() -> None:
    assert decode_encoded_words("=?iso-8859-1?q?Informaci=C3=B3n?=") == "Información"


def test_encoded_word_with_language_suffix() -> None:
    assert decode_encoded_words("=?utf-8*es?q?S=C3=AD?=") == "Sí"


def test_malformed_encoded_word_is_left_alone() -> None:
    assert decode_encoded_words("Re: =?utf-8?q?unterminated") == "Re: =?utf-8?q?unterminated"


def test_raw_8bit_surrogates_are_decoded() -> None:
    raw = b"Jos\xc3\xa9 P\xc3\xa9rez".decode("ascii", "surrogateescape")
    assert decode_encoded_words(raw) == "José Pérez"
