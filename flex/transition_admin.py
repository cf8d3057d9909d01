"""State-machine buttons for the admin that go through the same services as the API and the portal.

A button appears only for a transition that the current state allows, whose rules pass and that the
staff member's permissions cover. Pressing it posts to an admin view that checks the permission
again (a 403 without it), then calls the service (lock, permission, rule, audit event, follow-up
tasks). A refusal, including the state having moved on since the page was drawn (a stale tab), shows
the change page again with a message naming the rule and its article, never a bare 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _

from flex import fsm
from flex.audit.trail import Actor
from flex.refusals import Refused
from flex.rulebook import article_of, localised_article
from flex.window_admin import WindowAdmin

TransitionService = Callable[..., Any]


class TransitionAdminMixin(WindowAdmin):
    change_form_template = "admin/flex/transition_change_form.html"
    # transition name -> service(pk, *, actor, reason)
    transition_services: dict[str, TransitionService] = {}
    # transition name -> (keyword, choices) for a transition that needs one more answer, e.g. a ground
    transition_choices: dict[str, tuple[str, list[tuple[str, str]]]] = {}

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="{}_{}_transition".format(*info),
            ),
            *super().get_urls(),
        ]

    def transition_buttons(self, request, obj) -> list[dict[str, str]]:
        if obj is None:
            return []
        info = self.opts.app_label, self.opts.model_name
        return [
            {
                "name": t.name,
                "label": str(t.custom.get("label", t.name)).capitalize(),
                "rule": t.custom["rule"],
                "url": reverse("admin:{}_{}_transition".format(*info), args=[obj.pk, t.name]),
                "choice_name": self.transition_choices.get(t.name, ("", []))[0],
                "choices": [(value, str(label)) for value, label in self.transition_choices.get(t.name, ("", []))[1]],
            }
            for t in fsm.available_transitions(obj, request.user)
            if t.name in self.transition_services
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["transition_buttons"] = self.transition_buttons(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def transition_view(self, request, object_id, name):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        service = self.transition_services.get(name)
        # The permission, not the state: a transition the state no longer allows is the service's
        # refusal with its rule, shown as a message below.
        if (
            service is None
            or not self.has_view_permission(request, obj)
            or not fsm.may_perform(obj, name, request.user)
        ):
            raise PermissionDenied
        extra = {}
        if name in self.transition_choices:
            keyword = self.transition_choices[name][0]
            extra[keyword] = request.POST.get(keyword, "")
        try:
            service(obj.pk, actor=Actor.of_user(request.user), reason=request.POST.get("reason", "").strip(), **extra)
        except Refused as refused:
            self.message_user(request, str(refused.refusal), messages.ERROR)
        else:
            action, rule = fsm.transition_label(obj, name), fsm.transition_rule(obj, name)
            article = localised_article(article_of(rule))
            self.message_user(
                request,
                _("%(object)s: %(action)s done (%(rule)s, %(article)s).")
                % {"object": obj, "action": action, "rule": rule, "article": article},
                messages.SUCCESS,
            )
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
