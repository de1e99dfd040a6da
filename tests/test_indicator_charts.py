"""The indicator dashboard draws real charts (pygal's SVG, on the server) that the page's CSP
lets through: no script, no inline style; a title, a description and the table beside them; no
stray space before punctuation; labels whose English can say what the Vietnamese means."""

import re

import pytest
from django.utils import translation

from dossiers.supervision import charts

from .test_supervision import MARCH, march  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def dashboard(client, supervisor) -> str:
    client.force_login(supervisor)
    response = client.get("/supervision/", MARCH)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.usefixtures("march")
def test_the_charts_are_inline_svg_without_script_or_inline_style(client, supervisor):
    html = dashboard(client, supervisor)
    # The charts: every SVG but the header's decorative emblem (aria-hidden).
    svgs = [
        svg
        for svg in re.findall(r"<svg\b.*?</svg>", html, re.S)
        if 'aria-hidden="true"' not in svg.split(">", 1)[0]
    ]
    assert len(svgs) == 2
    for svg in svgs:
        assert 'role="img"' in svg and "aria-labelledby=" in svg
        assert "<title id=" in svg and "<desc id=" in svg
        assert "<script" not in svg and "<style" not in svg and " style=" not in svg
        assert 'class="pygal-chart"' in svg
    trend, statuses = svgs
    assert "Hồ sơ tiếp nhận và đã giải quyết theo tháng" in trend and "03/2026" in trend
    assert ">7<" in trend  # the month's 7 received dossiers, printed on the bar
    assert "Công dân rút hồ sơ" in statuses
    # The data table beside each chart.
    assert html.count("Số liệu của biểu đồ") == 2
    assert '<th scope="row">03/2026</th><td>7</td><td>3</td><td>66,7 %</td>' in html
    # pygal's style sheet comes from this site (style-src 'self').
    assert '<link rel="stylesheet" href="/supervision/charts.css">' in html


def test_the_chart_style_sheet_is_served(client):
    response = client.get("/supervision/charts.css")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")
    css = response.content.decode()
    assert "#chart-onestop-trend" in css and "#chart-onestop-statuses" in css
    assert "&gt;" not in css  # unescaped from the SVG's XML
    assert charts.STYLE.colors[0] in css


@pytest.mark.usefixtures("march")
def test_no_stray_space_before_punctuation(client, supervisor):
    html = dashboard(client, supervisor)
    facts = html[html.index('<dl class="facts">') : html.index("</dl>")]
    text = " ".join(re.sub(r"<[^>]+>", "", facts).split())
    assert not re.search(r"\s[,)/]", text), text
    assert "(trực tiếp 1, trực tuyến 6, bưu chính 0)" in text


@pytest.mark.usefixtures("march")
def test_dashboard_labels_have_their_own_english(client, supervisor):
    """The citizen's "Đánh giá" (rate!) and "Mức độ hài lòng" (how satisfied are you?) and
    the officer's "Tiếp nhận" (receive!) button are other messages than the indicators'."""
    client.force_login(supervisor)
    with translation.override("en"):
        html = client.get("/supervision/", {**MARCH}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for wrong in ("How satisfied are you?", ">Rate<", ">Receive<"):
        assert wrong not in html
