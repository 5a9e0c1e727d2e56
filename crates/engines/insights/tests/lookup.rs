//! `lookup <table> <column> [as <field>], … OUTPUT <column>, …`: (query, expected rows) tables
//! over a small table, and the errors of a missing table or column.
mod common;
use common::*;
use nephoscope_insights::{parse, LookupError};

fn users(name: &str) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match name {
        "users" => Some((
            s(&["id", "region", "name", "team"]),
            vec![
                s(&["1", "eu", "Ana", "payments"]),
                s(&["2", "eu", "Bo", "search"]),
                s(&["2", "us", "Cy", "search"]),
                s(&["1", "eu", "Dup", "ignored: the first row wins"]),
            ],
        )),
        "nets" => Some((
            s(&["owner", "cidr", "region"]),
            vec![
                s(&["corp", "10.0.0.0/8", "eu"]),
                s(&["dc1", "10.1.0.0/16", "eu-west"]),
                s(&["gw", "10.1.2.3", "eu-west-1a"]),
                s(&["doc", "2001:db8::/32", "v6"]),
                s(&["bad", "not a range", "x"]),
            ],
        )),
        _ => None,
    }
}

fn run_lookup(q: &str, events: &[Ev]) -> Vec<String> {
    let mut query = parse(q).unwrap_or_else(|e| panic!("parse {q:?}: {e:?}"));
    query.attach_lookups(&users).unwrap();
    let mut ex = query.start(ctx());
    for e in events {
        ex.push(&rec(e));
    }
    show(&ex.rows())
}

#[test]
fn lookup_table() {
    let e = evs(&[
        (T0, r#"{"user":1,"region":"eu","team":"old"}"#),
        (T0 + 1, r#"{"user":2,"region":"us"}"#),
        (T0 + 2, r#"{"user":3,"region":"eu"}"#),
        (T0 + 3, r#"{"region":"eu"}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "lookup users id as user OUTPUT name, team | fields user, name, team | sort @timestamp asc",
            &[
                "user=1; name=Ana; team=payments; @ptr=p0",
                "user=2; name=Bo; team=search; @ptr=p1",
                "user=3; @ptr=p2",
                "@ptr=p3",
            ],
        ),
        (
            "lookup users id as user, region OUTPUT name | filter ispresent(name) | fields name | sort @timestamp asc",
            &["name=Ana; @ptr=p0", "name=Cy; @ptr=p1"],
        ),
        (
            "lookup users id as user output team | stats count(*) as n by team | sort team",
            // Event 1's own team is overwritten; events 3 and 4 have no match and no team.
            &["team=payments; n=1", "team=search; n=1", "n=2"],
        ),
        (
            "stats count(*) as n by user | lookup users id as user OUTPUT name | sort user | fields user, name, n",
            &["user=1; n=1; name=Ana", "user=2; n=1; name=Bo", "user=3; n=1", "n=1"],
        ),
        (
            "stats count(*) as n by user | lookup users id as user OUTPUT team | sort user",
            &["user=1; n=1; team=payments", "user=2; n=1; team=search", "user=3; n=1", "n=1"],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(run_lookup(q, &e), *want, "query: {q}");
    }
}

#[test]
fn lookup_errors() {
    let attach = |q: &str| parse(q).unwrap().attach_lookups(&users);
    assert_eq!(
        attach("lookup nosuch id OUTPUT name"),
        Err(LookupError::NoTable("nosuch".into()))
    );
    assert_eq!(
        attach("lookup users uid OUTPUT name"),
        Err(LookupError::NoColumn {
            table: "users".into(),
            column: "uid".into()
        })
    );
    assert_eq!(
        attach("lookup users id OUTPUT email"),
        Err(LookupError::NoColumn {
            table: "users".into(),
            column: "email".into()
        })
    );
    for bad in [
        "lookup users",
        "lookup users id",
        "lookup users OUTPUT name",
        "lookup users id OUTPUT",
        "lookup users id as OUTPUT name",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

/// `cidrlookup`: the most specific range holding the address; OUTPUT overwrites, OUTPUTNEW
/// only fills fields without a value; the range column is `cidr` unless `AS` names another.
#[test]
fn cidrlookup_table() {
    let e = evs(&[
        (T0, r#"{"srcAddr":"10.1.2.3","region":"mine"}"#),
        (T0 + 1, r#"{"srcAddr":"10.1.9.9"}"#),
        (T0 + 2, r#"{"srcAddr":"10.200.0.1","region":""}"#),
        (T0 + 3, r#"{"srcAddr":"192.168.0.1"}"#),
        (T0 + 4, r#"{"srcAddr":"2001:db8::42"}"#),
        (T0 + 5, r#"{"srcAddr":"not an address"}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "fields @timestamp, srcAddr | cidrlookup nets srcAddr OUTPUT region, owner | sort @timestamp asc | display srcAddr, region, owner",
            &[
                "srcAddr=10.1.2.3; region=eu-west-1a; owner=gw; @ptr=p0",
                "srcAddr=10.1.9.9; region=eu-west; owner=dc1; @ptr=p1",
                "srcAddr=10.200.0.1; region=eu; owner=corp; @ptr=p2",
                "srcAddr=192.168.0.1; @ptr=p3",
                "srcAddr=2001:db8::42; region=v6; owner=doc; @ptr=p4",
                "srcAddr=not an address; @ptr=p5",
            ],
        ),
        (
            "cidrlookup nets srcAddr AS cidr OUTPUTNEW region, owner AS net | sort @timestamp asc | limit 3 | display region, net",
            &[
                "region=mine; net=gw; @ptr=p0",
                "region=eu-west; net=dc1; @ptr=p1",
                "region=eu; net=corp; @ptr=p2",
            ],
        ),
        (
            "cidrlookup nets srcAddr OUTPUT owner | stats count(*) as n by owner",
            &["owner=corp; n=1", "owner=dc1; n=1", "owner=doc; n=1", "owner=gw; n=1", "n=2"],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(run_lookup(q, &e), *want, "{q}");
    }
    let mut q = parse("cidrlookup nets srcAddr AS range OUTPUT owner").unwrap();
    assert_eq!(
        q.attach_lookups(&users),
        Err(LookupError::NoColumn {
            table: "nets".into(),
            column: "range".into()
        })
    );
}
