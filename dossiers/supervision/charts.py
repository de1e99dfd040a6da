"""The indicator dashboard's charts: pygal's SVG, rendered on the server and put in the page.

The page's Content-Security-Policy allows no inline script or style, so the SVG is embedded
without pygal's <script> (its tooltips; `js=[]` drops only the external one) and without its
<style> and style="" attributes. Pygal's style sheet, which it writes for one chart id, is served
from this site instead (`stylesheet`, /supervision/charts.css): every chart of a kind gets the
same fixed id, so one cached style sheet fits them all.

Each chart is an image with a title and a description (role="img"); the page shows its figures
in a table beside it, the accessible form of the same data."""

from __future__ import annotations

import functools
import html
import re

import pygal
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

# Contrast at least 4.5:1 on white for the text, 3:1 for the bars (WCAG 1.4.11).
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#595959",
    opacity="1",
    opacity_hover="1",
    transition="0s",
    colors=("#8b1a1a", "#1f3f6b", "#1e5e2e", "#7a4a00"),
    font_family='"DejaVu Sans", system-ui, sans-serif',
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    tooltip_font_size=13,
)
COMMON = {
    "style": STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "print_values": True,
    "print_values_position": "top",  # on the white above the bar, not on its colour
    "legend_at_bottom": True,
    "margin": 16,
    "height": 360,
    "width": 800,
}
KINDS = {
    "trend": lambda: pygal.Bar(**COMMON, show_legend=True),
    "statuses": lambda: pygal.HorizontalBar(**COMMON, show_legend=False),
}


def _rendered(kind: str, fill) -> str:
    chart = KINDS[kind]()
    chart.uuid = f"onestop-{kind}"  # pygal's style sheet is written for this id
    fill(chart)
    return chart.render(is_unicode=True)


def _embeddable(svg: str, kind: str, title: str, description: str) -> SafeString:
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)
    svg = re.sub(r"<script[^>]*>.*?</script>|<script[^>]*/>", "", svg, flags=re.S)
    svg = re.sub(r'\sstyle="[^"]*"', "", svg)
    svg = svg.replace("<defs />", "").replace("<defs></defs>", "")
    label = format_html(
        '<title id="chart-{0}-title">{1}</title><desc id="chart-{0}-desc">{2}</desc>',
        kind,
        title,
        description,
    )
    # pygal's own root <title> is "Pygal" (or the chart's title): ours replaces it.
    root_end = svg.index(">") + 1
    rest = re.sub(r"^<title>.*?</title>", "", svg[root_end:], count=1, flags=re.S)
    root = svg[: root_end - 1] + format_html(
        ' role="img" aria-labelledby="chart-{0}-title chart-{0}-desc">', kind
    )
    # Safe: pygal escapes every label it writes (XML), ours are escaped by format_html, and the
    # scripts, style elements and style attributes are taken out above.
    return mark_safe(root + label + rest)  # nosec B308 B703


def bar_chart(kind: str, title: str, description: str, labels, series) -> SafeString:
    """A bar chart: `labels` along the axis, `series` a list of (name, values)."""

    series = [(str(name), list(values)) for name, values in series]
    peak = max((v for _name, values in series for v in values), default=0)

    def fill(chart):
        chart.x_labels = [str(label) for label in labels]
        if peak <= 10:  # counts: whole numbers on the axis, not 0.2, 0.4, ...
            chart.y_labels = list(range(0, max(peak, 1) + 1))
        for name, values in series:
            chart.add(name, values)

    return _embeddable(_rendered(kind, fill), kind, title, description)


@functools.cache
def stylesheet() -> str:
    """Pygal's CSS for every chart kind, as it would have put it inside each SVG."""
    sheets = []
    for kind in KINDS:
        svg = _rendered(kind, lambda chart: chart.add("", [1]))
        sheets += [
            html.unescape(css) for css in re.findall(r"<style[^>]*>(.*?)</style>", svg, re.S)
        ]
    return "\n".join(sheets)
