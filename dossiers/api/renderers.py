"""DRF's browsable API (the HTML a browser gets from any /api/v1/ URL), under the site's CSP.

DRF's own templates put style="" attributes on their forms and buttons and a <style> of code
colours in the page head. Its scripts are all files, so the page keeps the site's script-src;
only its styles are allowed inline, on these pages alone (the JSON answers and every other
page keep the strict policy). Styles cannot run code: the worst an injected one could do is
restyle this developer page.
"""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from rest_framework import renderers

# django-csp's decorator marks the response a view returns; applied to an identity function,
# it marks the response this renderer is rendering.
_inline_styles = csp_update({"style-src": [UNSAFE_INLINE]})(lambda response: response)


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            _inline_styles(response)
        return super().render(data, accepted_media_type, renderer_context)
