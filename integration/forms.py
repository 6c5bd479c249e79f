"""The developer dashboard's forms: sign-in, a new API key, a new webhook endpoint.

They only shape the input; the services validate it and own every write, and their
ApplicationError messages are put back on the form with `add_service_errors`.
"""

from django import forms
from django.contrib.auth import authenticate

from integration.services.keys import SCOPES
from integration.services.webhooks import EVENT_TYPES
from mifumo.errors import ApplicationError


class DashboardLoginForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        # Emails are stored lower-cased (accounts.services), the lookup is exact.
        self.user = authenticate(
            self.request, email=data["email"].strip().lower(), password=data["password"]
        )
        if self.user is None:
            raise forms.ValidationError("Invalid email or password.")
        return data


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    permissions = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in SCOPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick none to allow everything.",
    )


class WebhookEndpointForm(forms.Form):
    # A plain field: the service judges the URL (scheme, SSRF rules) and says what is wrong.
    url = forms.CharField(max_length=500, widget=forms.URLInput)
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def add_service_errors(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's refusal on the form: field errors on their fields, the rest on top."""
    for field, messages in (error.errors or {None: [error.message]}).items():
        form.add_error(field if field in form.fields else None, messages)
