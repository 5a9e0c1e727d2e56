"""Saved Logs Insights queries (Put/Describe/DeleteQueryDefinition) through boto3 and the aws CLI:
each definition keeps its query language (CWLI, PPL, SQL) and its parameters, an update replaces
everything, DescribeQueryDefinitions filters by name prefix and by language and pages, the errors
are AWS's, and what was acknowledged survives a SIGKILL.
"""

from __future__ import annotations

import subprocess

import pytest
from botocore.exceptions import ClientError

from support import boto_client, unique
from test_logs_cli import base_args, cli_env, cli_path, out_json
from test_logs_insights import expect_error


@pytest.fixture(scope="module")
def logs(server):
    return boto_client(server, "logs")


def described(logs, **kwargs) -> dict[str, dict]:
    """Every definition DescribeQueryDefinitions lists for these arguments, by id (all pages)."""
    found, token = {}, None
    while True:
        page = logs.describe_query_definitions(**kwargs, **({"nextToken": token} if token else {}))
        for d in page["queryDefinitions"]:
            found[d["queryDefinitionId"]] = d
        token = page.get("nextToken")
        if not token:
            return found


def test_language_and_parameters_round_trip(logs):
    prefix = f"neph-{unique()}/"
    params = [
        {"name": "level", "defaultValue": "ERROR", "description": "log level to keep"},
        {"name": "_limit2"},
    ]
    cwli = logs.put_query_definition(
        name=prefix + "errors", queryString="filter level = '{{level}}' | limit 20",
        logGroupNames=["/a", "/b"], parameters=params)["queryDefinitionId"]
    ppl = logs.put_query_definition(
        name=prefix + "ppl", queryLanguage="PPL", queryString="where status >= 500 | stats count() by route",
        logGroupNames=["/a"])["queryDefinitionId"]
    sql = logs.put_query_definition(
        name=prefix + "sql", queryLanguage="SQL",
        queryString="SELECT route, COUNT(*) FROM `/a` GROUP BY route")["queryDefinitionId"]

    got = described(logs, queryDefinitionNamePrefix=prefix)
    assert set(got) == {cwli, ppl, sql}
    assert got[cwli]["queryLanguage"] == "CWLI"
    assert got[cwli]["parameters"] == params
    assert got[cwli]["logGroupNames"] == ["/a", "/b"]
    assert got[ppl]["queryLanguage"] == "PPL" and "parameters" not in got[ppl]
    assert got[sql]["queryLanguage"] == "SQL"
    assert got[sql]["queryString"] == "SELECT route, COUNT(*) FROM `/a` GROUP BY route"

    for language, ids in [("CWLI", {cwli}), ("PPL", {ppl}), ("SQL", {sql})]:
        assert set(described(logs, queryDefinitionNamePrefix=prefix, queryLanguage=language)) == ids, language


def test_update_replaces_everything(logs):
    name = f"neph-{unique()}"
    qid = logs.put_query_definition(
        name=name, queryString="fields @message | filter x = '{{x}}'", logGroupNames=["/a"],
        parameters=[{"name": "x", "defaultValue": "1"}])["queryDefinitionId"]
    # The update names no log groups and no parameters and changes the language: none are kept.
    again = logs.put_query_definition(
        queryDefinitionId=qid, name=name + "-v2", queryLanguage="PPL", queryString="fields a")
    assert again["queryDefinitionId"] == qid
    d = described(logs, queryDefinitionNamePrefix=name)[qid]
    assert (d["name"], d["queryLanguage"], d["queryString"]) == (name + "-v2", "PPL", "fields a")
    assert d.get("logGroupNames", []) == [] and "parameters" not in d
    assert logs.delete_query_definition(queryDefinitionId=qid)["success"] is True
    assert described(logs, queryDefinitionNamePrefix=name) == {}


