"""The operations page of the connections (/supervision/integrations/): webhook subscriptions
and the background worker. Supervisors read it; administrators (superusers, who may hold no
supervisor role) read it too and pause, resume or replay a subscription from it. Thin over
integrations.operations, which reads and acts."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from onestop.web import answer_domain_error, role_required

from ..errors import DomainError, ValidationFailed
from ..integrations import operations, webhooks
from ..models import WebhookSubscription
from ..permissions import is_supervisor


def _may_watch(user) -> bool:
    return user.is_superuser or is_supervisor(user)


watcher_required = role_required(
    _may_watch, gettext_lazy("Trang này dành cho cán bộ giám sát và quản trị viên.")
)
administrator_required = role_required(
    lambda user: user.is_superuser,
    gettext_lazy("Chỉ quản trị viên được tạm dừng, tiếp tục hoặc gửi lại đăng ký nhận sự kiện."),
)


class ReplayForm(forms.Form):
    after = forms.IntegerField(
        label=gettext_lazy("Gửi lại các sự kiện sau vị trí"),
        min_value=0,
        max_value=2**63 - 1,
    )


def _page(request, *, replay_form=None, replay_for=None, status=200):
    """The page; after a refused replay, its form (with the errors) beside its subscription."""
    subscriptions = operations.subscriptions_overview()
    rows = [(o, replay_form if o.subscription.pk == replay_for else None) for o in subscriptions]
    return render(
        request,
        "supervision/integrations.html",
        {
            "subscriptions": subscriptions,
            "rows": rows,
            "head": webhooks.head_position(),
            "worker": operations.worker_overview(),
            "may_act": request.user.is_superuser,
        },
        status=status,
    )


@watcher_required
@require_safe
def integrations(request):
    return _page(request)


def _back(subscription) -> str:
    return f"{reverse('supervision:integrations')}#subscription-{subscription.pk}"


@administrator_required
@require_POST
def pause(request, pk):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    try:
        done = operations.pause(request.user, subscription)
    except DomainError as error:
        return answer_domain_error(request, error, back=_back(subscription))
    if done:
        messages.success(request, _("Đã tạm dừng đăng ký #%(id)s.") % {"id": pk})
    else:
        messages.info(request, _("Đăng ký #%(id)s đã tạm dừng từ trước.") % {"id": pk})
    return redirect(_back(subscription))


@administrator_required
@require_POST
def resume(request, pk):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    try:
        done = operations.resume(request.user, subscription)
    except DomainError as error:
        return answer_domain_error(request, error, back=_back(subscription))
    if done:
        messages.success(
            request, _("Đã tiếp tục đăng ký #%(id)s: gửi lại ngay từ chỗ đã dừng.") % {"id": pk}
        )
    else:
        messages.info(request, _("Đăng ký #%(id)s đang gửi, không cần tiếp tục.") % {"id": pk})
    return redirect(_back(subscription))


@administrator_required
@require_POST
def replay(request, pk):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    form = ReplayForm(request.POST)
    if form.is_valid():
        after = form.cleaned_data["after"]
        try:
            operations.replay(request.user, subscription, after=after)
        except ValidationFailed as error:
            for problem in error.fields.get("after", []) or [error.message]:
                form.add_error("after", problem)
        except DomainError as error:
            return answer_domain_error(request, error, back=_back(subscription))
        else:
            messages.success(
                request,
                _("Đăng ký #%(id)s sẽ nhận lại các sự kiện sau vị trí %(after)s.")
                % {"id": pk, "after": after},
            )
            return redirect(_back(subscription))
    messages.error(
        request, _("Chưa gửi lại được cho đăng ký #%(id)s: xem lỗi bên dưới.") % {"id": pk}
    )
    return _page(request, replay_form=form, replay_for=subscription.pk, status=400)
