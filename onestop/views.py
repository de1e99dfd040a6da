from django.shortcuts import render

from dossiers.models import Agency, Procedure


def home(request):
    return render(
        request,
        "home.html",
        {
            "procedure_count": Procedure.objects.filter(active=True).count(),
            "agencies": Agency.objects.filter(level=Agency.Level.COMMUNE),
        },
    )
