"""Request and response bodies of the keyword settings route (GET|PUT /api/messaging/keywords/).
The service (messaging.keywords) checks the keywords and replies; these only read the shapes."""

from rest_framework import serializers

from messaging.keywords import KEYWORDS_MAX_COUNT, REPLY_MAX_LENGTH
from messaging.models import KeywordSettings

_KEYWORD_HELP = (
    "Whole-message keywords, stored upper-cased; a message matches in any case, with the "
    "spaces and punctuation around it ignored. One word of 1-32 characters; a keyword is in "
    "one list only."
)
_REPLY_HELP = (
    "At most 480 characters, sent free of credits. {{business}} is the tenant's name; "
    "{{first_name}}, {{name}} and the contact's other fields work as in templates."
)


class KeywordSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = KeywordSettings
        fields = [
            "opt_out_keywords",
            "opt_in_keywords",
            "help_keywords",
            "opt_out_reply",
            "opt_in_reply",
            "help_reply",
            "updated_at",
        ]
        read_only_fields = fields


def _keywords_field(meaning: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=100),
        required=False,
        max_length=KEYWORDS_MAX_COUNT,
        help_text=f"{meaning}. {_KEYWORD_HELP}",
    )


def _reply_field(meaning: str) -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=REPLY_MAX_LENGTH,
        help_text=f"{meaning}. {_REPLY_HELP}",
    )


class KeywordSettingsInputSerializer(serializers.Serializer):
    """Any of the lists and replies; what is left out stays as it is."""

    opt_out_keywords = _keywords_field("Opt the contact out (STOP)")
    opt_in_keywords = _keywords_field("Opt the contact back in (START)")
    help_keywords = _keywords_field("Answer with the help reply (HELP)")
    opt_out_reply = _reply_field("The confirmation of an opt-out")
    opt_in_reply = _reply_field("The confirmation of an opt-in")
    help_reply = _reply_field("The answer to a help keyword")
