from mailbot.mail.html_text import html_to_text


def test_scripts_styles_and_head_are_dropped() -> None:
    html = (
        "<html><head><title>Pedido</title><style>p {color: red}</style></head>"
        "<body><script>alert('x')</script><p>Hola</p><noscript>js off</noscript></body></html>"
    )
    assert html_to_text(html) == "Hola"


def test_outlook_conditional_comments_are_dropped() -> None:
    html = "<p>Ciao</p><!--[if mso]><p>solo outlook</p><![endif]-->"
    assert html_to_text(html) == "Ciao"


def test_link_keeps_its_target() -> None:
    html = '<p>See <a href="https://shop.example.com/orders/7">your order</a>.</p>'
    assert html_to_text(html) == "See your order (https://shop.example.com/orders/7)."


def test_link_whose_text_is_the_url_is_not_duplicated() -> None:
    html = '<a href="https://example.com/">https://example.com</a>'
    assert html_to_text(html) == "https://example.com"


def test_mailto_link_with_address_as_text() -> None:
    html = 'Write to <a href="mailto:ayuda@example.es">ayuda@example.es</a>'
    assert html_to_text(html) == "Write to ayuda@example.es"


def test_image_only_link_shows_target() -> None:
    html = '<a href="https://example.com/promo"><img src="x.png"></a>'
    assert html_to_text(html) == "https://example.com/promo"


def test_unordered_list() -> None:
    assert html_to_text("<ul><li>Camiseta</li><li>Pantalón</li></ul>") == "- Camiseta\n- Pantalón"


def test_ordered_list_with_start() -> None:
    html = '<ol start="3"><li>Riavviare</li><li>Riprovare</li></ol>'
    assert html_to_text(html) == "3. Riavviare\n4. Riprovare"


def test_nested_list_is_indented() -> None:
    html = "<ul><li>Zapatos<ul><li>talla 40</li></ul></li><li>Bolso</li></ul>"
    assert html_to_text(html) == "- Zapatos\n  - talla 40\n- Bolso"


def test_paragraph_inside_list_item_stays_on_bullet_line() -> None:
    assert html_to_text("<ol><li><p>Primo</p></li></ol>") == "1. Primo"


def test_table_rows_with_cells_separated() -> None:
    html = (
        "<table><thead><tr><th>Producto</th><th>Cantidad</th></tr></thead>"
        "<tbody><tr><td>Camiseta</td><td>2</td></tr><tr><td>Gorra</td><td>1</td></tr></tbody>"
        "</table>"
    )
    assert html_to_text(html) == "Producto | Cantidad\nCamiseta | 2\nGorra | 1"


def test_layout_table_with_nested_table_is_not_glued_into_one_line() -> None:
    html = (
        "<table><tr><td><p>Dear customer,</p><p>Your invoice is attached.</p></td>"
        "<td><table><tr><td>Logo</td></tr></table></td></tr></table>"
    )
    text = html_to_text(html)
    assert "Dear customer,\n\nYour invoice is attached." in text
    assert " | " not in text


def test_paragraphs_breaks_and_headings() -> None:
    html = "<h1>Bestellung</h1><p>Hallo,</p><p>Zeile eins<br>Zeile zwei</p>"
    assert html_to_text(html) == "Bestellung\n\nHallo,\n\nZeile eins\nZeile zwei"


def test_divs_are_lines() -> None:
    assert html_to_text("<div>Saludos,</div><div>Ana</div>") == "Saludos,\nAna"


def test_excessive_blank_lines_collapse() -> None:
    html = "<p>one</p><br><br><br><p></p><div></div><br><p>two</p>"
    assert html_to_text(html) == "one\n\ntwo"


def test_inline_whitespace_collapses_and_nbsp_becomes_space() -> None:
    assert html_to_text("<p>Hola   \n  <b>Ana</b>,&nbsp;gracias</p>") == "Hola Ana, gracias"


def test_entities_are_decoded() -> None:
    assert html_to_text("<p>5 &lt; 6 &amp; &quot;ok&quot; &euro;</p>") == '5 < 6 & "ok" €'


def test_blockquote_lines_are_prefixed() -> None:
    html = (
        "<div>Sí, gracias.</div><div>El lun, 4 mar 2024 a las 10:15, Soporte "
        "&lt;soporte@example.com&gt; escribió:</div>"
        "<blockquote><p>Hola Ana,</p><p>¿Le llegó el paquete?</p></blockquote>"
    )
    assert html_to_text(html) == (
        "Sí, gracias.\n"
        "El lun, 4 mar 2024 a las 10:15, Soporte <soporte@example.com> escribió:\n\n"
        "> Hola Ana,\n>\n> ¿Le llegó el paquete?"
    )


def test_nested_blockquote() -> None:
    html = "<p>ok</p><blockquote>first<blockquote>second</blockquote></blockquote>"
    assert html_to_text(html) == "ok\n\n> first\n>\n> > second"


def test_pre_keeps_whitespace() -> None:
    assert html_to_text("<pre>Error:\n  line 1\n  line 2</pre>") == "Error:\n  line 1\n  line 2"


def test_empty_input() -> None:
    assert html_to_text("") == ""


def test_br_after_block_adds_an_empty_line() -> None:
    assert html_to_text("<div>Hola</div><br><div>Ana</div>") == "Hola\n\nAna"
    assert html_to_text("<div>Hola<br></div><div>Ana</div>") == "Hola\nAna"


def test_pathologically_deep_nesting_still_gives_the_words() -> None:
    html = "<font>word " * 3000 + "<script>x()</script>"
    text = html_to_text(html)
    assert text.count("word") == 3000
    assert "x()" not in text
