"""Forms that only the dashboard's pages use."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from subscriptions.forms import ListFilterForm


class EndpointOwnerFilterForm(ListFilterForm):
    """Staff's filter on the endpoint list: one subscriber's endpoints. An unknown name is
    an error on the field rather than an empty list that looks like "no endpoints"."""

    owner = forms.CharField(
        required=False,
        max_length=150,
        label="Owner (username)",
        widget=forms.TextInput(attrs={"placeholder": "any owner"}),
    )

    def clean_owner(self) -> str:
        owner = self.cleaned_data["owner"].strip()
        if owner and not get_user_model().objects.filter(username=owner).exists():
            raise forms.ValidationError(f"No user named “{owner}”.")
        return owner

    def apply(self, queryset):
        owner = self.cleaned_data.get("owner")
        return queryset.filter(owner__username=owner) if owner else queryset
