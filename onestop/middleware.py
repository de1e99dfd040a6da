"""Vietnamese unless the user chose otherwise with the language switch (cookie).

Django's LocaleMiddleware would follow the browser's Accept-Language; a commune portal speaks
Vietnamese first, whatever language the phone is set to.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChosenLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
