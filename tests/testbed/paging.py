"""Pagination as AWS list calls do it: a page size with a range and a default, and an opaque continuation token.

moto ignores `maxResults`/`nextToken`, so a client that never follows `nextToken` passes against moto and then
silently misses data in a real account with more than one page. Every list call the testbed serves goes through
`page()`, with AWS's default page size, so such a bug shows up in tests.
"""

import base64
import json

from protocol import ApiError


def _encode(scope: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"scope": scope, "offset": offset}).encode()).decode()


def _decode(token: str, scope: str, error_code: str, token_name: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["scope"] == scope and isinstance(data["offset"], int) and data["offset"] >= 0:
            return data["offset"]
    except (ValueError, TypeError, KeyError):
        pass
    raise ApiError(error_code, f"Invalid parameter at '{token_name}': the token is not valid for this request")


def page(
    items: list,
    max_results: object,
    token: object,
    *,
    scope: str,
    default: int = 100,
    maximum: int = 1000,
    error_code: str = "InvalidParameterException",
    token_name: str = "nextToken",
) -> tuple[list, str | None]:
    """Returns one page of `items` and the token for the next page (None on the last page).

    `scope` names the listing (operation and filters), so that a token cannot be replayed against another one.
    """
    if max_results is None:
        size = default
    elif isinstance(max_results, int) and not isinstance(max_results, bool) and 1 <= max_results <= maximum:
        size = max_results
    else:
        raise ApiError(
            error_code,
            f"Invalid parameter at 'maxResults' failed to satisfy constraint: "
            f"'Member must have value between 1 and {maximum}'",
        )
    start = 0 if token is None else _decode(str(token), scope, error_code, token_name)
    end = start + size
    return items[start:end], (_encode(scope, end) if end < len(items) else None)