def test_pages_in_name_order(logs):
    prefix = f"neph-{unique()}/"
    ids = [logs.put_query_definition(name=f"{prefix}{i:02}", queryString="fields @message")["queryDefinitionId"]
           for i in range(7)]
    seen, token = [], None
    while True:
        page = logs.describe_query_definitions(queryDefinitionNamePrefix=prefix, maxResults=3,
                                               **({"nextToken": token} if token else {}))
        assert len(page["queryDefinitions"]) <= 3
        seen += [d["queryDefinitionId"] for d in page["queryDefinitions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == ids


@pytest.mark.parametrize("kwargs, code, words", [
    # parameters belong to Logs Insights QL only
    ({"queryLanguage": "PPL", "parameters": [{"name": "x"}]}, "InvalidParameterException", "Logs Insights QL"),
    ({"queryLanguage": "SQL", "parameters": [{"name": "x"}]}, "InvalidParameterException", "Logs Insights QL"),
    ({"parameters": [{"name": "x"}, {"name": "x", "defaultValue": "2"}]}, "InvalidParameterException",
     "more than once"),
    # the model's constraints: name pattern, at most 20 parameters, language enum
    ({"parameters": [{"name": "1x"}]}, "InvalidParameterException", None),
    ({"parameters": [{"name": f"p{i}"} for i in range(21)]}, "InvalidParameterException", None),
    ({"queryLanguage": "KQL"}, "InvalidParameterException", None),
    ({"queryDefinitionId": "00000000-0000-0000-0000-000000000000"}, "ResourceNotFoundException", None),
])
def test_put_errors(logs, kwargs, code, words):
    err = expect_error(code, logs.put_query_definition, name=f"neph-{unique()}", queryString="fields a", **kwargs)
    if words:
        assert words in err.response["Error"]["Message"], err.response


def test_delete_unknown(logs):
    expect_error("ResourceNotFoundException", logs.delete_query_definition,
                 queryDefinitionId="00000000-0000-0000-0000-000000000000")


def test_aws_cli_saves_a_ppl_definition_with_parameters_refused(server, ci):
    cli = base_args(cli_path("v1", ci), server)
    name = f"neph-{unique()}"

    def aws(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, "logs", *args], env=cli_env(server), capture_output=True, text=True,
                              timeout=120)

    made = aws("put-query-definition", "--name", name, "--query-language", "PPL",
               "--query-string", "where status >= 500 | head 5", "--log-group-names", "/a")
    assert made.returncode == 0, made.stderr
    qid = out_json(made)["queryDefinitionId"]
    listed = aws("describe-query-definitions", "--query-definition-name-prefix", name, "--query-language", "PPL")
    assert listed.returncode == 0, listed.stderr
    assert [(d["queryDefinitionId"], d["queryLanguage"]) for d in out_json(listed)["queryDefinitions"]] == \
        [(qid, "PPL")]
    refused = aws("put-query-definition", "--name", name, "--query-language", "SQL", "--query-string", "SELECT 1",
                  "--parameters", "name=x")
    assert refused.returncode != 0 and "InvalidParameterException" in refused.stderr, refused.stderr


def test_definitions_survive_sigkill(start_server, tmp_path):
    data_dir = tmp_path / "data"
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    params = [{"name": "route", "defaultValue": "/pets", "description": "which route"}]
    kept = logs.put_query_definition(name="kept", queryString="filter route = '{{route}}'",
                                     parameters=params)["queryDefinitionId"]
    sql = logs.put_query_definition(name="sql", queryLanguage="SQL",
                                    queryString="SELECT COUNT(*) FROM `/a`")["queryDefinitionId"]
    gone = logs.put_query_definition(name="gone", queryString="fields a")["queryDefinitionId"]
    logs.delete_query_definition(queryDefinitionId=gone)
    srv.kill()

    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    got = described(logs)
    assert set(got) == {kept, sql}
    assert got[kept]["parameters"] == params and got[kept]["queryLanguage"] == "CWLI"
    assert got[sql]["queryLanguage"] == "SQL"
    # a graceful stop writes a checkpoint (snapshot): it keeps them as well
    assert srv.stop() == 0, srv.log()[-2000:]
    srv = start_server(ephemeral=False, data_dir=data_dir)
    assert described(boto_client(srv, "logs")) == got
    with pytest.raises(ClientError):
        boto_client(srv, "logs").delete_query_definition(queryDefinitionId=gone)


def test_start_query_refuses_a_placeholder(logs):
    """A `{{name}}` placeholder is a saved query's parameter: StartQuery does not run it as text."""
    group = f"/neph/qd/{unique()}"
    logs.create_log_group(logGroupName=group)
    err = expect_error("MalformedQueryException", logs.start_query, logGroupName=group, startTime=0, endTime=60,
                       queryString="fields @message | filter level = '{{level}}'")
    assert "{{level}}" in err.response["Error"]["Message"]
    assert err.response["queryCompileError"]["location"] == {"startCharOffset": 34, "endCharOffset": 43}
