"""Request body and query string validation shared by the views."""


def validated(serializer_class, request, *, partial: bool = False) -> dict:
    """The request body checked by `serializer_class` (a partial body when `partial`);
    a failure is the 400 envelope. The serializer sees the request in its context."""
    serializer = serializer_class(data=request.data, partial=partial, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def validated_query(serializer_class, request) -> dict:
    """The query string checked by `serializer_class`; a failure is the 400 envelope."""
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
