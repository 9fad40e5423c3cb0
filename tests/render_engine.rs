#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The browser engine (`dcrawl::render`) against a real Chromium and a local single-page app.
//! Without Chromium each test prints why it skipped, except under `CI=true`, where it fails.

mod render_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use dcrawl::render::{BrowserOptions, RenderError, RenderRequest, Renderer};
use render_support::*;
use url::Url;

fn options(binary: PathBuf, root: &Path) -> BrowserOptions {
    BrowserOptions {
        binary,
        temp_dir: root.to_owned(),
        ..BrowserOptions::default()
    }
}

fn request(base: &Url, path: &str) -> RenderRequest {
    let mut request = RenderRequest::new(base.join(path).unwrap());
    request.timeout = Duration::from_secs(20);
    request
}

/// Shuts down, then checks nothing of the renderer is left: no process, no profile.
async fn shut_down_cleanly(renderer: &Renderer, root: &Path) {
    renderer.shutdown().await;
    assert_eq!(renderer.processes(), 0, "{}", describe(root));
    assert_eq!(
        wait_gone(root, Duration::from_secs(2)).await,
        Vec::<u32>::new()
    );
    assert_eq!(profiles_under(root), Vec::<PathBuf>::new());
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn the_app_is_rendered_with_its_errors_and_failed_requests() {
    let Some(binary) = chromium() else { return };
    let _turn = one_at_a_time().await;
    let root = temp_root("app");
    let base = serve().await;
    let renderer = Renderer::new(options(binary, &root));

    let mut req = request(&base, "/?delay=1500");
    req.wait_for = Some(".ready".to_owned());
    req.headers = vec![("X-Probe".to_owned(), "sent-by-test".to_owned())];
    req.screenshot = true;
    req.viewport = (800, 600);
    let page = renderer.render(req).await.unwrap();

    assert!(
        page.html
            .contains("<li>apple</li><li>pear</li><li>plum</li>"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains(r#"<div class="ready">ready at last</div>"#),
        "wait_for waited"
    );
    assert!(
        page.html.contains("probe=sent-by-test"),
        "request headers were sent"
    );
    assert_eq!(page.status, Some(200));
    assert!(
        page.headers
            .contains(&("x-app".to_owned(), "spa".to_owned())),
        "{:?}",
        page.headers
    );
    assert_eq!(page.final_url, base.join("/?delay=1500").unwrap());
    assert_eq!(page.console_errors.len(), 2, "{:?}", page.console_errors);
    assert_eq!(page.console_errors[0], "bad thing 42");
    assert!(
        page.console_errors[1].contains("Uncaught Error: boom"),
        "{:?}",
        page.console_errors
    );
    let mut failed = page.failed_requests.clone();
    failed.sort();
    assert_eq!(
        failed,
        vec![
            format!("{}: HTTP 404", base.join("/missing.js").unwrap()),
            format!("{}: HTTP 404", base.join("/missing.png").unwrap()),
        ]
    );
    let png = page.screenshot.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        800,
        "viewport width"
    );
    assert_eq!(
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
        600,
        "viewport height"
    );

    // Without wait_for the snapshot comes 500 ms after the load event: the list is there, the
    // element added after 8 s is not.
    let page = renderer
        .render(request(&base, "/?delay=8000"))
        .await
        .unwrap();
    assert!(page.html.contains("<li>plum</li>"), "{}", page.html);
    assert!(!page.html.contains(r#"<div class="ready">"#));
    assert!(
        page.duration < Duration::from_secs(8),
        "{:?}",
        page.duration
    );
    assert!(page.screenshot.is_none());
    assert!(
        renderer.processes() > 0,
        "the browser stays for the next page"
    );

    shut_down_cleanly(&renderer, &root).await;
    assert!(matches!(
        renderer.render(request(&base, "/")).await,
        Err(RenderError::ShutDown)
    ));
}

#[tokio::test]
async fn main_document_status_and_recycling_after_n_pages() {
    let Some(binary) = chromium() else { return };
    let _turn = one_at_a_time().await;
    let root = temp_root("status");
    let base = serve().await;
    let renderer = Renderer::new(BrowserOptions {
        max_pages_per_browser: 2,
        ..options(binary, &root)
    });
    let gone = renderer.render(request(&base, "/gone")).await.unwrap();
    assert_eq!(gone.status, Some(404));
    assert!(gone.html.contains("nothing here"));
    assert!(
        gone.failed_requests.is_empty(),
        "the main document is no sub-request"
    );
    assert_eq!(renderer.restarts(), 0);

    let plain = renderer.render(request(&base, "/plain")).await.unwrap();
    assert_eq!(plain.status, Some(200));
    assert_eq!(renderer.restarts(), 1, "replaced after its second page");
    assert_eq!(renderer.processes(), 0, "the next browser starts lazily");

    let plain = renderer.render(request(&base, "/plain")).await.unwrap();
    assert!(plain.html.contains("plain page"));
    assert_eq!(renderer.restarts(), 1);

    let mut bad = request(&base, "/plain");
    bad.wait_for = Some("p[[".to_owned());
    let err = renderer.render(bad).await.unwrap_err();
    assert!(matches!(err, RenderError::InvalidSelector { .. }), "{err}");

    let refused = renderer
        .render(RenderRequest::new(closed_port()))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("ERR_CONNECTION_REFUSED"),
        "{refused}"
    );
    shut_down_cleanly(&renderer, &root).await;
}

#[tokio::test]
async fn dialogs_and_popups_do_not_block_the_page() {
    let Some(binary) = chromium() else { return };
    let _turn = one_at_a_time().await;
    let root = temp_root("popups");
    let base = serve().await;
    let renderer = Renderer::new(options(binary, &root));
    let mut req = request(&base, "/popups");
    req.wait_for = Some("#after".to_owned());
    req.timeout = Duration::from_secs(10);
    let page = renderer.render(req).await.unwrap();
    assert!(
        page.html.contains("after dialogs false null"),
        "{}",
        page.html
    );
    assert_eq!(
        page.dialogs,
        vec![
            "alert: hello".to_owned(),
            "confirm: sure?".to_owned(),
            "prompt: name?".to_owned()
        ]
    );
    assert_eq!(
        page.popups,
        vec![
            base.join("/ticker").unwrap().to_string(),
            base.join("/gone").unwrap().to_string()
        ]
    );
    // The beforeunload handler does not keep the tab open.
    let again = renderer.render(request(&base, "/plain")).await.unwrap();
    assert!(again.popups.is_empty() && again.dialogs.is_empty());
    assert_eq!(renderer.restarts(), 0);
    shut_down_cleanly(&renderer, &root).await;
    assert_eq!(
        TICKS.load(Ordering::SeqCst),
        0,
        "the popup blocker stopped the popups"
    );

    // Popups that do open (here with the blocker off) are closed at once.
    let root = temp_root("popups-open");
    let renderer = Renderer::new(BrowserOptions {
        extra_args: vec!["--disable-popup-blocking".to_owned()],
        ..options(chromium().unwrap(), &root)
    });
    let mut req = request(&base, "/popups");
    req.wait_for = Some("#after".to_owned());
    let page = renderer.render(req).await.unwrap();
    assert_eq!(page.popups.len(), 2, "{:?}", page.popups);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ticks = TICKS.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        TICKS.load(Ordering::SeqCst),
        ticks,
        "the ticker popup is closed"
    );

    // Dropping a renderer without shutdown kills its browsers too.
    assert!(!processes_under(&root).is_empty());
    drop(renderer);
    assert_eq!(
        wait_gone(&root, Duration::from_secs(3)).await,
        Vec::<u32>::new()
    );
    assert_eq!(profiles_under(&root), Vec::<PathBuf>::new());
    std::fs::remove_dir_all(&root).unwrap();
}

#[tokio::test]
async fn a_page_that_never_settles_times_out_and_its_browser_is_killed() {
    let Some(binary) = chromium() else { return };
    let _turn = one_at_a_time().await;
    let root = temp_root("hang");
    let base = serve().await;
    let renderer = Renderer::new(options(binary, &root));
    // A running browser first, so that the timeout falls on the page.
    renderer.render(request(&base, "/plain")).await.unwrap();
    let mut req = request(&base, "/hang");
    req.timeout = Duration::from_secs(3);
    let started = std::time::Instant::now();
    let err = renderer.render(req).await.unwrap_err();
    let RenderError::Timeout { limit, stage } = &err else {
        panic!("{err}")
    };
    assert_eq!(*limit, Duration::from_secs(3));
    assert!(
        stage.starts_with("waiting for the load event; requests still loading: "),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(renderer.processes(), 0, "{}", describe(&root));
    assert_eq!(renderer.restarts(), 1);
    assert_eq!(
        wait_gone(&root, Duration::from_secs(2)).await,
        Vec::<u32>::new()
    );

    let page = renderer.render(request(&base, "/plain")).await.unwrap();
    assert!(page.html.contains("plain page"), "a fresh browser renders");

    // Shutdown does not wait for a page that never settles (here waiting for an element that
    // never comes while its fetches never end): it kills its browser.
    let busy = renderer.clone();
    let mut req = request(&base, "/hang");
    req.wait_for = Some("#never".to_owned());
    let pending = tokio::spawn(async move { busy.render(req).await });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let started = std::time::Instant::now();
    shut_down_cleanly(&renderer, &root).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(pending.await.unwrap(), Err(RenderError::ShutDown));
}

#[tokio::test]
async fn a_page_that_eats_memory_is_stopped_and_the_renderer_survives() {
    let Some(binary) = chromium() else { return };
    let _turn = one_at_a_time().await;
    let root = temp_root("hog");
    let base = serve().await;
    let renderer = Renderer::new(BrowserOptions {
        rss_limit_bytes: 2 << 30,
        ..options(binary, &root)
    });
    let mut req = request(&base, "/hog");
    req.wait_for = Some("#never".to_owned());
    req.timeout = Duration::from_secs(15);
    let err = renderer.render(req).await.unwrap_err();
    // The RSS cap should stop it first; the renderer's own out-of-memory crash or the timeout
    // are the fallbacks. Whichever came, the browser is gone.
    assert!(
        matches!(
            err,
            RenderError::MemoryLimit { .. } | RenderError::Crashed(_) | RenderError::Timeout { .. }
        ),
        "{err}"
    );
    eprintln!("memory hog: {err}");
    assert_eq!(renderer.processes(), 0, "{}", describe(&root));
    assert_eq!(renderer.restarts(), 1);
    let page = renderer.render(request(&base, "/plain")).await.unwrap();
    assert!(page.html.contains("plain page"));
    shut_down_cleanly(&renderer, &root).await;
}

#[tokio::test]
async fn a_missing_browser_is_an_error_saying_how_to_install_one() {
    let root = temp_root("missing");
    let renderer = Renderer::new(options(PathBuf::from("/nonexistent/chromium"), &root));
    let err = renderer
        .render(RenderRequest::new(
            Url::parse("http://127.0.0.1:1/").unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, RenderError::NoBrowser { .. }), "{err}");
    assert!(
        err.to_string().contains("apt-get install chromium"),
        "{err}"
    );
    assert!(err.to_string().contains("--browser PATH"), "{err}");
    shut_down_cleanly(&renderer, &root).await;
}

#[tokio::test]
async fn a_browser_that_dies_at_start_is_reported_at_once() {
    let root = temp_root("dies");
    let fake = root.join("fake-chromium");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'cannot open display: nothing here' >&2\nsleep 1\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let renderer = Renderer::new(options(fake.clone(), &root));
    let started = std::time::Instant::now();
    let err = renderer
        .render(RenderRequest::new(closed_port()))
        .await
        .unwrap_err();
    assert!(matches!(err, RenderError::Launch { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("exited before announcing DevTools"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("cannot open display: nothing here"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    std::fs::remove_file(&fake).unwrap();
    shut_down_cleanly(&renderer, &root).await;
}

/// The environment variable that turns [`owner_of_a_browser`] into the helper.
const OWNER_ROOT: &str = "DCRAWL_RENDER_OWNER_ROOT";

/// Not a test of its own: run in a child process by the kill -9 test. It starts a browser,
/// says so and waits to be killed.
#[tokio::test]
#[ignore = "a helper process for kill_9_of_the_owner_leaves_no_chromium"]
async fn owner_of_a_browser() {
    let Some(root) = std::env::var_os(OWNER_ROOT) else {
        return;
    };
    let Some(binary) = chromium() else { return };
    let renderer = Renderer::new(options(binary, Path::new(&root)));
    let url = Url::parse("data:text/html,<p>owned</p>").unwrap();
    let page = renderer.render(RenderRequest::new(url)).await.unwrap();
    assert!(page.html.contains("owned"));
    println!("RENDERED {}", renderer.processes());
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test]
async fn kill_9_of_the_owner_leaves_no_chromium() {
    let Some(_) = chromium() else { return };
    let _turn = one_at_a_time().await;
    let root = temp_root("owner");
    let mut owner = Command::new(std::env::current_exe().unwrap())
        .args(["owner_of_a_browser", "--exact", "--ignored", "--nocapture"])
        .env(OWNER_ROOT, &root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = owner.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.starts_with("RENDERED"))
    });
    let line = tokio::time::timeout(Duration::from_secs(30), ready).await;
    let Ok(Ok(Some(line))) = line else {
        let _ = owner.kill();
        panic!("the helper did not render: {line:?}");
    };
    let running = processes_under(&root);
    assert!(running.len() >= 3, "{line}: {running:?}");

    owner.kill().unwrap(); // SIGKILL: no destructor, no shutdown runs
    owner.wait().unwrap();
    assert_eq!(
        wait_gone(&root, Duration::from_secs(5)).await,
        Vec::<u32>::new()
    );

    // The profile the dead owner could not remove goes with the next renderer on that root.
    assert_eq!(profiles_under(&root).len(), 1);
    let next = Renderer::new(options(PathBuf::from("chromium"), &root));
    assert_eq!(profiles_under(&root), Vec::<PathBuf>::new());
    drop(next);
    std::fs::remove_dir_all(&root).unwrap();
}
