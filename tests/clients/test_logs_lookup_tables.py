"""Lookup tables (CreateLookupTable, UpdateLookupTable, GetLookupTable, DescribeLookupTables,
DeleteLookupTable) through boto3: CSV bodies or a query's results, errors as AWS, kept across
restarts."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import boto_client, now_ms, unique, wait_for

DEV_ACCOUNT = "000000000000"


@pytest.fixture
def logs(server):
    return boto_client(server, "logs")


def code_of(call) -> str:
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def test_create_get_describe_update_delete(logs):
    name = unique("users_").replace("-", "_")
    body = "id,name,team\n1,Ana,payments\n2,\"Doe, Jo\",search\n"
    created = logs.create_lookup_table(lookupTableName=name, description="people", tableBody=body,
                                       tags={"env": "test"})
    arn = created["lookupTableArn"]
    assert arn == f"arn:aws:logs:us-east-1:{DEV_ACCOUNT}:lookup-table:{name}"
    assert abs(created["createdAt"] - now_ms()) < 60_000
    got = logs.get_lookup_table(lookupTableArn=arn)
    assert (got["lookupTableName"], got["description"], got["tableBody"], got["sizeBytes"]) == \
        (name, "people", body, len(body))
    listed = logs.describe_lookup_tables(lookupTableNamePrefix=name)["lookupTables"]
    assert [(t["lookupTableName"], t["tableFields"], t["recordsCount"]) for t in listed] == \
        [(name, ["id", "name", "team"], 2)]
    assert code_of(lambda: logs.create_lookup_table(lookupTableName=name, tableBody=body)) == \
        "ResourceAlreadyExistsException"
    updated = logs.update_lookup_table(lookupTableArn=arn, tableBody="id,name\n3,Li\n")
    assert updated["lastUpdatedTime"] >= created["createdAt"]
    got = logs.get_lookup_table(lookupTableArn=arn)
    assert (got["tableBody"], got["description"]) == ("id,name\n3,Li\n", "people")
    logs.delete_lookup_table(lookupTableArn=arn)
    assert code_of(lambda: logs.get_lookup_table(lookupTableArn=arn)) == "ResourceNotFoundException"
    assert code_of(lambda: logs.delete_lookup_table(lookupTableArn=arn)) == "ResourceNotFoundException"


def test_bad_input(logs):
    name = unique("bad_").replace("-", "_")
    for kwargs in ({"tableBody": "a,a\n1,2\n"}, {"tableBody": "a,b\n1,2,3\n"}, {},
                   {"tableBody": "a\n1\n", "queryId": "q"}):
        assert code_of(lambda: logs.create_lookup_table(lookupTableName=name, **kwargs)) == \
            "InvalidParameterException", kwargs
    assert code_of(lambda: logs.create_lookup_table(lookupTableName="has-dash", tableBody="a\n1\n")) == \
        "InvalidParameterException"
    other = f"arn:aws:logs:eu-west-1:{DEV_ACCOUNT}:lookup-table:{name}"
    assert code_of(lambda: logs.get_lookup_table(lookupTableArn=other)) == "ResourceNotFoundException"


def test_describe_pages_by_name(logs):
    prefix = unique("page_").replace("-", "_")
    for n in range(3):
        logs.create_lookup_table(lookupTableName=f"{prefix}{n}", tableBody="k\nv\n")
    first = logs.describe_lookup_tables(lookupTableNamePrefix=prefix, maxResults=2)
    second = logs.describe_lookup_tables(lookupTableNamePrefix=prefix, maxResults=2, nextToken=first["nextToken"])
    assert [t["lookupTableName"] for t in first["lookupTables"] + second["lookupTables"]] == \
        [f"{prefix}{n}" for n in range(3)]
    assert "nextToken" not in second


def test_table_from_query_results_and_kept_across_restart(start_server, tmp_path):
    data_dir = tmp_path / "data"
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    group = unique("/neph/lookup/")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    base = now_ms() - 60_000
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": base + i, "message": f"code={c}"} for i, c in enumerate(["E1", "E2", "E1"])])
    running = logs.start_query(logGroupName=group, startTime=base // 1000 - 60, endTime=base // 1000 + 60,
                               queryString="parse @message 'code=*' as code | stats count(*) as n by code"
                                           " | sort code")["queryId"]
    name = "codes_from_query"
    wait_for(lambda: logs.get_query_results(queryId=running), lambda r: r["status"] == "Complete",
             what="query complete")
    arn = logs.create_lookup_table(lookupTableName=name, queryId=running)["lookupTableArn"]
    assert logs.get_lookup_table(lookupTableArn=arn)["tableBody"] == "code,n\nE1,2\nE2,1\n"
    assert srv.stop() == 0
    srv = start_server(ephemeral=False, data_dir=data_dir)
    logs = boto_client(srv, "logs")
    assert logs.get_lookup_table(lookupTableArn=arn)["tableBody"] == "code,n\nE1,2\nE2,1\n"
    assert code_of(lambda: logs.create_lookup_table(lookupTableName="x", queryId="no-such-query")) == \
        "ResourceNotFoundException"


def test_lookup_command_enriches_query_results(logs):
    """`lookup <table> <column> as <field> OUTPUT …` in StartQuery adds the table's columns;
    a missing table is ResourceNotFoundException, a missing column InvalidParameterException."""
    table = unique("codes_").replace("-", "_")
    logs.create_lookup_table(lookupTableName=table,
                             tableBody="code,severity,text\nE1,high,disk full\nE2,low,retrying\n")
    group = unique("/neph/lookup-query/")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    base = now_ms() - 60_000
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": base + i, "message": f'{{"error":"{c}"}}'} for i, c in enumerate(["E1", "E2", "E1", "E9"])])
    window = dict(logGroupName=group, startTime=base // 1000 - 60, endTime=base // 1000 + 60)
    qid = logs.start_query(queryString=f"lookup {table} code as error OUTPUT severity, text"
                                       " | stats count(*) as n by error, severity, text | sort error",
                           **window)["queryId"]
    resp = wait_for(lambda: logs.get_query_results(queryId=qid), lambda r: r["status"] == "Complete",
                    what="query complete")
    rows = [{f["field"]: f["value"] for f in row} for row in resp["results"]]
    assert rows == [
        {"error": "E1", "severity": "high", "text": "disk full", "n": "2"},
        {"error": "E2", "severity": "low", "text": "retrying", "n": "1"},
        {"error": "E9", "n": "1"},
    ], rows
    assert code_of(lambda: logs.start_query(queryString="lookup no_such_table code OUTPUT text", **window)) == \
        "ResourceNotFoundException"
    assert code_of(lambda: logs.start_query(queryString=f"lookup {table} nope OUTPUT text", **window)) == \
        "InvalidParameterException"
    assert code_of(lambda: logs.start_query(queryString=f"lookup {table} code", **window)) == \
        "MalformedQueryException"


def test_cidrlookup_enriches_flow_log_addresses(logs):
    """`cidrlookup <table> <ip field> OUTPUT …` (AWS's example shape): the most specific range
    of the table's `cidr` column holding the address; OUTPUTNEW leaves set fields alone."""
    table = unique("nets_").replace("-", "_")
    logs.create_lookup_table(lookupTableName=table,
                             tableBody="cidr,region,owner\n10.0.0.0/8,eu,corp\n10.1.0.0/16,eu-west,dc1\n"
                                       "2001:db8::/32,v6,doc\n")
    group = unique("/neph/cidrlookup/")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    base = now_ms() - 60_000
    addrs = ["10.1.2.3", "10.9.9.9", "192.168.0.1", "2001:db8::1"]
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": base + i, "message": f'{{"srcAddr":"{a}","owner":"me"}}'} for i, a in enumerate(addrs)])
    window = dict(logGroupName=group, startTime=base // 1000 - 60, endTime=base // 1000 + 60)

    def run(q):
        qid = logs.start_query(queryString=q, **window)["queryId"]
        resp = wait_for(lambda: logs.get_query_results(queryId=qid), lambda r: r["status"] == "Complete",
                        what="query complete")
        return [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in resp["results"]]

    assert run(f"fields @timestamp, srcAddr | cidrlookup {table} srcAddr OUTPUT region, owner"
               " | sort @timestamp asc | display srcAddr, region, owner") == [
        {"srcAddr": "10.1.2.3", "region": "eu-west", "owner": "dc1"},
        {"srcAddr": "10.9.9.9", "region": "eu", "owner": "corp"},
        {"srcAddr": "192.168.0.1", "owner": "me"},
        {"srcAddr": "2001:db8::1", "region": "v6", "owner": "doc"},
    ]
    assert run(f"cidrlookup {table} srcAddr OUTPUTNEW region, owner | stats count(*) as n by owner") == [
        {"owner": "me", "n": "4"}]
    assert code_of(lambda: logs.start_query(queryString=f"cidrlookup {table} srcAddr AS nope OUTPUT region",
                                            **window)) == "InvalidParameterException"
