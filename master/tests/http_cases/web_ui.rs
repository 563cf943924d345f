//! The web UI's routes: the page and its assets from the binary, and the proxy the page
//! reads other masters and agents through (`master/src/http/web_proxy.rs`).

use super::support::{TcpMaster, get, http};

/// `/` serves the page and `/master/webui/<asset>` its script and style sheet, with
/// their content types; any other unclaimed path is `404`.
#[actix_rt::test]
async fn web_ui_page_and_assets_are_served_from_the_binary() {
    let master = TcpMaster::start(|_| {});
    let page = get(master.address, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/master/webui/app.js"), "{}", page.body);
    for (path, content_type) in [
        ("/master/webui/app.js", "text/javascript; charset=utf-8"),
        ("/master/webui/flow.js", "text/javascript; charset=utf-8"),
        ("/master/webui/app.css", "text/css; charset=utf-8"),
    ] {
        let asset = get(master.address, path).await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), Some(content_type), "{path}");
    }
    assert_eq!(get(master.address, "/master/webui/nothing.js").await.status, 404);
}

/// The proxy forwards a read-only `GET` to a member (here the master itself) and hands
/// back the answer; it refuses other paths (`404`), other methods (`405`) and addresses
/// that are not members of the cluster (`403`), so it is no open relay.
#[actix_rt::test]
async fn web_proxy_reads_members_only_and_only_read_only_paths() {
    let master = TcpMaster::start(|_| {});
    let direct = get(master.address, "/master/flags").await;
    let proxied =
        get(master.address, &format!("/master/proxy/{}/master/flags", master.address)).await;
    assert_eq!(proxied.status, 200, "{}", proxied.body);
    assert_eq!(proxied.json(), direct.json());
    assert_eq!(proxied.header("cache-control"), Some("no-store"));

    let teardown = format!("/master/proxy/{}/master/teardown", master.address);
    assert_eq!(get(master.address, &teardown).await.status, 404);
    let post = format!("/master/proxy/{}/master/flags", master.address);
    assert_eq!(http(master.address, "POST", &post, "").await.status, 405);
    let stranger = get(master.address, "/master/proxy/127.0.0.1:1/master/state").await;
    assert_eq!(stranger.status, 403, "{}", stranger.body);
}
