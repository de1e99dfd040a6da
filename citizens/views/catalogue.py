from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from dossiers.models import Agency, Channel, Procedure
from dossiers.text import spelling_key


def catalogue(request):
    procedures = Procedure.objects.filter(active=True).order_by("sector", "name")
    query = request.GET.get("q", "").strip()[:100]
    sector = request.GET.get("sector", "").strip()[:128]
    for word in spelling_key(query).split():
        procedures = procedures.filter(search_text__contains=word)
    if sector:
        procedures = procedures.filter(sector=sector)
    sectors = (
        Procedure.objects.filter(active=True)
        .order_by("sector")
        .values_list("sector", flat=True)
        .distinct()
    )
    page = Paginator(procedures, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "citizens/catalogue.html",
        {"page": page, "query": query, "sector": sector, "sectors": list(sectors)},
    )


def procedure_detail(request, code):
    procedure = get_object_or_404(Procedure, code=code, active=True)
    return render(
        request,
        "citizens/procedure_detail.html",
        {
            "procedure": procedure,
            "documents": procedure.documents.all(),
            "online": procedure.accepts(Channel.ONLINE),
            "channels": [Channel(c).label for c in (procedure.channels or Channel.values)],
            "agencies": Agency.objects.filter(level=Agency.Level.COMMUNE),
        },
    )
