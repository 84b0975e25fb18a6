"""A hook's webhook URL carries no credential: neither a password nor a secret query parameter
(the hooks themselves, run against local servers, are tests/integration/test_secrets.py and
test_hardening_http.py)."""

from __future__ import annotations

import pytest

from fuseboard.errors import FuseboardError
from fuseboard.ops import hooks

SECRET = "s3cr3t-t0ken-do-not-leak"


def test_credentials_in_a_hook_url_are_refused() -> None:
    with pytest.raises(FuseboardError, match="must not carry credentials"):
        hooks.validate({"webhook": f"https://deployer:{SECRET}@deploy.internal/hook"})


@pytest.mark.parametrize("query", ["token=abc", "access_token=abc", "api_key=abc", "key=abc", "sig=abc",
                                   "X-Amz-Signature=abc", "clientSecret=abc", "env=prod&auth=abc"])
def test_a_secret_in_a_webhook_query_string_is_refused(query: str) -> None:
    with pytest.raises(FuseboardError, match="must not carry credentials .*query parameter") as refused:
        hooks.validate({"webhook": f"https://deployer.internal/hook?{query}"})
    assert "abc" not in str(refused.value)


def test_an_ordinary_query_string_is_accepted() -> None:
    assert hooks.validate({"webhook": "https://deployer.internal/hook?team=risk&env=prod"})["webhook"].endswith(
        "?team=risk&env=prod")
