//! The TAXII endpoints through the router, without a socket.

use std::sync::atomic::Ordering;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use vigil_taxii::{STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, TaxiiConfig, TaxiiStore, format_micros};

use crate::support::*;

fn uri(path: &str) -> String {
    format!("{ROOT}{path}")
}

#[tokio::test]
async fn discovery_root_and_collections_by_requester() {
    let s = TestServer::new();
    let r = call(&s, As::Anonymous, Method::GET, "/taxii2/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], TAXII_MEDIA_TYPE);
    // No public_url and no allowed host: the request's Host is not echoed.
    assert_eq!(r.body["api_roots"], json!(["http://localhost/taxii2/vigil/"]));
    let r = call(&s, As::Reader, Method::GET, "/taxii2", None).await;
    assert_eq!(r.status, StatusCode::OK, "without the trailing slash too");

    let r = call(&s, As::Reader, Method::GET, &uri("/"), None).await;
    assert_eq!(r.body["versions"], json!([TAXII_MEDIA_TYPE]));
    assert_eq!(r.body["max_content_length"], 64 * 1024);
    assert_eq!(
        call(&s, As::Reader, Method::GET, "/taxii2/other/", None).await.status,
        StatusCode::NOT_FOUND
    );

    // Anonymous users see only the anonymously readable collection.
    let r = call(&s, As::Anonymous, Method::GET, &uri("/collections/"), None).await;
    let list = r.body["collections"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["alias"], "indicators");
    assert_eq!(
        (list[0]["can_read"].as_bool(), list[0]["can_write"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(list[0]["media_types"], json!([STIX_MEDIA_TYPE]));

    let r = call(&s, As::Writer, Method::GET, &uri("/collections/"), None).await;
    let list = r.body["collections"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    let inbox = list.iter().find(|c| c["alias"] == "inbox").unwrap();
    assert_eq!(inbox["can_write"], true);
    assert_eq!(inbox["can_read"], true, "a poster reads their own submissions");
    // A reader may neither read nor write the inbox: it is not listed for them.
    let r = call(&s, As::Reader, Method::GET, &uri("/collections/"), None).await;
    let list = r.body["collections"].as_array().unwrap();
    assert!(list.iter().all(|c| c["alias"] != "inbox"), "{list:?}");
    let r = call(&s, As::Reader, Method::GET, &uri("/collections/inbox/"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&s, As::Writer, Method::GET, &uri(&format!("/collections/{}/", inbox_id())), None)
        .await;
    assert_eq!(r.body["id"], inbox_id());
}

#[tokio::test]
async fn media_types_auth_and_errors() {
    let s = TestServer::new();
    // 406 on an Accept that excludes TAXII 2.1; the error is itself a TAXII resource.
    for accept in ["application/json", "application/taxii+json;version=2.0", STIX_MEDIA_TYPE] {
        let r =
            call_with(&s, As::Reader, Method::GET, &uri("/collections/"), Some(accept), None).await;
        assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_eq!(r.headers["content-type"], TAXII_MEDIA_TYPE);
        assert_eq!(r.body["http_status"], "406");
    }
    assert_eq!(
        call_with(&s, As::Reader, Method::GET, &uri("/"), Some("*/*"), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call_with(&s, As::Reader, Method::GET, &uri("/"), None, None).await.status,
        StatusCode::OK
    );

    // 401 for anonymous on protected collections (with a challenge), 403 for a user without
    // the right, 401 for wrong credentials.
    let r = call(&s, As::Anonymous, Method::GET, &uri("/collections/reports/objects/"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers["www-authenticate"].to_str().unwrap().contains("Basic"));
    let env = serde_json::to_vec(&json!({"objects": [indicator(1, 1_700_000_000).into_value()]}))
        .unwrap();
    let r = call(
        &s,
        As::Reader,
        Method::POST,
        &uri("/collections/inbox/objects/"),
        Some((TAXII_MEDIA_TYPE, env.clone())),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &s,
        As::Writer,
        Method::POST,
        &uri("/collections/indicators/objects/"),
        Some((TAXII_MEDIA_TYPE, env.clone())),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "read-only collection");
    let r = call(
        &s,
        As::Anonymous,
        Method::POST,
        &uri("/collections/inbox/objects/"),
        Some((TAXII_MEDIA_TYPE, env.clone())),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let req = axum::http::Request::builder()
        .uri(uri("/collections/"))
        .header("authorization", "Bearer wrong-token-0000000000")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // 415 on a wrong content type; 413 over max_content_length; 400 on a non-envelope.
    let r = call(
        &s,
        As::Writer,
        Method::POST,
        &uri("/collections/inbox/objects/"),
        Some(("application/json", env.clone())),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = vec![b' '; 65 * 1024];
    let r = call(
        &s,
        As::Writer,
        Method::POST,
        &uri("/collections/inbox/objects/"),
        Some((TAXII_MEDIA_TYPE, big)),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = call(
        &s,
        As::Writer,
        Method::POST,
        &uri("/collections/inbox/objects/"),
        Some((TAXII_MEDIA_TYPE, b"[1,2]".to_vec())),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // 400 on bad filters, 404 on unknown collections and objects.
    for q in [
        "limit=0",
        "limit=x",
        "next=garbage",
        "added_after=yesterday",
        "match[version]=sometime",
        "match[spec_version]=3.0",
        "colour=red",
    ] {
        let r = call(
            &s,
            As::Reader,
            Method::GET,
            &uri(&format!("/collections/reports/objects/?{q}")),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(!r.body["description"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        call(&s, As::Reader, Method::GET, &uri("/collections/nope/objects/"), None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = call(
        &s,
        As::Reader,
        Method::GET,
        &uri("/collections/reports/objects/indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f/"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn paging_is_stable_when_many_objects_share_one_date_added() {
    let s = TestServer::new();
    let coll = indicators_id();
    // 250 objects in one request: one date_added for all of them.
    let objects: Vec<_> = (0..250).map(|n| indicator(n, 1_700_000_000)).collect();
    s.store.add(&coll, &objects, 1_767_225_600_000_000).unwrap();
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &next {
            Some(n) => format!("/collections/indicators/objects/?limit=64&next={n}"),
            None => "/collections/indicators/objects/?limit=64".to_owned(),
        };
        let r = call(&s, As::Anonymous, Method::GET, &uri(&q), None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.headers["x-taxii-date-added-first"],
            format_micros(1_767_225_600_000_000).as_str()
        );
        let last = if pages == 3 { 1_767_225_700_000_000 } else { 1_767_225_600_000_000 };
        assert_eq!(r.headers["x-taxii-date-added-last"], format_micros(last).as_str());
        seen.extend(ids(&r.body));
        pages += 1;
        if r.body["more"] == true {
            next = Some(r.body["next"].as_str().unwrap().to_owned());
        } else {
            assert!(r.body.get("next").is_none());
            break;
        }
        // Objects added meanwhile (later date_added) do not disturb the pages already cut.
        if pages == 2 {
            s.store.add(&coll, &[indicator(10_000, 1_700_000_000)], 1_767_225_700_000_000).unwrap();
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 251);
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 251, "no object twice, none skipped");
    assert_eq!(seen.last().unwrap(), indicator(10_000, 0).id());

    // The default page size applies without a limit; the maximum caps a larger one.
    let r =
        call(&s, As::Anonymous, Method::GET, &uri("/collections/indicators/objects/"), None).await;
    assert_eq!(ids(&r.body).len(), 100);
    let r = call(
        &s,
        As::Anonymous,
        Method::GET,
        &uri("/collections/indicators/manifest/?limit=5000"),
        None,
    )
    .await;
    assert_eq!(r.body["objects"].as_array().unwrap().len(), 251);
    assert_eq!(r.body["objects"][0]["media_type"], STIX_MEDIA_TYPE);
}

#[tokio::test]
async fn filters_versions_and_single_objects() {
    let s = TestServer::new();
    let coll = indicators_id();
    let t0 = 1_767_225_600_000_000u64;
    // Object 1 in three versions added at three times; object 2 once; a report once.
    s.store.add(&coll, &[indicator(1, 1_700_000_000), indicator(2, 1_700_000_000)], t0).unwrap();
    s.store.add(&coll, &[indicator(1, 1_700_000_100)], t0 + 1_000_000).unwrap();
    s.store.add(&coll, &[indicator(1, 1_700_000_200)], t0 + 2_000_000).unwrap();
    let report = vigil_intel::stix::Bundle::parse(
        br#"{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[{"type":"report","spec_version":"2.1","id":"report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"r","published":"2024-01-01T00:00:00Z","object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}]}"#,
        usize::MAX,
    )
    .unwrap();
    s.store.add(&coll, &report.objects, t0 + 3_000_000).unwrap();
    // Re-adding an existing version changes nothing.
    assert_eq!(s.store.add(&coll, &[indicator(2, 1_700_000_000)], t0 + 4_000_000).unwrap().new, 0);

    let id1 = indicator(1, 0).id().to_owned();
    let get = |q: String| {
        let s = &s;
        async move {
            call(s, As::Anonymous, Method::GET, &uri(&format!("/collections/indicators/{q}")), None)
                .await
        }
    };
    // Default: the latest version of each object, in date_added order.
    let r = get("objects/".into()).await;
    assert_eq!(
        ids(&r.body),
        [indicator(2, 0).id(), id1.as_str(), "report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]
    );
    assert_eq!(r.body["objects"][1]["modified"], "2023-11-14T22:16:40.000Z");
    // match[type]
    let r = get("objects/?match[type]=report".into()).await;
    assert_eq!(ids(&r.body), ["report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]);
    let r = get("objects/?match%5Btype%5D=indicator,report&limit=2".into()).await;
    assert_eq!(ids(&r.body).len(), 2);
    assert_eq!(r.body["more"], true);
    // match[version]
    let r = get("objects/?match[version]=all".into()).await;
    assert_eq!(ids(&r.body).len(), 5);
    let r = get("objects/?match[version]=first&match[type]=indicator".into()).await;
    let firsts: Vec<&str> = r.body["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["modified"].as_str().unwrap())
        .collect();
    assert_eq!(firsts, ["2023-11-14T22:13:20.000Z", "2023-11-14T22:13:20.000Z"]);
    let r = get(format!("objects/?match[version]=2023-11-14T22:15:00.000Z&match[id]={id1}")).await;
    assert_eq!(r.body["objects"][0]["modified"], "2023-11-14T22:15:00.000Z");
    // match[id], match[spec_version]
    let r = get(format!("objects/?match[id]={id1}&match[version]=all")).await;
    assert_eq!(ids(&r.body).len(), 3);
    assert_eq!(get("objects/?match[spec_version]=2.0".into()).await.body, json!({}));
    // added_after: strictly after.
    let r = get(format!("objects/?added_after={}", format_micros(t0 + 1_000_000))).await;
    assert_eq!(ids(&r.body), [id1.as_str(), "report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]);
    let r = get(format!("objects/?added_after={}", format_micros(t0 + 3_000_000))).await;
    assert_eq!(r.body, json!({}));
    assert!(r.headers.get("x-taxii-date-added-first").is_none());

    // One object: latest by default, all on request; its versions; manifest versions.
    let r = get(format!("objects/{id1}/")).await;
    assert_eq!(r.body["objects"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["objects"][0]["modified"], "2023-11-14T22:16:40.000Z");
    let r = get(format!("objects/{id1}/?match[version]=all&limit=2")).await;
    assert_eq!(
        (r.body["objects"].as_array().unwrap().len(), r.body["more"].as_bool()),
        (2, Some(true))
    );
    let next = r.body["next"].as_str().unwrap().to_owned();
    let r = get(format!("objects/{id1}/?match[version]=all&limit=2&next={next}")).await;
    assert_eq!(
        (r.body["objects"].as_array().unwrap().len(), r.body["more"].as_bool()),
        (1, Some(false))
    );
    let r = get(format!("objects/{id1}/versions/")).await;
    assert_eq!(
        r.body["versions"],
        json!([
            "2023-11-14T22:13:20.000000Z",
            "2023-11-14T22:15:00.000000Z",
            "2023-11-14T22:16:40.000000Z"
        ])
    );
    assert_eq!(r.headers["x-taxii-date-added-last"], format_micros(t0 + 2_000_000).as_str());
    let r = get(format!("manifest/?match[id]={id1}")).await;
    assert_eq!(r.body["objects"][0]["version"], "2023-11-14T22:16:40.000000Z");
    assert_eq!(r.body["objects"][0]["date_added"], format_micros(t0 + 2_000_000));

    // An older version arriving late does not become the latest.
    s.store.add(&coll, &[indicator(1, 1_600_000_000)], t0 + 5_000_000).unwrap();
    let r = get(format!("objects/{id1}/")).await;
    assert_eq!(r.body["objects"][0]["modified"], "2023-11-14T22:16:40.000Z");
    let r = get(format!("objects/?added_after={}", format_micros(t0 + 4_000_000))).await;
    assert_eq!(r.body, json!({}), "the late old version is not a latest version");
}

#[tokio::test]
async fn posting_queues_for_review_and_reports_status() {
    let s = TestServer::new();
    s.clock.store(1_767_225_600_000_000, Ordering::SeqCst);
    let good = indicator(7, 1_700_000_000).into_value();
    let bad = json!({"type": "indicator", "id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "modified": "2024-01-01T00:00:00.000Z"});
    let env = serde_json::to_vec(&json!({"objects": [good, bad]})).unwrap();
    let r = call(
        &s,
        As::Writer,
        Method::POST,
        &uri("/collections/inbox/objects/"),
        Some((TAXII_MEDIA_TYPE, env)),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.headers["content-type"], TAXII_MEDIA_TYPE);
    let st = r.body;
    assert_eq!(
        (
            st["status"].as_str(),
            st["total_count"].as_u64(),
            st["success_count"].as_u64(),
            st["failure_count"].as_u64()
        ),
        (Some("complete"), Some(2), Some(1), Some(1))
    );
    assert_eq!(st["successes"][0]["id"], indicator(7, 0).id());
    assert!(
        st["failures"][0]["message"].as_str().unwrap().contains("does not start with its type")
    );

    // The status can be polled by its owner only.
    let status_uri = uri(&format!("/status/{}", st["id"].as_str().unwrap()));
    let r = call(&s, As::Writer, Method::GET, &status_uri, None).await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &st));
    assert_eq!(
        call(&s, As::Reader, Method::GET, &status_uri, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&s, As::Anonymous, Method::GET, &status_uri, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The object is in the poster's part of the inbox and queued for review; nothing reached
    // the shared collections.
    let r = call(&s, As::Writer, Method::GET, &uri("/collections/inbox/objects/"), None).await;
    assert_eq!(ids(&r.body), [indicator(7, 0).id()]);
    assert_eq!(
        call(&s, As::Reader, Method::GET, &uri("/collections/indicators/objects/"), None)
            .await
            .body,
        Value::Object(Default::default())
    );
    let queue = s.store.review_queue(None, 10).unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (queue[0].id.as_str(), queue[0].posted_by.as_str()),
        (indicator(7, 0).id(), "writer")
    );
    assert!(s.store.review_done(queue[0].seq).unwrap());
    assert!(s.store.review_queue(None, 10).unwrap().is_empty());

    // Delete (a writer on a writable collection): every version by default.
    let r = call(
        &s,
        As::Writer,
        Method::DELETE,
        &uri(&format!("/collections/inbox/objects/{}/", indicator(7, 0).id())),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        call(&s, As::Writer, Method::GET, &uri("/collections/inbox/objects/"), None).await.body,
        json!({})
    );
}

async fn post(s: &TestServer, who: As, objects: Vec<Value>) -> Reply {
    let env = serde_json::to_vec(&json!({ "objects": objects })).unwrap();
    let path = uri("/collections/inbox/objects/");
    call(s, who, Method::POST, &path, Some((TAXII_MEDIA_TYPE, env))).await
}

/// Regression (issue 15): a read-only user could read every poster's unreviewed objects, and
/// any writer could delete another writer's.
#[tokio::test]
async fn inbox_submissions_are_seen_and_deleted_only_by_their_poster_or_the_operator() {
    let s = TestServer::new();
    let mine = indicator(21, 1_700_000_000);
    let theirs = indicator(22, 1_700_000_000);
    assert_eq!(
        post(&s, As::Writer, vec![mine.clone().into_value()]).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        post(&s, As::OtherWriter, vec![theirs.clone().into_value()]).await.status,
        StatusCode::ACCEPTED
    );
    // The same object posted by both is each one's submission, queued for each.
    assert_eq!(
        post(&s, As::OtherWriter, vec![mine.clone().into_value()]).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(s.store.review_queue(None, 10).unwrap().len(), 3);

    let objects = uri("/collections/inbox/objects/");
    let r = call(&s, As::Writer, Method::GET, &objects, None).await;
    assert_eq!(ids(&r.body), [mine.id()]);
    let r = call(&s, As::OtherWriter, Method::GET, &objects, None).await;
    assert_eq!(ids(&r.body), [theirs.id(), mine.id()]);
    // Readers never see unreviewed objects, in any form.
    for path in [
        objects.clone(),
        uri("/collections/inbox/manifest/"),
        uri(&format!("/collections/inbox/objects/{}/", mine.id())),
        uri(&format!("/collections/inbox/objects/{}/versions/", mine.id())),
    ] {
        let r = call(&s, As::Reader, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        let r = call(&s, As::Anonymous, Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Nor one poster another's.
    let theirs_uri = uri(&format!("/collections/inbox/objects/{}/", theirs.id()));
    let r = call(&s, As::Writer, Method::GET, &theirs_uri, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A writer cannot delete another's submission; a reader nothing; the poster can.
    let r = call(&s, As::Writer, Method::DELETE, &theirs_uri, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&s, As::Reader, Method::DELETE, &theirs_uri, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&s, As::Anonymous, Method::DELETE, &theirs_uri, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&s, As::OtherWriter, Method::GET, &objects, None).await;
    assert_eq!(ids(&r.body), [theirs.id(), mine.id()], "still there");
    let mine_uri = uri(&format!("/collections/inbox/objects/{}/", mine.id()));
    let r = call(&s, As::Writer, Method::DELETE, &mine_uri, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&s, As::OtherWriter, Method::GET, &objects, None).await;
    assert_eq!(ids(&r.body), [theirs.id(), mine.id()], "the other poster's copy stays");

    // The operator deletes anyone's.
    let r = call(&s, As::Operator, Method::DELETE, &theirs_uri, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&s, As::Operator, Method::DELETE, &mine_uri, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(call(&s, As::OtherWriter, Method::GET, &objects, None).await.body, json!({}));
    // Collections fed from the ledger lose nothing to anyone.
    let r = call(
        &s,
        As::Operator,
        Method::DELETE,
        &uri(&format!("/collections/indicators/objects/{}/", mine.id())),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Regression (issue 15): without `public_url`, discovery named whatever `Host` the client sent.
#[tokio::test]
async fn discovery_never_echoes_a_host_nobody_allowed() {
    let ask = |s: TestServer, host: &'static str| async move {
        let req = axum::http::Request::get("/taxii2/")
            .header("host", host)
            .header("accept", TAXII_MEDIA_TYPE)
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = tower::ServiceExt::oneshot(s.router.clone(), req).await.unwrap();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()["api_roots"][0]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(ask(TestServer::new(), "evil.example").await, "http://localhost/taxii2/vigil/");
    let allowed = TaxiiConfig { allowed_hosts: vec!["node.example:7070".into()], ..config() };
    assert_eq!(
        ask(TestServer::with_config(allowed.clone()), "NODE.example:7070").await,
        "http://NODE.example:7070/taxii2/vigil/"
    );
    assert_eq!(
        ask(TestServer::with_config(allowed), "evil.example").await,
        "http://localhost/taxii2/vigil/"
    );
    let public = TaxiiConfig { public_url: Some("https://intel.example/".into()), ..config() };
    assert_eq!(
        ask(TestServer::with_config(public), "evil.example").await,
        "https://intel.example/taxii2/vigil/"
    );
}
