"""Access keys from the config file map to accounts and principals (STS GetCallerIdentity)."""

import pytest
from botocore.exceptions import ClientError

from support import ALICE_CONFIG, DEV_ACCOUNT, boto_client

NO_DEV_CONFIG = ALICE_CONFIG.replace("dev_credentials = true", "dev_credentials = false")


def test_configured_user_identity(alice_server):
    sts = boto_client(alice_server, "sts", access_key="AKIDALICE", secret_key="alicesecret")
    identity = sts.get_caller_identity()
    assert identity["Account"] == "111111111111"
    assert identity["Arn"] == "arn:aws:iam::111111111111:user/alice"
    assert identity["UserId"] == "AKIDALICE"


def test_dev_credential_still_root_of_default_account(alice_server):
    identity = boto_client(alice_server, "sts").get_caller_identity()
    assert identity["Account"] == DEV_ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{DEV_ACCOUNT}:root"
    assert identity["UserId"] == DEV_ACCOUNT


def test_configured_user_with_wrong_secret(alice_server):
    sts = boto_client(alice_server, "sts", access_key="AKIDALICE", secret_key="test")
    with pytest.raises(ClientError) as info:
        sts.get_caller_identity()
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_dev_credentials_can_be_switched_off(start_server):
    srv = start_server(config=NO_DEV_CONFIG)
    with pytest.raises(ClientError) as info:
        boto_client(srv, "sts").get_caller_identity()
    assert info.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    identity = boto_client(srv, "sts", access_key="AKIDALICE", secret_key="alicesecret").get_caller_identity()
    assert identity["Account"] == "111111111111"


def test_logs_call_as_configured_user_passes_auth(alice_server):
    """Alice's key works for other services too (here: a Logs validation error, not an auth one)."""
    logs = boto_client(alice_server, "logs", access_key="AKIDALICE", secret_key="alicesecret")
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.create_log_group(logGroupName="bad name*")
