//! API rate limits per caller and per organization.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Options, TestApp};

async fn limited(caller: u64, organization: u64, redis: Option<String>) -> TestApp {
    let mut extra = vec![
        ("RAPPORT_RATE_LIMIT", caller.to_string()),
        ("RAPPORT_RATE_LIMIT_ORGANIZATION", organization.to_string()),
        // Long windows: a test never straddles two.
        ("RAPPORT_RATE_LIMIT_WINDOW_SECS", "3600".to_owned()),
    ];
    if let Some(url) = redis {
        extra.push(("RAPPORT_REDIS_URL", url));
    }
    TestApp::spawn_with(Options {
        extra,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_caller_over_its_limit_gets_429_with_retry_after_and_others_are_unaffected() {
    let t = limited(5, 0, None).await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let other = t.register("other@example.com", Some("Other")).await;
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let r = t
            .org_call(&owner, Method::GET, "/api/v1/contacts", None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
        let reset: u64 = r
            .header("x-ratelimit-reset")
            .expect("reset")
            .parse()
            .expect("seconds");
        assert!((1..=3600).contains(&reset));
        remaining.push(
            r.header("x-ratelimit-remaining")
                .expect("remaining")
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
    let refused = t
        .org_call(&owner, Method::GET, "/api/v1/contacts", None)
        .await;
    refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(retry >= 1);
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    // Writes are refused too, and nothing is written.
    let write = t
        .org_call(
            &owner,
            Method::POST,
            "/api/v1/contacts",
            Some(json!({"name": "Late"})),
        )
        .await;
    assert_eq!(write.status, StatusCode::TOO_MANY_REQUESTS);
    // Another caller has their own count.
    let r = t
        .org_call(&other, Method::GET, "/api/v1/contacts", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("4"));
    assert_eq!(r.body["total"], 0, "the refused write left nothing behind");
}

#[tokio::test]
async fn an_organization_shares_one_limit_among_its_callers() {
    let t = limited(0, 6, None).await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    let member = t.member(&owner, "member@example.com", "member").await;
    for who in [&owner, &member, &owner] {
        for _ in 0..2 {
            let r = t.org_call(who, Method::GET, "/api/v1/deals", None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
    }
    t.org_call(&member, Method::GET, "/api/v1/deals", None)
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // Outside the organization (the caller's own account) the organization's limit does not apply.
    let me = t.get("/api/v1/auth/me", &member.access).await;
    assert_eq!(me.status, StatusCode::OK);
}

#[tokio::test]
async fn with_redis_the_counts_live_in_redis() {
    let Some(url) = crate::support::redis_url() else {
        crate::support::skip(
            "with_redis_the_counts_live_in_redis",
            "set RAPPORT_TEST_REDIS_URL to run it",
        );
        return;
    };
    let t = limited(3, 0, Some(url.clone())).await;
    let owner = t.register("owner@example.com", Some("Acme")).await;
    for _ in 0..3 {
        assert_eq!(
            t.org_call(&owner, Method::GET, "/api/v1/tags", None)
                .await
                .status,
            StatusCode::OK
        );
    }
    t.org_call(&owner, Method::GET, "/api/v1/tags", None)
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let client = redis::Client::open(url.as_str()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("rapport:rate:user:{}:*", owner.user_id))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let count: u64 = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .expect("count");
    assert_eq!(count, 4);
}
