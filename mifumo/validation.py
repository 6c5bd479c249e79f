"""Request-body validation shared by the views."""


def validated(serializer_class, request) -> dict:
    """The request body checked by `serializer_class`; a failure is the 400 envelope."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
