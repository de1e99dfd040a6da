"""Keeps the official role groups and their permissions in step with workflow.EDGES."""

from django.contrib.auth.models import Group, Permission

from .workflow import GROUP_PERMISSIONS


def sync_role_groups(**kwargs) -> None:
    """post_migrate: one group per role holding exactly the permissions its actions need."""
    permissions = {
        p.codename: p for p in Permission.objects.filter(content_type__app_label="dossiers")
    }
    for role, codenames in GROUP_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = [permissions[c] for c in codenames if c in permissions]
        group.permissions.set([*wanted, permissions["view_dossier"]])
