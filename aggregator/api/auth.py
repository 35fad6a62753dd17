"""Write access: the API is read-only unless a write token is configured; endpoints that
change state then require it as ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aggregator.config import ApiSettings
from protocol.settings import ConfigError

MINIMUM_TOKEN_LENGTH = 16

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="write token",
    description="The aggregator config's api.write_token; required by endpoints that write.",
)


def read_write_token(settings: ApiSettings) -> str | None:
    """The configured write token, from ``write_token`` or ``write_token_file``."""
    if settings.write_token is not None and settings.write_token_file is not None:
        raise ConfigError("api: set write_token or write_token_file, not both")
    if settings.write_token_file is not None:
        try:
            token = settings.write_token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(
                f"api -> write_token_file: cannot read {settings.write_token_file}: "
                f"{error.strerror}"
            ) from None
        origin = "api -> write_token_file"
    elif settings.write_token is not None:
        token = settings.write_token.get_secret_value()
        origin = "api -> write_token"
    else:
        return None
    if len(token) < MINIMUM_TOKEN_LENGTH:
        raise ConfigError(
            f"{origin}: the token has {len(token)} characters; use at least "
            f"{MINIMUM_TOKEN_LENGTH}, e.g. from "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe())'`"
        )
    return token


def write_guard(token: str | None) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    """A FastAPI dependency that lets a request through only with the write token."""
    expected = token.encode("utf-8") if token is not None else None

    def require_write_token(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> None:
        if expected is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "this API is read-only: set api.write_token in the aggregator config "
                "to allow writes",
            )
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "this endpoint writes: send 'Authorization: Bearer <api.write_token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(credentials.credentials.encode("utf-8"), expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid bearer token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

    return require_write_token
