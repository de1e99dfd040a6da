"""The API's Swagger UI page, under the site's Content-Security-Policy.

drf-spectacular's split view serves the start-up script as a file of its own (`?script`), and
templates/api/swagger_ui.html moves the page's inline style to a static file, so the page's own
markup needs no 'unsafe-inline'.
"""

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView


@extend_schema(exclude=True)
class SwaggerDocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
